"""The columnar engine: a whole region-year settled with Polars, to the fen of the scalar one.

The scalar engine (src/yibao/domain/engine) is the specification; each step here names
the function it mirrors. No Python loop runs per encounter or per person: a bill's
parameters come from a join on its (scheme, epoch, level, retired) key (see params.py),
the year's running totals from cumulative sums over each person's bills in the order of
settlement, and the capped totals from `solver.capped_running`.

Exact arithmetic: money in integer fen; eligible cost, thresholds and pooled cost in
fen × 10**places (a class-B line's 90% stays exact); a payment before rounding in
fen × 10**(2·places) (or 3· after a share reduction); every layer is rounded half up to
the fen once, where the scalar engine calls `round_fen`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import polars as pl

from yibao.batch.frames import RegionYear
from yibao.batch.params import PER_CODE, TOP_ON_CODE, Tables, UnsupportedError, build
from yibao.batch.solver import capped_running, cum_sum_in, round_half_up
from yibao.domain.engine.results import Route
from yibao.domain.engine.settle import InputError
from yibao.domain.model import LEVELS, Kind, Scheme
from yibao.domain.parameters import PolicyGapError, RegionPolicy, ThresholdPer, TopLineOn

SAFE = 2**62  # every intermediate product stays below this
KEYS = 2**24  # threshold counter keys per person (a key's code is below this)


@dataclass(frozen=True)
class BatchResult:
    """The settled region-year.

    `encounters`: one row per bill in the order of settlement (`order`), with `route`,
    `refused` (the refusal code or null), and `total`, `self_pay`, `basic`,
    `assistance`, `institution`, `personal` in fen; `eligible` and `threshold` exact,
    in units of 10**-(2 + places) yuan. `persons`: one row per person, with `si_base`
    (the same exact units), `serious_illness` and `personal` (the year's, after the
    serious-illness layer) in fen.
    """

    places: int
    encounters: pl.DataFrame
    persons: pl.DataFrame

    def exact(self, value: int) -> Decimal:
        """An exact column's integer as Decimal yuan."""
        return Decimal(value).scaleb(-(2 + self.places))


_SCHEMES = [s.value for s in Scheme]
_SCHEMES_INDEX = {name: i for i, name in enumerate(_SCHEMES)}
# Kinds and routes as small integers inside the engine (comparing text is slow).
KIND = {k: i for i, k in enumerate(Kind)}
ROUTE = {r: i for i, r in enumerate(Route)}
_OUTPATIENT_LIKE = [KIND[k] for k in Kind if k.outpatient_like]
STAY = PER_CODE[ThresholdPer.STAY]
YEAR = PER_CODE[ThresholdPer.YEAR]
ON_COST = TOP_ON_CODE[TopLineOn.POOLED_COST]
ON_PAYMENT = TOP_ON_CODE[TopLineOn.FUND_PAYMENT]


def _kind(kind: Kind) -> pl.Expr:
    return pl.col("kc") == KIND[kind]


def _route(route: Route) -> pl.Expr:
    return pl.col("rc") == ROUTE[route]


class Params:
    """A parameter of each bill's row of `Tables.by_key` (the row index is the column `k`),
    read where an expression needs it rather than copied into the frame."""

    def __init__(self, tables: Tables) -> None:
        self.columns = {name: tables.by_key.get_column(name) for name in tables.by_key.columns}

    def __call__(self, name: str) -> pl.Expr:
        return pl.lit(self.columns[name]).gather(pl.col("k"))


def _validate(policy: RegionPolicy, data: RegionYear) -> None:
    """The scalar engine's `_check`, and what the frames themselves must hold."""
    persons, encounters = data.persons, data.encounters
    if data.region != policy.code:
        raise InputError(f"the region-year is of {data.region}, the policy of {policy.code}")
    regions = persons.get_column("region").unique().to_list()
    if regions and regions != [policy.code]:
        raise InputError(f"persons of regions {sorted(map(str, regions))}, not only {policy.code}")
    if persons.get_column("person").is_duplicated().any():
        raise InputError("a person key is used twice")
    if encounters.get_column("encounter").is_duplicated().any():
        raise InputError("an encounter key is used twice")
    bad_scheme = persons.filter(~pl.col("scheme").is_in(_SCHEMES))
    if bad_scheme.height:
        raise InputError(f"person {bad_scheme['person'][0]}: unknown scheme")
    checks: list[tuple[pl.Expr, str]] = [
        (pl.col("date").dt.year() != data.year, f"date outside the year {data.year}"),
        (~pl.col("level").is_in(list(LEVELS)), "hospital level is not one of 0, 1, 2, 3"),
        (
            (pl.col("class_a") < 0) | (pl.col("class_b") < 0) | (pl.col("class_self_pay") < 0),
            "a line amount is negative",
        ),
        (
            (pl.col("kind") == Kind.SPECIAL_OUTPATIENT.value) & pl.col("disease").is_null(),
            "a special_outpatient encounter needs its disease",
        ),
        (~pl.col("kind").is_in([k.value for k in Kind]), "unknown encounter kind"),
        (~pl.col("person").is_in(persons.get_column("person").implode()), "unknown person"),
    ]
    for bad, what in checks:
        found = encounters.filter(bad.fill_null(True))
        if found.height:
            raise InputError(f"encounter {found['encounter'][0]}: {what}")


def check_supported(policy: RegionPolicy, data: RegionYear) -> Tables:
    """The parameter tables for the year, or `UnsupportedError` naming what is not settled.

    Everything the scalar engine does is settled; what is refused: parameters finer than
    `params.MAX_PLACES` decimal places, and amounts so large that an exact product would
    not fit 64-bit integers.
    """
    tables = build(policy, data.year)
    one = tables.one
    enc = data.encounters
    if enc.height:
        total = pl.col("class_a") + pl.col("class_b") + pl.col("class_self_pay")
        largest = enc.select(total.max()).item()
        yearly = enc.group_by("person").agg(total.sum().alias("t")).get_column("t").max()
        assert isinstance(largest, int)
        assert isinstance(yearly, int)
        if largest * one**3 >= SAFE or yearly * one**2 >= SAFE:
            raise UnsupportedError(
                "amounts too large for exact 64-bit arithmetic "
                f"(largest bill {largest} fen, largest year {yearly} fen)"
            )
    return tables


def settle(policy: RegionPolicy, data: RegionYear) -> BatchResult:
    """Settle every person's year: each bill in date order, then the serious-illness layer."""
    _validate(policy, data)
    tables = check_supported(policy, data)
    one = tables.one
    starts = pl.Series("starts", tables.starts, dtype=pl.Date)
    persons = data.persons.select(
        "person", "scheme", "birth_date", "retired", "contribution_years", "assistance"
    )
    frame = (
        data.encounters.join(persons, on="person", how="left")
        .sort("person", "date", "seq", maintain_order=True)
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("order"),
            pl.col("kind").replace_strict({k.value: i for k, i in KIND.items()}).alias("kc"),
            (pl.lit(starts).search_sorted(pl.col("date"), side="right").cast(pl.Int64) - 1).alias(
                "epoch"
            ),
        )
    )
    key = (
        (pl.col("epoch") * len(_SCHEMES) + pl.col("scheme").replace_strict(_SCHEMES_INDEX)) * 4
        + pl.col("level").cast(pl.Int64)
    ) * 2 + pl.col("retired").cast(pl.Int64)
    frame = frame.with_columns(key.alias("k"))
    p = Params(tables)
    gaps = frame.select(p("gap").drop_nulls().first()).item()
    if gaps is not None:
        raise PolicyGapError(str(gaps))

    frame = _refusals(frame, data, tables, p)
    frame = _scope_and_place(frame, data, tables, p)
    frame = _routes(frame, tables, p)
    frame = _thresholds(frame, tables, p)
    frame = _payments(frame, tables, p)
    frame = frame.with_columns(
        (pl.col("total") - pl.col("basic") - pl.col("assistance") - pl.col("institution")).alias(
            "personal"
        )
    )
    negative = frame.filter(pl.col("personal") < 0)
    if negative.height:  # the scalar engine's guard against a rate above 1
        raise AssertionError(f"encounter {negative['encounter'][0]}: negative personal payment")
    routes = pl.Series([r.value for r in Route], dtype=pl.String)
    encounters = frame.select(
        "encounter",
        "person",
        "order",
        pl.lit(routes).gather(pl.col("rc")).alias("route"),
        "refused",
        "total",
        "eligible",
        "self_pay",
        "threshold",
        "basic",
        "assistance",
        "institution",
        "personal",
    )
    return BatchResult(tables.places, encounters, _year(policy, data, encounters, one))


def _refusals(frame: pl.DataFrame, data: RegionYear, tables: Tables, p: Params) -> pl.DataFrame:
    """`scope.refusal_for`: not offered, a retiree's contribution years, special diseases."""
    special = frame.filter(_kind(Kind.SPECIAL_OUTPATIENT)).select(
        "encounter", "person", "disease", "date", "hospital"
    )
    approvals = (
        data.persons.select("person", "approvals")
        .explode("approvals")
        .filter(pl.col("approvals").is_not_null())
        .unnest("approvals")
        .rename({"disease": "a_disease", "hospital": "a_hospital"})
    )
    approved = (
        special.join(
            approvals, left_on=["person", "disease"], right_on=["person", "a_disease"], how="inner"
        )
        .filter(
            (pl.col("valid_from").is_null() | (pl.col("valid_from") <= pl.col("date")))
            & (pl.col("valid_to").is_null() | (pl.col("date") <= pl.col("valid_to")))
        )
        .group_by("encounter")
        .agg((pl.col("a_hospital") == pl.col("hospital")).any().alias("right_hospital"))
        .with_columns(pl.lit(True).alias("approved"))
    )
    frame = frame.join(approved, on="encounter", how="left")
    listed = (
        frame.filter(_kind(Kind.SPECIAL_OUTPATIENT))
        .select("encounter", "scheme", "epoch", "disease")
        .join(tables.special, on=["scheme", "epoch", "disease"], how="semi")
        .select("encounter", pl.lit(True).alias("listed"))
    )
    frame = frame.join(listed, on="encounter", how="left")
    is_special = _kind(Kind.SPECIAL_OUTPATIENT)
    refused = (
        pl.when(~p("offered"))
        .then(pl.lit("scheme_not_offered"))
        .when(
            pl.col("retired")
            & p("min_years").is_not_null()
            & (pl.col("contribution_years").fill_null(0) < p("min_years"))
        )
        .then(pl.lit("contribution_years"))
        .when(is_special & ~p("sp_on"))
        .then(pl.lit("special_not_offered"))
        .when(is_special & pl.col("listed").is_null())
        .then(pl.lit("special_unknown_disease"))
        .when(is_special & pl.col("approved").is_null())
        .then(pl.lit("special_no_approval"))
        .when(is_special & ~pl.col("right_hospital").fill_null(False))
        .then(pl.lit("special_wrong_hospital"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    return frame.with_columns(refused.alias("refused"))


def _scope_and_place(
    frame: pl.DataFrame, data: RegionYear, tables: Tables, p: Params
) -> pl.DataFrame:
    """`scope.out_of_scope`, `scope.eligible_cost` and `scope.place_of`."""
    one = tables.one
    out_of_scope = (~pl.col("designated") & (~_kind(Kind.EMERGENCY))) | (
        (_kind(Kind.PHARMACY)) & ~pl.col("prescription")
    )
    settled = pl.col("refused").is_null() & ~out_of_scope
    frame = frame.with_columns(
        out_of_scope.alias("out_of_scope"),
        settled.alias("settled"),
        (pl.col("class_a") + pl.col("class_b") + pl.col("class_self_pay")).alias("total"),
    )
    eligible = (
        pl.col("class_a") * p("share_a")
        + pl.col("class_b") * p("share_b")
        + pl.col("class_self_pay") * p("share_self_pay")
    )
    self_pay = (
        pl.when(p("share_a") == 0).then(pl.col("class_a")).otherwise(0)
        + pl.when(p("share_b") == 0).then(pl.col("class_b")).otherwise(0)
        + pl.when(p("share_self_pay") == 0).then(pl.col("class_self_pay")).otherwise(0)
    )
    frame = frame.with_columns(
        pl.when(pl.col("settled")).then(eligible).otherwise(0).alias("eligible"),
        pl.when(pl.col("settled")).then(self_pay).otherwise(pl.col("total")).alias("self_pay"),
    )
    # Place: the person's region, a filing covering the day (local rates), or a reduction.
    elsewhere = pl.col("hospital_region") != pl.lit(data.region)
    filings = (
        data.persons.select("person", "filings")
        .explode("filings")
        .filter(pl.col("filings").is_not_null())
        .unnest("filings")
    )
    filed = (
        frame.filter(elsewhere & pl.col("settled"))
        .select("encounter", "person", "hospital_region", "date")
        .join(
            filings,
            left_on=["person", "hospital_region"],
            right_on=["person", "region"],
            how="inner",
        )
        .filter((pl.col("valid_from") <= pl.col("date")) & (pl.col("date") <= pl.col("valid_to")))
        .select(pl.col("encounter").unique(), pl.lit(True).alias("filed"))
    )
    frame = frame.join(filed, on="encounter", how="left")
    amount = (
        pl.when(~elsewhere | pl.col("filed").fill_null(False))
        .then(0)
        .when(pl.col("referral"))
        .then(p("red_referral"))
        .when(_kind(Kind.EMERGENCY))
        .then(p("red_emergency"))
        .otherwise(p("red_unfiled"))
    )
    return frame.with_columns(
        pl.when(p("red_points")).then(amount).otherwise(0).fill_null(0).alias("points"),
        (one - pl.when(p("red_points")).then(0).otherwise(amount)).fill_null(one).alias("keep"),
    )


def _routes(frame: pl.DataFrame, tables: Tables, p: Params) -> pl.DataFrame:
    """Which rules settle the bill (`settle_encounter`), the pilot's conditions included."""
    frame = frame.join(tables.pilot_diseases, on=["epoch", "diagnosis"], how="left")
    birth, day = pl.col("birth_date"), pl.col("date")
    before_birthday = (day.dt.month().cast(pl.Int32) * 100 + day.dt.day()) < (
        birth.dt.month().cast(pl.Int32) * 100 + birth.dt.day()
    )
    age = day.dt.year() - birth.dt.year() - before_birthday.cast(pl.Int32)
    pilot = (
        _kind(Kind.INPATIENT)
        & pl.col("pilot_limited").is_not_null()
        & pl.col("pilot")
        & pl.col("designated")
        & p("pilot_scheme").fill_null(False)
        & (age <= p("pilot_max_age"))
    )
    route = (
        pl.when(pl.col("refused").is_not_null())
        .then(ROUTE[Route.REFUSED])
        .when(pl.col("out_of_scope"))
        .then(ROUTE[Route.OUT_OF_SCOPE])
        .when(pl.col("kc").is_in(_OUTPATIENT_LIKE))
        .then(ROUTE[Route.OUTPATIENT])
        .when(pilot.fill_null(False))
        .then(ROUTE[Route.PILOT])
        .when(_kind(Kind.SPECIAL_OUTPATIENT))
        .then(ROUTE[Route.SPECIAL_OUTPATIENT])
        .otherwise(ROUTE[Route.INPATIENT])
    )
    return frame.with_columns(route.cast(pl.Int8).alias("rc"))


def _thresholds(frame: pl.DataFrame, tables: Tables, p: Params) -> pl.DataFrame:
    """`benefits.charge_threshold`: per stay, or against a yearly counter by key."""
    one = tables.one
    route = pl.col("rc")
    out, inp, special = (
        ROUTE[Route.OUTPATIENT],
        ROUTE[Route.INPATIENT],
        ROUTE[Route.SPECIAL_OUTPATIENT],
    )
    per = (
        pl.when(route == out)
        .then(p("out_per"))
        .when(route == inp)
        .then(p("in_per"))
        .when(route == special)
        .then(p("sp_per"))
    )
    amount = (
        pl.when(route == out)
        .then(p("out_thr"))
        .when(route == inp)
        .then(p("in_thr"))
        .when(route == special)
        .then(p("sp_thr"))
    )
    counter = (
        pl.when(route == out)
        .then(pl.lit("outpatient"))
        .when(route == inp)
        .then(pl.lit("inpatient"))
        .otherwise(pl.lit("special_outpatient"))
    )
    disease = pl.when(route == special).then(pl.col("disease")).otherwise(pl.col("diagnosis"))
    frame = frame.with_columns(per.alias("t_per"), (amount * one).alias("t_cap"))
    key = (
        pl.when(pl.col("t_per") == YEAR)
        .then(counter)
        .otherwise(pl.concat_str(counter, pl.lit(":"), disease.fill_null("-")))
    )
    # Yearly counters: one group per (person, key), each a contiguous run in date order.
    is_yearly = pl.col("t_per").is_not_null() & (pl.col("t_per") != STAY)
    yearly = (
        frame.select(
            "order", "person", "eligible", "t_cap", key.alias("t_key"), is_yearly.alias("y")
        )
        .filter("y")
        .with_columns(
            (
                pl.col("person") * KEYS
                + pl.col("t_key").cast(pl.Categorical).to_physical().cast(pl.Int64)
            ).alias("t_group")
        )
        .sort("t_group", "order")
    )
    charged_yearly = yearly.select(
        "order",
        capped_running(yearly, group="t_group", amount="eligible", cap="t_cap", scale=1).alias(
            "t_yearly"
        ),
    )
    frame = frame.join(charged_yearly, on="order", how="left")
    charged = (
        pl.when(pl.col("t_per").is_null())
        .then(0)
        .when(pl.col("t_per") == STAY)
        .then(pl.min_horizontal("eligible", "t_cap"))
        .otherwise(pl.col("t_yearly"))
    )
    return frame.with_columns(charged.alias("threshold")).with_columns(
        (pl.col("eligible") - pl.col("threshold")).alias("pooled")
    )


def _payments(frame: pl.DataFrame, tables: Tables, p: Params) -> pl.DataFrame:
    """`benefits.outpatient`, `benefits.inpatient_like` and `benefits.pilot`."""
    one = tables.one
    outpatient = _route(Route.OUTPATIENT)
    in_like = _route(Route.INPATIENT) | _route(Route.SPECIAL_OUTPATIENT)

    def eff(rate: pl.Expr) -> pl.Expr:  # `points_off`
        return (rate - pl.col("points")).clip(lower_bound=0)

    # The year's pooled cost before and after each stay (inpatient and special together).
    ins = (
        frame.select("order", "person", "pooled", in_like.alias("m"))
        .filter("m")
        .select(
            "order",
            (cum_sum_in(pl.col("pooled"), "person") - pl.col("pooled")).alias("pc_before"),
        )
    )
    frame = frame.join(ins, on="order", how="left")
    before = pl.col("pc_before")
    after = before + pl.col("pooled")
    top = p("in_top") * one
    paid_to = (
        pl.when(p("in_top_on") == ON_COST)
        .then(pl.max_horizontal(pl.min_horizontal(after, top), before))
        .otherwise(after)
    )
    frame = frame.with_columns(paid_to.alias("pc_paid_to"))
    segments: list[pl.Expr] = []
    for j in range(tables.brackets):
        lo = p(f"in_lo_{j}") * one
        hi = p(f"in_hi_{j}") * one
        upper = pl.min_horizontal(pl.col("pc_paid_to"), hi.fill_null(pl.col("pc_paid_to")))
        width = (upper - pl.max_horizontal(before, lo)).clip(lower_bound=0)
        segments.append(
            pl.when(p(f"in_lo_{j}").is_null()).then(0).otherwise(width * eff(p(f"in_rate_{j}")))
        )
    in_computed = pl.sum_horizontal(segments)
    computed = (
        pl.when(outpatient)
        .then(pl.col("pooled") * eff(p("out_rate")))
        .when(in_like)
        .then(in_computed)
    )
    cap = (
        pl.when(outpatient)
        .then(p("out_limit"))
        .when(in_like & (p("in_top_on") == ON_PAYMENT))
        .then(p("in_top"))
    )
    # One counter per person for outpatient payments, one for inpatient and special ones.
    capped = (
        frame.select(
            "order",
            "keep",
            computed.alias("computed"),
            cap.alias("cap"),
            (pl.col("person") * 2 + in_like.cast(pl.Int64)).alias("cap_group"),
            (outpatient | in_like).alias("m"),
        )
        .filter("m")
        .sort("cap_group", "order")
    )
    paid = capped.select(
        "order",
        capped_running(
            capped,
            group="cap_group",
            amount="computed",
            cap="cap",
            scale=one * one,
            keep="keep",
            keep_one=one,
        ).alias("paid"),
    )
    frame = frame.join(paid, on="order", how="left")
    # The pilot: fixed-cost payment on min(eligible, limited cost).
    is_pilot = _route(Route.PILOT)
    base = pl.min_horizontal("eligible", pl.col("pilot_limited") * one)
    pilot_basic = round_half_up(base * eff(p("pilot_rate")) * pl.col("keep"), one**3)
    pilot_assistance = (
        pl.when(pl.col("assistance"))
        .then(round_half_up(base * p("pilot_assist"), one * one))
        .otherwise(0)
    )
    pilot_institution = round_half_up(pl.col("eligible") - base, one)
    frame = frame.with_columns(
        pl.when(is_pilot).then(pilot_basic).otherwise(pl.col("paid").fill_null(0)).alias("basic"),
        pl.when(is_pilot).then(pilot_assistance).otherwise(0).alias("assistance"),
        pl.when(is_pilot).then(pilot_institution).otherwise(0).alias("institution"),
        pl.when(is_pilot).then(0).otherwise(pl.col("threshold")).alias("threshold"),
    )
    return frame.sort("order")


def _year(
    policy: RegionPolicy, data: RegionYear, encounters: pl.DataFrame, one: int
) -> pl.DataFrame:
    """`serious_illness.serious_illness`: once a year, parameters in force on 31 December."""
    sums = encounters.group_by("person").agg(
        (
            pl.col("eligible")
            - (pl.col("basic") + pl.col("assistance") + pl.col("institution")) * one
        )
        .sum()
        .alias("si_base"),
        pl.col("personal").sum().alias("paid"),
    )
    persons = (
        data.persons.select("person", "scheme")
        .join(sums, on="person", how="left")
        .with_columns(pl.col("si_base").fill_null(0), pl.col("paid").fill_null(0))
        .sort("person")
    )
    day = date(data.year, 12, 31)
    rules = policy.serious_illness
    payment: pl.Expr = pl.lit(0, dtype=pl.Int64)
    if rules is not None and persons.height:
        covered = sorted(rules.schemes.at(day).value)
        if persons.filter(pl.col("scheme").is_in(covered)).height:
            brackets = rules.scale.at(day).value.brackets
            top = int(rules.top_line.at(day).value * 100) * one * one
            base = pl.col("si_base")
            parts: list[pl.Expr] = []
            for i, bracket in enumerate(brackets):
                rate = int(bracket.rate * one)
                if rate == 0:
                    continue
                lo = int(bracket.lower * 100) * one
                upper = (
                    base
                    if i + 1 == len(brackets)
                    else pl.min_horizontal(base, pl.lit(int(brackets[i + 1].lower * 100) * one))
                )
                parts.append((upper - lo).clip(lower_bound=0) * rate)
            computed = pl.sum_horizontal(parts) if parts else pl.lit(0, dtype=pl.Int64)
            payment = (
                pl.when(pl.col("scheme").is_in(covered))
                .then(round_half_up(pl.min_horizontal(computed, pl.lit(top)), one * one))
                .otherwise(0)
            )
    return persons.select(
        "person",
        "si_base",
        payment.alias("serious_illness"),
        (pl.col("paid") - payment).alias("personal"),
    )
