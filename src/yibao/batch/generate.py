"""A synthetic region-year: persons and their bills from skewed distributions.

`generate(persons, year, seed, region)` is deterministic for a seed (numpy's PCG64
stream, drawn in a fixed order) and vectorised: a million bills take a few seconds.
What it draws, per person: the scheme (among those the region offers on 1 January),
the birth date (children for `student`, adults otherwise), a family in assistance (5%),
for employees retirement (30%) and contribution years (5 to 40, so some retirees are
refused), an approved special disease at a level-3 hospital (2%, for schemes with
special diseases) and a remote-treatment filing for part of the year (1%). Per bill:
the count per person (geometric, mean about 2.5, at most 40), kind, date, institution
level and id, pilot hospital, designation (97%), treatment elsewhere (5%, half with a
referral), diagnosis (a pilot disease for some children's stays), a prescription (95% of
pharmacy purchases), and a lognormal cost split into class A, class B (0–40%) and, for
a third of bills, a self-paid part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from yibao.adapters.parameter_files import load_region
from yibao.batch.frames import (
    APPROVAL,
    ENCOUNTERS_SCHEMA,
    FILING,
    PERSONS_SCHEMA,
    RegionYear,
)
from yibao.domain.model import Kind, Scheme
from yibao.domain.parameters import RegionPolicy

OTHER_REGION = "other-city"
MEAN_ENCOUNTERS = 2.5
MAX_ENCOUNTERS = 40
COMMON_DIAGNOSES = ("K35.8", "J18.9", "I21.0", "E11.9", "N18.5", "S72.0", "O80.0")

KINDS = [Kind.OUTPATIENT, Kind.EMERGENCY, Kind.INPATIENT, Kind.SPECIAL_OUTPATIENT, Kind.PHARMACY]
KIND_WEIGHTS = np.array([60.0, 8.0, 12.0, 3.0, 17.0])
# log-normal cost (yuan) by kind: mu, sigma
COST = {
    Kind.OUTPATIENT: (5.0, 1.0),
    Kind.EMERGENCY: (6.2, 1.0),
    Kind.INPATIENT: (9.3, 1.0),
    Kind.SPECIAL_OUTPATIENT: (7.5, 0.6),
    Kind.PHARMACY: (4.5, 0.9),
}
LEVEL_WEIGHTS = {  # institution level 0..3 by kind
    Kind.OUTPATIENT: (30.0, 35.0, 20.0, 15.0),
    Kind.EMERGENCY: (5.0, 25.0, 35.0, 35.0),
    Kind.INPATIENT: (5.0, 25.0, 35.0, 35.0),
    Kind.SPECIAL_OUTPATIENT: (0.0, 0.0, 0.0, 1.0),
    Kind.PHARMACY: (1.0, 0.0, 0.0, 0.0),
}


def _labels(labels: Sequence[str], codes: np.ndarray) -> pl.Series:
    return pl.Series(list(labels), dtype=pl.String).gather(pl.Series(codes, dtype=pl.UInt32))


def _choice(rng: np.random.Generator, weights: Sequence[float], size: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


@dataclass(frozen=True)
class _Calendar:
    jan1: date
    days: int  # in the year
    epoch: np.datetime64  # 1 January, as numpy counts days


@dataclass(frozen=True)
class _People:
    """What was drawn per person (arrays of length n)."""

    scheme: np.ndarray
    age_days: np.ndarray
    approved: np.ndarray
    frame: pl.DataFrame  # the persons frame, certificates included
    approvals: pl.DataFrame  # person, disease, hospital


def generate(
    persons: int,
    year: int,
    seed: int,
    region: str,
    policy_path: Sequence[Path] | None = None,
) -> RegionYear:
    """A region-year of `persons` insured persons of `region` and their bills."""
    policy = load_region(region, policy_path)
    rng = np.random.default_rng(seed)
    cal = _calendar(year)
    people = _people(rng, policy, region, persons, cal)
    draws = _encounter_draws(rng, policy, people, cal)
    enc = _encounter_frame(draws, people.approvals)
    pilot_codes = sorted(policy.pilot.diseases) if policy.pilot is not None else []
    enc = _encounter_columns(enc, region, pilot_codes)
    enc = enc.with_columns(_items(rng, enc.height).alias("items"))
    encounters = enc.select(pl.col(name).cast(dtype) for name, dtype in ENCOUNTERS_SCHEMA.items())
    return RegionYear(region, year, people.frame, encounters)


def _people(
    rng: np.random.Generator, policy: RegionPolicy, region: str, n: int, cal: _Calendar
) -> _People:
    """The persons: scheme, birth date, assistance, retirement, contribution years, an
    approved special disease and a remote-treatment filing, drawn in this order."""
    d = _person_draws(rng, policy, n, cal)
    frame, approvals = _person_frames(region, n, cal, d)
    return _People(d["scheme"], d["age_days"], d["approved"], frame, approvals)


def _person_draws(
    rng: np.random.Generator, policy: RegionPolicy, n: int, cal: _Calendar
) -> dict[str, Any]:
    """What `_people` draws, in its order, without building a frame (`bill_count` draws
    them only to reach the bills' counts in the stream)."""
    jan1, days_in_year, epoch_jan1 = cal.jan1, cal.days, cal.epoch
    offered = sorted(policy.offered.at(jan1).value, key=[s.value for s in Scheme].index)
    weights = {Scheme.STUDENT.value: 3.0, Scheme.RESIDENT.value: 4.0, Scheme.EMPLOYEE.value: 3.0}
    scheme_code = _choice(rng, [weights[s] for s in offered], n)
    scheme = np.array(offered, dtype=object)[scheme_code]
    child = scheme == Scheme.STUDENT.value
    employee = scheme == Scheme.EMPLOYEE.value
    age_days = np.where(
        child,
        rng.integers(0, 18 * 365, n),
        np.where(
            employee, rng.integers(20 * 365, 65 * 365, n), rng.integers(18 * 365, 95 * 365, n)
        ),
    )
    assistance = rng.random(n) < 0.05
    retired = employee & (rng.random(n) < 0.3)
    years = rng.integers(5, 41, n)
    special_lists = {
        s: sorted(rules.special_outpatient.diseases.at(jan1).value)
        for s, rules in policy.schemes.items()
        if rules.special_outpatient is not None
    }
    can_special = np.isin(scheme, list(special_lists))
    return {
        "scheme": scheme,
        "age_days": age_days,
        "birth": epoch_jan1 - age_days.astype("timedelta64[D]"),
        "retired": retired,
        "contribution": np.where(employee, years, -1),
        "assistance": assistance,
        "special_lists": special_lists,
        "approved": can_special & (rng.random(n) < 0.02),
        "approval_pick": rng.integers(0, 3, n),
        "approval_hospital": rng.integers(1, 5, n),
        "filed": rng.random(n) < 0.01,
        "filing_start": rng.integers(0, days_in_year, n),
        "filing_len": rng.integers(30, days_in_year, n),
    }


def bill_count(
    persons: int,
    year: int,
    seed: int,
    region: str,
    policy_path: Sequence[Path] | None = None,
) -> int:
    """How many bills `generate` with these arguments draws, without drawing them: the
    persons' draws are replayed up to the counts, a tenth of the work (so that chunks
    of a province can be numbered before they are generated, in parallel)."""
    policy = load_region(region, policy_path)
    rng = np.random.default_rng(seed)
    _person_draws(rng, policy, persons, _calendar(year))
    return int(_counts(rng, persons).sum())


def _calendar(year: int) -> _Calendar:
    jan1 = date(year, 1, 1)
    return _Calendar(jan1, (date(year + 1, 1, 1) - jan1).days, np.datetime64(jan1.isoformat(), "D"))


def _counts(rng: np.random.Generator, n: int) -> np.ndarray:
    """Each person's number of bills: the first draw of `_encounter_draws`."""
    return np.minimum(rng.geometric(1 / (MEAN_ENCOUNTERS + 1), n) - 1, MAX_ENCOUNTERS)


def _person_frames(
    region: str, n: int, cal: _Calendar, d: dict[str, Any]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The persons frame (with their approvals and filings) and the approvals frame."""
    person_frame = pl.DataFrame(
        {
            "person": np.arange(n, dtype=np.int64),
            "region": pl.repeat(region, n, dtype=pl.String, eager=True),
            "scheme": pl.Series(d["scheme"].tolist(), dtype=pl.String),
            "birth_date": d["birth"],
            "retired": d["retired"],
            "contribution_years": d["contribution"],
            "assistance": d["assistance"],
        }
    )
    approvals, filings = _approvals(d), _filings(d, cal)
    person_frame = (
        person_frame.with_columns(
            pl.when(pl.col("contribution_years") >= 0).then(pl.col("contribution_years"))
        )
        .join(
            approvals.group_by("person").agg(pl.struct(*APPROVAL.to_schema()).alias("approvals")),
            on="person",
            how="left",
        )
        .join(
            filings.group_by("person").agg(pl.struct(*FILING.to_schema()).alias("filings")),
            on="person",
            how="left",
        )
        .with_columns(
            pl.col("approvals").fill_null(pl.lit([], dtype=pl.List(APPROVAL))),
            pl.col("filings").fill_null(pl.lit([], dtype=pl.List(FILING))),
        )
        .sort("person")
        .select(pl.col(name).cast(dtype) for name, dtype in PERSONS_SCHEMA.items())
    )
    return person_frame, approvals


def _approvals(d: dict[str, Any]) -> pl.DataFrame:
    """An approved special disease of the scheme's list, at a level-3 hospital."""
    scheme, special_lists = d["scheme"], d["special_lists"]
    approval_pick, approval_hospital = d["approval_pick"], d["approval_hospital"]
    rows = [
        {
            "person": int(p),
            "disease": (lst := special_lists[str(scheme[p])])[int(approval_pick[p]) % len(lst)],
            "hospital": f"H3-{int(approval_hospital[p]):03d}",
            "valid_from": None,
            "valid_to": None,
        }
        for p in np.flatnonzero(d["approved"])
        if special_lists[str(scheme[p])]
    ]
    return pl.DataFrame(rows, schema={"person": pl.Int64, **APPROVAL.to_schema()})


def _filings(d: dict[str, Any], cal: _Calendar) -> pl.DataFrame:
    """A remote-treatment filing for part of the year."""
    start, length, epoch = d["filing_start"], d["filing_len"], cal.epoch
    rows = [
        {
            "person": int(p),
            "region": OTHER_REGION,
            "valid_from": (epoch + int(start[p])).item(),
            "valid_to": (epoch + min(int(start[p] + length[p]), cal.days - 1)).item(),
        }
        for p in np.flatnonzero(d["filed"])
    ]
    return pl.DataFrame(rows, schema={"person": pl.Int64, **FILING.to_schema()})


def _encounter_draws(
    rng: np.random.Generator, policy: RegionPolicy, people: _People, cal: _Calendar
) -> dict[str, Any]:
    """The bills' columns drawn per bill: owner, kind, day, level, designation, place,
    cost and its split, pilot cases (in this order: the stream depends on it)."""
    n, days_in_year, epoch_jan1 = len(people.scheme), cal.days, cal.epoch
    approved, age_days = people.approved, people.age_days
    counts = _counts(rng, n)
    m = int(counts.sum())
    owner = np.repeat(np.arange(n, dtype=np.int64), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    seq = np.arange(m, dtype=np.int64) - first
    kind, day, level, mu, sigma = _kinds_days_levels(rng, approved[owner], days_in_year)
    number = rng.integers(1, 6, m)
    special = kind == KINDS.index(Kind.SPECIAL_OUTPATIENT)
    pharmacy = kind == KINDS.index(Kind.PHARMACY)
    inpatient = kind == KINDS.index(Kind.INPATIENT)
    at_approved = special & (rng.random(m) < 0.9)
    designated = rng.random(m) < 0.97
    elsewhere = rng.random(m) < 0.05
    referral = elsewhere & (rng.random(m) < 0.5)
    prescription = ~pharmacy | (rng.random(m) < 0.95)
    cost = np.minimum(rng.lognormal(mu, sigma), 800_000.0)
    total = np.maximum((cost * 100).astype(np.int64), 1)
    b_share = rng.integers(0, 41, m)
    class_b = total * b_share // 100
    class_a = total - class_b
    self_pay = np.where(rng.random(m) < 0.3, rng.integers(100, 50_000, m), 0)
    age_at = (day + age_days[owner]) // 365  # approximate: picks the pilot candidates only
    pilot_codes = sorted(policy.pilot.diseases) if policy.pilot is not None else []
    pilot_case = inpatient & (age_at <= 14) & (rng.random(m) < 0.1) & bool(pilot_codes)
    diagnosis_pick = rng.integers(0, 1 << 30, m)
    wrong_disease = rng.integers(0, 3, m)

    return {
        "encounter": np.arange(m, dtype=np.int64),
        "person": owner,
        "seq": seq,
        "date": epoch_jan1 + day.astype("timedelta64[D]"),
        "kind": _labels([k.value for k in KINDS], kind),
        "level": level,
        "number": number,
        "pharmacy": pharmacy,
        "designated": designated,
        "elsewhere": elsewhere,
        "referral": referral,
        "prescription": prescription,
        "class_a": class_a,
        "class_b": class_b,
        "class_self_pay": self_pay,
        "pilot_case": pilot_case,
        "diagnosis_pick": diagnosis_pick,
        "special": special,
        "at_approved": at_approved,
        "wrong_disease": wrong_disease,
    }


def _kinds_days_levels(
    rng: np.random.Generator, approved: np.ndarray, days_in_year: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each bill's kind (special-disease visits only with an approval), day and
    institution level, with the lognormal cost parameters of its kind."""
    m = len(approved)
    # Two rows of weights only: without an approval no special-disease visits, with one
    # they come often. A bill's kind is the number of cumulative weights of its row below
    # its draw (`searchsorted` on the row, the same floats as a row per bill).
    rows = np.tile(KIND_WEIGHTS, (2, 1))
    rows[0, 3], rows[1, 3] = 0.0, 40.0
    cumulative = np.cumsum(rows / rows.sum(axis=1, keepdims=True), axis=1)
    draw = rng.random(m)
    kind = np.where(
        approved,
        np.searchsorted(cumulative[1], draw, side="left"),
        np.searchsorted(cumulative[0], draw, side="left"),
    ).clip(0, len(KINDS) - 1)
    day = rng.integers(0, days_in_year, m)
    level = np.zeros(m, dtype=np.int64)
    mu = np.zeros(m)
    sigma = np.zeros(m)
    level_draw = rng.random(m)
    for code, k in enumerate(KINDS):
        mask = kind == code
        cum = np.cumsum(LEVEL_WEIGHTS[k]) / sum(LEVEL_WEIGHTS[k])
        level[mask] = np.searchsorted(cum, level_draw[mask], side="left").clip(0, 3)
        mu[mask], sigma[mask] = COST[k]
    return kind, day, level, mu, sigma


def _encounter_frame(draws: dict[str, Any], approvals: pl.DataFrame) -> pl.DataFrame:
    """The drawn bills, each with its owner's approval (disease, hospital) if any."""
    return pl.DataFrame(draws).join(
        approvals.select(
            "person", pl.col("disease").alias("a_disease"), pl.col("hospital").alias("a_hospital")
        ),
        on="person",
        how="left",
    )


def _encounter_columns(enc: pl.DataFrame, region: str, pilot_codes: list[str]) -> pl.DataFrame:
    """Hospital, place, pilot, diagnosis and disease of each bill, from what was drawn."""
    pick = pl.col("diagnosis_pick")
    pilot_list = pl.lit(pl.Series(pilot_codes or ["-"], dtype=pl.String))
    common = pl.lit(pl.Series(COMMON_DIAGNOSES, dtype=pl.String))
    hospital = (
        pl.when(pl.col("special") & pl.col("at_approved"))
        .then(pl.col("a_hospital"))
        .when(pl.col("pharmacy"))
        .then(pl.format("P0-{}", pl.col("number").cast(pl.String).str.zfill(3)))
        .otherwise(
            pl.format(
                "H{}-{}",
                pl.col("level").cast(pl.String),
                pl.col("number").cast(pl.String).str.zfill(3),
            )
        )
    )
    other_disease = pl.lit(pl.Series(["malignant_tumor", "dialysis", "kidney_transplant"]))
    return enc.sort("encounter").with_columns(
        hospital.alias("hospital"),
        pl.when(pl.col("elsewhere"))
        .then(pl.lit(OTHER_REGION))
        .otherwise(pl.lit(region))
        .alias("hospital_region"),
        # Two level-3 hospitals of each region take part in the children's pilot.
        ((pl.col("level") == 3) & (pl.col("number") <= 2) & ~pl.col("pharmacy")).alias("pilot"),
        pl.when(pl.col("pilot_case"))
        .then(pilot_list.gather(pick % len(pilot_codes or ["-"])))
        .otherwise(common.gather(pick % len(COMMON_DIAGNOSES)))
        .alias("diagnosis"),
        pl.when(pl.col("special") & pl.col("at_approved"))
        .then(pl.col("a_disease"))
        .when(pl.col("special"))
        .then(other_disease.gather(pl.col("wrong_disease")))
        .otherwise(None)
        .alias("disease"),
    )


def _items(rng: np.random.Generator, m: int) -> pl.Series:
    """One catalogue item on a fifth of the bills (reference §1a): a drug billed around
    its price cap (a fen or a few yuan either side), half of them with a first self-pay
    ratio of their own, a few outside their payment restriction."""
    has = rng.random(m) < 0.2
    price = rng.integers(1_000, 5_000_000, m)  # 10**-4 yuan: 0.10 to 500.00
    delta = np.where(
        rng.random(m) < 0.5, rng.integers(-2, 3, m) * 100, rng.integers(-50_000, 50_000, m)
    )
    capped = rng.random(m) < 0.7
    ratios = np.array([500, 1_500, 2_000], dtype=np.int64)
    own = rng.random(m) < 0.5
    frame = pl.DataFrame(
        {
            "cls": _labels(["A", "B", "self_pay"], rng.choice(3, m, p=[0.4, 0.55, 0.05])),
            "quantity": rng.integers(1, 40, m) * 500,  # 10**-3: half units
            "unit_price": price,
            "cap": pl.Series(np.maximum(price + delta, 0)).scatter(np.flatnonzero(~capped), None),
            "ratio": pl.Series(ratios[rng.integers(0, 3, m)]).scatter(np.flatnonzero(~own), None),
            "outside": rng.random(m) < 0.05,
        }
    )
    one = frame.select(pl.concat_list(pl.struct(pl.all()))).to_series()
    # An empty list as a literal: a Series of m empty lists built from Python took a
    # minute a million bills.
    empty = pl.lit([], dtype=one.dtype)
    return pl.select(pl.when(pl.lit(pl.Series(has))).then(one).otherwise(empty)).to_series()
