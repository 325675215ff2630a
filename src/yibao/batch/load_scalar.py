"""The scalar engine on the loaded bills, person by person: the explanation, refusals and
accumulators the columnar engine does not give, and the check that both engines split
every bill to the same fen."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from decimal import Decimal
from typing import Any

import polars as pl

from yibao.adapters.db.ledger_repo import year_state
from yibao.batch.frames import RegionYear, to_scalar
from yibao.batch.load_common import PARTS, SPLIT, EngineMismatchError
from yibao.domain.engine import EncounterResult, settle_year
from yibao.domain.engine.settle import order_of_settlement
from yibao.domain.model import Encounter
from yibao.domain.money import to_fen
from yibao.domain.parameters import RegionPolicy
from yibao.service.booking import split_fen
from yibao.service.encounter_details import stay_key


def scalar_years(policy: RegionPolicy, part: RegionYear) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What the service stores of each bill that only the scalar engine gives (the
    refusal's reason, the explanation), its split to check the columnar one, and each
    person-year's accumulators (as JSON, with what checks them)."""
    bills: dict[str, list[Any]] = {c: [] for c in BILL_SCHEMA}
    years: dict[str, list[Any]] = {c: [] for c in YEAR_SCHEMA}
    for person, person_bills in to_scalar(part):
        if not person_bills:
            continue
        keyed, keys = as_at_the_counter(person_bills, part.year)
        year, acc = settle_year(policy, person, part.year, keyed)
        for r in year.encounters:
            _add_bill(bills, r, keys[r.encounter_id])
        years["person"].append(int(person.id))
        years["state"].append(year_state(acc))
        years["settled"].append(len(person_bills))
        years["personal"].append(to_fen(acc.personal))
        years["si_base"].append(str(acc.personal_on_eligible))
    return (
        pl.DataFrame(bills, schema_overrides=BILL_SCHEMA),
        pl.DataFrame(years, schema=YEAR_SCHEMA),
    )


BILL_SCHEMA: dict[str, pl.DataType] = {
    "encounter": pl.Int64(),
    "route": pl.String(),
    "refused": pl.String(),
    **{c: pl.Int64() for c in SPLIT},
    "refused_reason": pl.String(),
    "explanation": pl.String(),
    "line_parts": pl.List(PARTS),
}
YEAR_SCHEMA: dict[str, pl.DataType] = {
    "person": pl.Int64(),
    "state": pl.String(),
    "settled": pl.Int32(),
    "personal": pl.Int64(),
    "si_base": pl.String(),
}


def as_at_the_counter(bills: list[Encounter], year: int) -> tuple[list[Encounter], dict[str, int]]:
    """The bills (in the order given) under the keys the counter gives a stay, `YEAR/SEQ`
    by the order of settlement (encounter_details.stay_key), a referral's link too; and
    each key's encounter key. The year's accumulators keep a referral chain's stays, and
    the explanation names a stay's origin, by these keys, as the counter and `verify`
    read them."""
    ordered = order_of_settlement(bills)
    stay = {e.id: stay_key(year, seq) for seq, e in enumerate(ordered, start=1)}
    keyed = [
        replace(
            e,
            id=stay[e.id],
            referred_from=None if e.referred_from is None else stay[e.referred_from],
        )
        for e in bills
    ]
    return keyed, {stay[e.id]: int(e.id) for e in bills}


def _add_bill(bills: dict[str, list[Any]], r: EncounterResult, encounter: int) -> None:
    """A settled bill's columns appended to the columns so far."""
    bills["encounter"].append(encounter)
    bills["route"].append(r.route.value)
    bills["refused"].append(None if r.refused is None else r.refused.code)
    for column, fen in split_fen(r).items():
        bills[column].append(fen)
    bills["refused_reason"].append(
        None if r.refused is None else json.dumps(asdict(r.refused.reason), ensure_ascii=False)
    )
    bills["explanation"].append(json.dumps([s.to_dict() for s in r.steps], ensure_ascii=False))
    bills["line_parts"].append(
        [
            {
                "over_limit_fen": to_fen(ln.over_limit),
                "full_self_pay_fen": to_fen(ln.full_self_pay),
                "first_self_pay": str(ln.first_self_pay),
                "eligible": str(ln.eligible),
            }
            for ln in r.lines
        ]
    )


def compare(columnar: pl.DataFrame, scalar: pl.DataFrame) -> None:
    if columnar.equals(scalar):
        return
    if columnar.height != scalar.height:
        raise EngineMismatchError(
            f"the columnar engine settled {columnar.height} bills, the scalar {scalar.height}"
        )
    for a, b in zip(columnar.iter_rows(named=True), scalar.iter_rows(named=True), strict=True):
        if a != b:
            differ = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
            raise EngineMismatchError(
                f"encounter {a['encounter']}: the engines disagree (columnar, scalar): {differ}; "
                "nothing was loaded"
            )


def compare_years(columnar: pl.DataFrame, scalar: pl.DataFrame, places: int) -> None:
    """The year's personal payment and serious-illness base, as the accumulators hold them."""
    both = scalar.join(columnar, on="person", how="left", suffix="_c")
    for row in both.iter_rows(named=True):
        personal = int(row["personal_c"] or 0) + int(row["serious_illness"] or 0)
        base = Decimal(int(row["si_base_c"] or 0)).scaleb(-(2 + places))
        if personal != row["personal"] or base != Decimal(row["si_base"]):
            raise EngineMismatchError(
                f"person {row['person']}: the engines disagree on the year's accumulators; "
                "nothing was loaded"
            )
