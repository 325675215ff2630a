"""A region's dated parameters as small tables the columnar engine joins to its bills.

The year is cut into *epochs*: stretches of days in which no parameter of the region
changes (every `from`, every day after an `until`). Within an epoch every `Dated.at`
gives the same value, so one row per (scheme, epoch, level, retired) holds every value
a bill of that kind can need, read with the same `Dated.at` the scalar engine calls.

Money is integer fen; a rate or share is an integer over `10**places`, where `places`
is the largest number of decimal places of any value in the region (at least 2), so
every product the scalar engine forms in `Decimal` is an exact integer here.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import product
from typing import Any

import polars as pl

from yibao.domain.conditions import DOMAINS, MAX_AGE, OTHER_DIAGNOSIS, Conditions, Facts
from yibao.domain.model import LEVELS, LineClass, Scheme
from yibao.domain.parameters import (
    PolicyGapError,
    RateSpec,
    ReductionMethod,
    ReferralThreshold,
    RegionPolicy,
    SchemeRules,
    Threshold,
    ThresholdPer,
    TopLineOn,
)

MAX_PLACES = 4  # beyond this, products of three rates no longer fit 64-bit integers safely


class UnsupportedError(ValueError):
    """A region-year that uses what the columnar engine does not settle (yet).

    The message names the feature. Raised before anything is settled: the columnar
    engine refuses rather than be wrong.
    """


def _decimals(obj: object, found: list[Decimal]) -> None:
    if isinstance(obj, Decimal):
        found.append(obj)
    elif isinstance(obj, Mapping):
        for value in obj.values():
            _decimals(value, found)
    elif isinstance(obj, tuple | list | frozenset):
        for value in obj:
            _decimals(value, found)
    elif is_dataclass(obj) and not isinstance(obj, type):
        for f in fields(obj):
            _decimals(getattr(obj, f.name), found)


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # parameter values are finite
    return max(-exponent, 0)


def rate_places(policy: RegionPolicy) -> int:
    """Decimal places of the finest value in the region's parameters (at least 2)."""
    found: list[Decimal] = []
    for dated in policy.all_dated():
        for period in dated.periods:
            _decimals(period.value, found)
    places = max([2, *(_places(v) for v in found)])
    if places > MAX_PLACES:
        raise UnsupportedError(
            f"{policy.code}: a parameter with {places} decimal places "
            f"(the columnar engine works to {MAX_PLACES})"
        )
    return places


def epoch_starts(policy: RegionPolicy, year: int) -> list[date]:
    """First day of each stretch of the year in which no parameter changes."""
    first, last = policy.year_span(year)
    bounds = {first}
    for dated in policy.all_dated():
        for i, period in enumerate(dated.periods):
            candidates = [period.start]
            if period.end is not None and period.end < date.max:
                candidates.append(period.end + timedelta(days=1))
            if i + 1 < len(dated.periods):
                candidates.append(dated.periods[i + 1].start)
            bounds.update(day for day in candidates if first < day <= last)
    return sorted(bounds)


@dataclass(frozen=True)
class Tables:
    places: int
    one: int  # 10**places: the rate 1
    starts: list[date]
    brackets: int  # how many in_lo_j / in_hi_j / in_rate_j columns
    by_key: pl.DataFrame  # one row per (scheme, epoch, level, retired)
    special: pl.DataFrame  # (scheme, epoch, disease): diseases on the special list
    pilot_diseases: pl.DataFrame  # (epoch, diagnosis, pilot_limited)
    dims: tuple[FactDim, ...] = ()  # the facts beyond the key's scheme, level, retirement
    combos: int = 1  # rows per (scheme, epoch, level, retired): one per combination


def _fen(amount: Decimal) -> int:
    fen = amount * 100
    if fen != fen.to_integral_value():  # pragma: no cover - the loader allows two places
        raise UnsupportedError(f"an amount finer than the fen: {amount}")
    return int(fen)


PER_CODE = {ThresholdPer.STAY: 0, ThresholdPer.YEAR: 1, ThresholdPer.YEAR_AND_DISEASE: 2}
TOP_ON_CODE = {TopLineOn.POOLED_COST: 0, TopLineOn.FUND_PAYMENT: 1}


def _per(threshold: Threshold) -> int:
    return PER_CODE[threshold.per]


def _rate_brackets(spec: RateSpec, level: int) -> list[tuple[Decimal, Decimal]]:
    """(lower bound, rate) of each bracket; a rate by level is one bracket from 0."""
    if spec.scale is not None:
        return [(b.lower, b.rate) for b in spec.scale.brackets]
    assert spec.by_level is not None
    return [(Decimal(0), spec.by_level.for_level(level))]


# Condition keys the columnar engine reads as facts of each bill, beyond the key's own
# scheme, level and retirement (in the order of conditions.DIMENSIONS).
FACT_DIMS = (
    "category", "type", "province", "place", "kind", "cause", "delivery", "age", "diagnosis",
)  # fmt: skip


@dataclass(frozen=True)
class FactDim:
    """A condition key the region's tables use: the values a bill's fact is coded by."""

    name: str
    values: tuple[str, ...]  # age: the first age of each band, as text

    @property
    def ages(self) -> list[int]:
        return [int(v) for v in self.values]


def fact_dims(policy: RegionPolicy) -> list[FactDim]:
    """The condition keys of the region's tables (the serious-illness layer's aside: it
    is settled per person, `columnar.serious_illness_layer`)."""
    used: dict[str, list[Conditions]] = {}
    si = policy.serious_illness
    skip = {id(d) for d in (si.scale, si.top_line, si.schemes)} if si is not None else set()
    for dated in policy.all_dated():
        if id(dated) in skip:
            continue
        for period in dated.periods:
            if period.when is not None:
                for dim in period.when.dims:
                    used.setdefault(dim, []).append(period.when)
    dims = []
    for name in FACT_DIMS:
        if name not in used:
            continue
        if name == "age":
            points = {0}
            for cond in used[name]:
                assert cond.age is not None
                points.update((cond.age[0], cond.age[1] + 1))
            values = tuple(str(a) for a in sorted(points) if a <= MAX_AGE)
        elif name == "diagnosis":
            values = (*policy.diagnosis_groups, OTHER_DIAGNOSIS)
        else:
            values = tuple(DOMAINS[name])
        dims.append(FactDim(name, values))
    return dims


def _combos(dims: Sequence[FactDim]) -> list[dict[str, str]]:
    """Every combination of the dimensions' values, in mixed-radix order (the last
    dimension fastest): a bill's combination index is computed the same way."""
    names = [d.name for d in dims]
    return [dict(zip(names, values, strict=True)) for values in product(*(d.values for d in dims))]


# Kept per policy object (by identity: a policy is not hashable) while it lives.
_CACHE: dict[int, tuple[weakref.ref[RegionPolicy], dict[int, Tables]]] = {}


def build(policy: RegionPolicy, year: int) -> Tables:
    """The region's tables for the year (kept with the policy: building them is the
    costly part of a small region-year)."""
    key = id(policy)
    entry = _CACHE.get(key)
    if entry is None or entry[0]() is not policy:

        def forget(_: object) -> None:
            _CACHE.pop(key, None)

        entry = (weakref.ref(policy, forget), {})
        _CACHE[key] = entry
    kept = entry[1]
    if year not in kept:
        kept[year] = _build(policy, year)
    return kept[year]


def _build(policy: RegionPolicy, year: int) -> Tables:
    places = rate_places(policy)
    one = 10**places

    def num(rate: Decimal) -> int:
        scaled = rate * one
        assert scaled == scaled.to_integral_value()  # places covers every value
        return int(scaled)

    starts = epoch_starts(policy, year)
    dims = fact_dims(policy)
    combos = _combos(dims)
    rows: list[dict[str, Any]] = []
    special_rows: list[dict[str, Any]] = []
    pilot_rows: list[dict[str, Any]] = []
    for epoch, day in enumerate(starts):
        pilot_rows.extend(_pilot_rows(policy, epoch, day))
        for scheme in Scheme:
            rows.extend(_key_rows(policy, scheme, epoch, day, combos, num))
            special_rows.extend(_special_rows(policy, scheme, epoch, day))
    max_brackets = max([1, *(len(row.get("in_lo", [])) for row in rows)])
    for row in rows:
        _bracket_columns(row, max_brackets)
    by_key = pl.DataFrame(rows, schema=_schema(max_brackets))
    special = pl.DataFrame(
        special_rows, schema={"scheme": pl.String, "epoch": pl.Int64, "disease": pl.String}
    )
    pilot_diseases = pl.DataFrame(
        pilot_rows, schema={"epoch": pl.Int64, "diagnosis": pl.String, "pilot_limited": pl.Int64}
    )
    return Tables(
        places, one, starts, max_brackets, by_key, special, pilot_diseases, tuple(dims), len(combos)
    )


def _pilot_rows(policy: RegionPolicy, epoch: int, day: date) -> list[dict[str, Any]]:
    pilot = policy.pilot
    out: list[dict[str, Any]] = []
    if pilot is None:
        return out
    for code, disease in pilot.diseases.items():
        try:
            limited = disease.limited_cost.at(day).value
        except PolicyGapError:
            continue  # a stay on that day raises in `settle` (gap check below)
        out.append({"epoch": epoch, "diagnosis": code, "pilot_limited": _fen(limited)})
    return out


def _special_rows(
    policy: RegionPolicy, scheme: Scheme, epoch: int, day: date
) -> list[dict[str, Any]]:
    rules = policy.schemes.get(scheme.value)
    if rules is None or rules.special_outpatient is None:
        return []
    try:
        diseases = rules.special_outpatient.diseases.at(day).value
    except PolicyGapError:
        diseases = frozenset()
    return [{"scheme": scheme.value, "epoch": epoch, "disease": d} for d in sorted(diseases)]


def _key_rows(
    policy: RegionPolicy,
    scheme: Scheme,
    epoch: int,
    day: date,
    combos: list[dict[str, str]],
    num: Any,
) -> list[dict[str, Any]]:
    """One row per (level, retired, combination of facts), in the key's order."""
    rules = policy.schemes.get(scheme.value)
    out = []
    for level in LEVELS:
        for retired in (False, True):
            for combo in combos:
                row: dict[str, Any] = {
                    "scheme": scheme.value,
                    "epoch": epoch,
                    "level": level,
                    "retired": retired,
                }
                facts = _facts(scheme, level, retired, combo)
                try:
                    row.update(_values(policy, rules, scheme, day, level, retired, num, facts))
                except PolicyGapError as exc:
                    row["gap"] = str(exc)
                out.append(row)
    return out


def _facts(scheme: Scheme, level: int, retired: bool, combo: dict[str, str]) -> Facts:
    values: dict[str, Any] = {
        "category": "general",
        "type": "general",
        "province": "same",
        "place": "local",
        "kind": None,
        "cause": "ordinary",
        "delivery": "none",
        "diagnosis": OTHER_DIAGNOSIS,
    }
    values.update(combo)
    age = int(values.pop("age")) if "age" in values else None
    return Facts(
        scheme=scheme.value,
        level=str(level),
        retired="true" if retired else "false",
        age=age,
        **values,
    )


def _bracket_columns(row: dict[str, Any], max_brackets: int) -> None:
    lows: list[int] = row.pop("in_lo", [])
    rates: list[int] = row.pop("in_rate", [])
    for j in range(max_brackets):
        row[f"in_lo_{j}"] = lows[j] if j < len(lows) else None
        row[f"in_hi_{j}"] = lows[j + 1] if j + 1 < len(lows) else None
        row[f"in_rate_{j}"] = rates[j] if j < len(rates) else None


def _schema(max_brackets: int) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {
        "scheme": pl.String(),
        "epoch": pl.Int64(),
        "level": pl.Int8(),
        "retired": pl.Boolean(),
        "gap": pl.String(),
        "offered": pl.Boolean(),
        "has_rules": pl.Boolean(),
        "min_years": pl.Int64(),
        "share_a": pl.Int64(),
        "share_b": pl.Int64(),
        "share_self_pay": pl.Int64(),
        "red_points": pl.Boolean(),
        "red_referral": pl.Int64(),
        "red_emergency": pl.Int64(),
        "red_unfiled": pl.Int64(),
        "out_per": pl.Int8(),
        "out_thr": pl.Int64(),
        "out_rate": pl.Int64(),
        "out_limit": pl.Int64(),
        "in_per": pl.Int8(),
        "in_thr": pl.Int64(),
        "in_top_on": pl.Int8(),
        "in_top": pl.Int64(),
        "in_points": pl.Int64(),
        "in_chain": pl.Boolean(),
        "fixed": pl.Int64(),
        "cause_cap": pl.Int64(),
        "sp_on": pl.Boolean(),
        "sp_per": pl.Int8(),
        "sp_thr": pl.Int64(),
        "pilot_scheme": pl.Boolean(),
        "pilot_max_age": pl.Int64(),
        "pilot_rate": pl.Int64(),
        "pilot_assist": pl.Int64(),
    }
    for j in range(max_brackets):
        schema[f"in_lo_{j}"] = pl.Int64()
        schema[f"in_hi_{j}"] = pl.Int64()
        schema[f"in_rate_{j}"] = pl.Int64()
    return schema


def _inpatient_values(
    rules: SchemeRules, day: date, level: int, retired: bool, num: Any, facts: Facts
) -> dict[str, Any]:
    """The inpatient rules' values: threshold, top line, points, fixed sum, referral
    chains, the rate's brackets."""
    out: dict[str, Any] = {}
    inp = rules.inpatient
    threshold = inp.threshold.at(day, facts).value
    out["in_per"] = _per(threshold)
    out["in_thr"] = _fen(threshold.amount.for_level(level))
    if inp.top_line is not None:
        top = inp.top_line.at(day, facts).value
        out["in_top_on"] = TOP_ON_CODE[top.on]
        out["in_top"] = _fen(top.amount)
    out["in_points"] = 0 if inp.rate_points is None else num(inp.rate_points.at(day, facts).value)
    chain = inp.referral_threshold
    out["in_chain"] = (
        chain is not None and chain.at(day, facts).value is ReferralThreshold.CONTINUED
    )
    fixed = None if rules.fixed_sum is None else rules.fixed_sum.find(day, facts)
    out["fixed"] = None if fixed is None else _fen(fixed.value)
    cap = None if rules.cause_cap is None else rules.cause_cap.find(day, facts)
    out["cause_cap"] = None if cap is None else _fen(cap.value)
    rate_param = inp.rate_retired if retired and inp.rate_retired is not None else inp.rate
    brackets = _rate_brackets(rate_param.at(day, facts).value, level)
    out["in_lo"] = [_fen(lower) for lower, _ in brackets]
    out["in_rate"] = [num(rate) for _, rate in brackets]
    return out


def _values(
    policy: RegionPolicy,
    rules: SchemeRules | None,
    scheme: Scheme,
    day: date,
    level: int,
    retired: bool,
    num: Any,
    facts: Facts,
) -> dict[str, Any]:
    """Every value a bill of this scheme, day, level, retirement and facts can need."""
    out: dict[str, Any] = {"offered": scheme.value in policy.offered.at(day, facts).value}
    out["has_rules"] = rules is not None
    if rules is None:
        return out
    share = policy.eligible_share
    out["share_a"] = num(share[LineClass.A.value].at(day, facts).value)
    out["share_b"] = num(share[LineClass.B.value].at(day, facts).value)
    out["share_self_pay"] = num(share[LineClass.SELF_PAY.value].at(day, facts).value)
    reduction = policy.reduction.at(day, facts).value
    out["red_points"] = reduction.method is ReductionMethod.POINTS
    out["red_referral"] = num(reduction.referral)
    out["red_emergency"] = num(reduction.emergency)
    out["red_unfiled"] = num(reduction.unfiled)
    if rules.retiree_min_contribution_years is not None:
        out["min_years"] = rules.retiree_min_contribution_years.at(day, facts).value
    o = rules.outpatient
    threshold = o.threshold.at(day, facts).value
    out["out_per"] = _per(threshold)
    out["out_thr"] = _fen(threshold.amount.for_level(level))
    out["out_rate"] = num(o.rate.at(day, facts).value.for_level(level))
    out["out_limit"] = _fen(o.fund_limit.at(day, facts).value)
    out.update(_inpatient_values(rules, day, level, retired, num, facts))
    special = rules.special_outpatient
    out["sp_on"] = special is not None
    if special is not None:
        threshold = special.threshold.at(day, facts).value
        out["sp_per"] = _per(threshold)
        out["sp_thr"] = _fen(threshold.amount.for_level(level))
    pilot = policy.pilot
    out["pilot_scheme"] = pilot is not None and scheme.value in pilot.schemes.at(day, facts).value
    if pilot is not None:
        out["pilot_max_age"] = pilot.max_age.at(day, facts).value
        out["pilot_rate"] = num(pilot.rate.at(day, facts).value)
        out["pilot_assist"] = num(pilot.assistance_share.at(day, facts).value)
    return out
