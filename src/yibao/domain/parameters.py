"""Dated policy parameters: every value knows when it is in force and where it came from.

The loader (adapters/parameter_files.py) builds these from YAML; the engine asks each
one for the value in force on the encounter date and cites its `Ref` in the
explanation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Any

from yibao.domain.calendar import WorkingCalendar
from yibao.domain.conditions import CodeSpan, diagnosis_group
from yibao.domain.dated import Dated as Dated
from yibao.domain.dated import Param as Param
from yibao.domain.dated import Period as Period
from yibao.domain.dated import PolicyGapError as PolicyGapError
from yibao.domain.dated import Ref as Ref
from yibao.domain.enrolment import EnrolmentRules
from yibao.domain.money import ONE, ZERO, fmt, fmt_points, fmt_rate

# --- value shapes -------------------------------------------------------------------


@dataclass(frozen=True)
class ByLevel:
    """An amount or rate that is either flat or set per institution level 0–3."""

    flat: Decimal | None
    levels: Mapping[int, Decimal]

    def for_level(self, level: int) -> Decimal:
        if self.flat is not None:
            return self.flat
        return self.levels[level]

    def describe(self, as_rate: bool = False) -> str:
        show = fmt_rate if as_rate else fmt
        if self.flat is not None:
            return show(self.flat)
        return ", ".join(f"level {lv}: {show(v)}" for lv, v in sorted(self.levels.items()))


class ThresholdPer(StrEnum):
    STAY = "stay"
    YEAR = "year"
    YEAR_AND_DISEASE = "year_and_disease"


@dataclass(frozen=True)
class Threshold:
    per: ThresholdPer
    amount: ByLevel


@dataclass(frozen=True)
class Bracket:
    lower: Decimal
    rate: Decimal


@dataclass(frozen=True)
class Scale:
    """A marginal rate scale: each bracket's rate applies to the slice from its lower bound
    to the next bracket's lower bound (the last one has no upper bound)."""

    brackets: tuple[Bracket, ...]

    def slices(self, start: Decimal, end: Decimal) -> list[tuple[Decimal, Decimal, Decimal]]:
        """The overlap of [start, end) with each bracket: (lower, upper, rate) where non-empty."""
        out: list[tuple[Decimal, Decimal, Decimal]] = []
        for i, bracket in enumerate(self.brackets):
            upper = self.brackets[i + 1].lower if i + 1 < len(self.brackets) else None
            lo = max(start, bracket.lower)
            hi = end if upper is None else min(end, upper)
            if hi > lo:
                out.append((lo, hi, bracket.rate))
        return out

    def describe(self) -> str:
        return "; ".join(f"from {fmt(b.lower)}: {fmt_rate(b.rate)}" for b in self.brackets)


@dataclass(frozen=True)
class RateSpec:
    """A fund rate: flat, by institution level, or a marginal scale on the year's
    accumulated pooled cost. Exactly one of `by_level` and `scale` is set."""

    by_level: ByLevel | None = None
    scale: Scale | None = None

    def describe(self) -> str:
        if self.scale is not None:
            return "scale on accumulated pooled cost: " + self.scale.describe()
        assert self.by_level is not None
        return self.by_level.describe(as_rate=True)


class TopLineOn(StrEnum):
    POOLED_COST = "pooled_cost"  # nothing is paid on accumulated pooled cost above the line
    FUND_PAYMENT = "fund_payment"  # the fund's payments add up to at most the line


@dataclass(frozen=True)
class TopLine:
    on: TopLineOn
    amount: Decimal


class ReductionMethod(StrEnum):
    SHARE = "share"  # a share off the fund's payment
    POINTS = "points"  # percentage points off every rate


@dataclass(frozen=True)
class Reduction:
    """Other-place reductions: how much comes off for each kind of treatment elsewhere."""

    method: ReductionMethod
    referral: Decimal
    emergency: Decimal
    unfiled: Decimal


@dataclass(frozen=True)
class Text:
    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


# --- a region's rules ---------------------------------------------------------------


@dataclass(frozen=True)
class OutpatientRules:
    threshold: Dated[Threshold]
    rate: Dated[ByLevel]
    fund_limit: Dated[Decimal]


class ReferralThreshold(StrEnum):
    SEPARATE = "separate"  # every stay charges its own threshold
    # A stay referred up pays only what its threshold exceeds the thresholds charged in
    # its episode; a stay referred down pays none.
    CONTINUED = "continued"


@dataclass(frozen=True)
class InpatientRules:
    threshold: Dated[Threshold]
    rate: Dated[RateSpec]
    rate_retired: Dated[RateSpec] | None
    top_line: Dated[TopLine] | None
    referral_threshold: Dated[ReferralThreshold] | None = None
    rate_points: Dated[Decimal] | None = None  # percentage points added to every rate


@dataclass(frozen=True)
class SpecialOutpatientRules:
    diseases: Dated[frozenset[str]]
    threshold: Dated[Threshold]


@dataclass(frozen=True)
class SchemeRules:
    scheme: str
    label: Text
    insutype: str
    outpatient: OutpatientRules
    inpatient: InpatientRules
    special_outpatient: SpecialOutpatientRules | None
    retiree_min_contribution_years: Dated[int] | None
    # A partial table: the bills it names are paid a fixed sum, at most their eligible cost.
    fixed_sum: Dated[Decimal] | None = None
    # A partial table on the cause: the fund's yearly payments for that cause at most this.
    cause_cap: Dated[Decimal] | None = None


@dataclass(frozen=True)
class PilotDisease:
    code: str
    name: Text
    limited_cost: Dated[Decimal]


@dataclass(frozen=True)
class PilotRules:
    """The children's major-disease pilot (reference §3)."""

    schemes: Dated[frozenset[str]]
    max_age: Dated[int]
    rate: Dated[Decimal]
    assistance_share: Dated[Decimal]
    diseases: Mapping[str, PilotDisease]


@dataclass(frozen=True)
class SeriousIllnessRules:
    """The yearly second layer on the personal payment on eligible cost (reference §5)."""

    schemes: Dated[frozenset[str]]
    scale: Dated[Scale]
    top_line: Dated[Decimal | None]  # None: no top line
    # Diagnosis groups whose personal payment is settled apart, on their own rows.
    separate_groups: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DiagnosisGroup:
    """A region's named list of ICD-10 codes and ranges, for conditions on the diagnosis."""

    code: str
    name: Text
    spans: tuple[CodeSpan, ...]
    source: str


@dataclass(frozen=True)
class YearStart:
    """The day a region's insurance year starts (region.yaml `year_start`). Year Y runs
    from that day in Y to the day before it in Y + 1, so it is named by the calendar year
    it starts in; the default, 1 January, is the calendar year. Accumulators, top lines
    and the serious-illness layer all run over this year, and a bill belongs to the year
    its date (a stay's discharge) falls in."""

    month: int = 1
    day: int = 1
    source: str = ""

    def __post_init__(self) -> None:
        # 29 February would start some years and not others: the loader refuses it.
        date(2001, self.month, self.day)

    @property
    def calendar(self) -> bool:
        return (self.month, self.day) == (1, 1)

    def span(self, year: int) -> tuple[date, date]:
        """The first and last day of year `year`."""
        first = date(year, self.month, self.day)
        return first, date(year + 1, self.month, self.day) - timedelta(days=1)

    def describe(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


@dataclass(frozen=True)
class RegionPolicy:
    code: str
    name: Text
    admdvs: str
    offered: Dated[frozenset[str]]
    not_offered_reason: Text
    eligible_share: Mapping[str, Dated[Decimal]]  # by line class
    reduction: Dated[Reduction]
    schemes: Mapping[str, SchemeRules]
    pilot: PilotRules | None
    serious_illness: SeriousIllnessRules | None
    enrolment: EnrolmentRules | None = None  # enrolment.yaml: windows, premiums, cards
    calendar: WorkingCalendar | None = None  # calendar.yaml: working days
    diagnosis_groups: Mapping[str, DiagnosisGroup] = field(default_factory=dict)
    year_start: YearStart = YearStart()

    # What every bill asks of a policy and gets the same answer to while the policy (frozen)
    # lasts: kept on it, made when first asked; a new policy starts afresh.
    @cached_property
    def _year_spans(self) -> dict[int, tuple[date, date]]:
        return {}

    @cached_property
    def _groups_of(self) -> dict[str | None, str]:
        return {}

    def year_span(self, year: int) -> tuple[date, date]:
        """The first and last day of the region's insurance year `year`."""
        known = self._year_spans
        span = known.get(year)
        if span is None:
            span = known[year] = self.year_start.span(year)
        return span

    def diagnosis_group(self, code: str | None) -> str:
        """The region's diagnosis group of an ICD-10 code, or "other"."""
        known = self._groups_of
        group = known.get(code)
        if group is None:
            if len(known) > 10_000:  # codes come from bills: never an unbounded memory
                known.clear()
            spans = {k: g.spans for k, g in self.diagnosis_groups.items()}
            group = known[code] = diagnosis_group(spans, code)
        return group

    @cached_property
    def decision_tables(self) -> bool:
        """Some value of the region depends on facts about the bill (a decision table).
        Without one, every value is the day's alone: the engine makes no Facts for a bill
        (Dated.at and find read them only for a row with conditions)."""
        return any(d.conditional for d in self.all_dated())

    def all_dated(self) -> list[Dated[object]]:
        """Every dated parameter of the region, for listing (`yibao policy show`)."""
        found: list[Dated[object]] = []
        _collect(self, found)
        return found


def _collect(obj: object, found: list[Dated[object]]) -> None:
    if isinstance(obj, Dated):
        found.append(obj)
    elif isinstance(obj, Mapping):
        for value in obj.values():
            _collect(value, found)
    elif hasattr(obj, "__dataclass_fields__"):
        for name in obj.__dataclass_fields__:
            _collect(getattr(obj, name), found)


# Rates made of a policy's rates (lowered by a place's points, raised by a bill's, the
# rest of an eligible share): the same few for every bill, so each is made once and
# kept. A bill is then handed the very Decimal of the last one, whose text fmt_rate
# keeps by the rate: hashing a new Decimal costs some 5,000 instructions (a power modulo
# a prime, made once an object), more than the arithmetic. Kept by the operands' values
# and used only for the very same operand objects: equal Decimals may differ in exponent,
# and so in what they make (a new object is worked out again, and kept instead).
_Kept = dict[tuple[Decimal, Decimal], tuple[Decimal, Decimal, Decimal]]
_LOWERED: _Kept = {}
_RAISED: _Kept = {}
_REST: dict[Decimal, tuple[Decimal, Decimal]] = {}
_KEEP_AT_MOST = 10_000  # rates come from policies: never an unbounded memory


def _keep(kept: dict[Any, Any], key: object, value: object) -> None:
    if len(kept) >= _KEEP_AT_MOST:
        kept.clear()
    kept[key] = value


def points_off(rate: Decimal, points: Decimal) -> Decimal:
    """A rate lowered by percentage points (as a share, 0.10 = 10 points), never below 0."""
    key = (rate, points)
    kept = _LOWERED.get(key)
    if kept is not None and kept[0] is rate and kept[1] is points:
        return kept[2]
    lowered = max(rate - points, ZERO)
    _keep(_LOWERED, key, (rate, points, lowered))
    return lowered


def points_on(rate: Decimal, points: Decimal) -> Decimal:
    """A rate raised by percentage points, never above 1."""
    key = (rate, points)
    kept = _RAISED.get(key)
    if kept is not None and kept[0] is rate and kept[1] is points:
        return kept[2]
    raised = min(rate + points, ONE)
    _keep(_RAISED, key, (rate, points, raised))
    return raised


def rest_of(share: Decimal) -> Decimal:
    """1 − a share (a class's default first self-pay ratio: 1 − its eligible share)."""
    kept = _REST.get(share)
    if kept is not None and kept[0] is share:
        return kept[1]
    rest = ONE - share
    _keep(_REST, share, (share, rest))
    return rest


def describe_value(value: object, unit: str = "") -> str:
    """A parameter value as a person reads it in a table."""
    if value is None:  # a serious-illness top line of `none`
        return "none"
    if isinstance(value, Decimal):
        return fmt_rate(value) if unit == "share" else fmt(value)
    if isinstance(value, frozenset):
        return ", ".join(sorted(str(v) for v in value))
    if isinstance(value, Threshold):
        return f"{value.amount.describe()} per {value.per.value.replace('_', ' ')}"
    if isinstance(value, ByLevel):
        return value.describe(as_rate=unit == "share")
    if isinstance(value, RateSpec | Scale):
        return value.describe()
    if isinstance(value, TopLine):
        return f"{fmt(value.amount)} of {value.on.value.replace('_', ' ')}"
    if isinstance(value, Reduction):
        if value.method is ReductionMethod.SHARE:
            what, show = "off the payment", fmt_rate
        else:
            what, show = "off every rate", fmt_points
        return (
            f"{what}: referral {show(value.referral)}, emergency {show(value.emergency)}, "
            f"unfiled {show(value.unfiled)}"
        )
    described = getattr(value, "describe", None)  # enrolment windows, premiums
    if callable(described):
        return str(described())
    return str(value)
