"""The value shapes of policy files: dated entries, their rows, and the builder that
turns them into the domain's `Dated` values (parameter_files.py reads the files).

Validation is strict: an unknown key, a missing level, a rate above 1, overlapping
dates, a decision table's overlap or gap, or a non-decimal amount is an error naming the
file and the key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from yibao.adapters.policy_tables import WhenModel, check_rows, table_errors
from yibao.adapters.validation import Day, Strict, Whole
from yibao.domain.model import LEVELS, Scheme
from yibao.domain.money import AmountError, parse_amount, parse_decimal
from yibao.domain.parameters import (
    Bracket,
    ByLevel,
    Dated,
    Period,
    RateSpec,
    ReductionMethod,
    ReferralThreshold,
    Scale,
    Text,
    Threshold,
    ThresholdPer,
    TopLineOn,
)


class PolicyError(ValueError):
    """A policy folder or file that cannot be used; the message names file and key."""


# --- value types ----------------------------------------------------------------------


def _amount(raw: object) -> Decimal:
    return parse_amount(raw)


def _rate(raw: object) -> Decimal:
    value = parse_decimal(raw)
    if not Decimal(0) <= value <= Decimal(1):
        raise AmountError(f"rate {raw} is not between 0 and 1")
    return value


def _source(raw: str) -> str:
    if not (raw.startswith("[text]") or raw.startswith("[set]")):
        raise ValueError(
            "a source note starts with [text] (from the source text) or [set] (set by the region)"
        )
    return raw


Amount = Annotated[Decimal, BeforeValidator(_amount)]
Rate = Annotated[Decimal, BeforeValidator(_rate)]
Count = Whole
Source = Annotated[str, AfterValidator(_source)]


class TextModel(Strict):
    zh: str
    en: str

    def to_text(self) -> Text:
        return Text(zh=self.zh, en=self.en)


class Entry(Strict):
    """One dated value: in force from `from` (inclusive) until `until` (inclusive) or the next value."""

    start: Day = Field(alias="from")
    until: Day | None = None
    when: WhenModel | None = None  # a row of a decision table (policy_tables.py)
    source: Source


def _levels(by_level: dict[int, Decimal]) -> dict[int, Decimal]:
    missing = [lv for lv in LEVELS if lv not in by_level]
    extra = [lv for lv in by_level if lv not in LEVELS]
    if missing:
        raise ValueError(f"by_level is missing level {', '.join(map(str, missing))}")
    if extra:
        raise ValueError(
            f"by_level has unknown level {', '.join(map(str, extra))} (levels are 0–3)"
        )
    return by_level


class AmountValue(Entry):
    value: Amount


class RateValue(Entry):
    value: Rate


class CountValue(Entry):
    value: Count


class SetValue(Entry):
    value: list[str] = Field(min_length=1)


class SchemesValue(Entry):
    value: list[Scheme] = Field(min_length=1)


class LevelRateValue(Entry):
    value: Rate | None = None
    by_level: Annotated[dict[int, Rate], AfterValidator(_levels)] | None = None

    @model_validator(mode="after")
    def _one(self) -> LevelRateValue:
        if (self.value is None) == (self.by_level is None):
            raise ValueError("give exactly one of value, by_level")
        return self


class ThresholdValue(Entry):
    per: ThresholdPer
    value: Amount | None = None
    by_level: Annotated[dict[int, Amount], AfterValidator(_levels)] | None = None

    @model_validator(mode="after")
    def _one(self) -> ThresholdValue:
        if (self.value is None) == (self.by_level is None):
            raise ValueError("give exactly one of value, by_level")
        return self


class BracketModel(Strict):
    lower: Amount = Field(alias="from")
    rate: Rate


def _brackets(brackets: list[BracketModel]) -> list[BracketModel]:
    if not brackets:
        raise ValueError("a scale needs at least one bracket")
    if brackets[0].lower != 0:
        raise ValueError("the first bracket must start from 0")
    for i in range(1, len(brackets)):
        if brackets[i].lower <= brackets[i - 1].lower:
            raise ValueError(
                f"bracket {i} must start above bracket {i - 1} ({brackets[i - 1].lower})"
            )
    return brackets


Brackets = Annotated[list[BracketModel], AfterValidator(_brackets)]


class RateSpecValue(Entry):
    value: Rate | None = None
    by_level: Annotated[dict[int, Rate], AfterValidator(_levels)] | None = None
    brackets: Brackets | None = None

    @model_validator(mode="after")
    def _one(self) -> RateSpecValue:
        if sum(x is not None for x in (self.value, self.by_level, self.brackets)) != 1:
            raise ValueError("give exactly one of value, by_level, brackets")
        return self


class ScaleValue(Entry):
    brackets: Brackets


class TopLineValue(Entry):
    on: TopLineOn
    value: Amount


class ReductionValue(Entry):
    method: ReductionMethod
    referral: Rate
    emergency: Rate
    unfiled: Rate


E = TypeVar("E", bound=Entry)


def _periods(entries: list[E]) -> list[E]:
    if not entries:
        raise ValueError("needs at least one dated value")
    for entry in entries:
        if entry.until is not None and entry.until < entry.start:
            raise ValueError(f"value from {entry.start} ends before it starts ({entry.until})")
    check_rows(entries)
    return sorted(entries, key=lambda e: e.start)


DatedAmount = Annotated[list[AmountValue], AfterValidator(_periods)]
DatedRate = Annotated[list[RateValue], AfterValidator(_periods)]
DatedCount = Annotated[list[CountValue], AfterValidator(_periods)]
DatedSet = Annotated[list[SetValue], AfterValidator(_periods)]
DatedSchemes = Annotated[list[SchemesValue], AfterValidator(_periods)]
DatedLevelRate = Annotated[list[LevelRateValue], AfterValidator(_periods)]
DatedThreshold = Annotated[list[ThresholdValue], AfterValidator(_periods)]
DatedRateSpec = Annotated[list[RateSpecValue], AfterValidator(_periods)]
DatedScale = Annotated[list[ScaleValue], AfterValidator(_periods)]
DatedTopLine = Annotated[list[TopLineValue], AfterValidator(_periods)]
DatedReduction = Annotated[list[ReductionValue], AfterValidator(_periods)]


class ReferralValue(Entry):
    value: ReferralThreshold


def _amount_or_none(raw: object) -> Decimal | None:
    if raw == "none":
        return None
    return parse_amount(raw)


class TopOrNoneValue(Entry):
    """An amount, or `none`: no top line."""

    value: Annotated[Decimal | None, BeforeValidator(_amount_or_none)]


DatedReferral = Annotated[list[ReferralValue], AfterValidator(_periods)]
DatedTopOrNone = Annotated[list[TopOrNoneValue], AfterValidator(_periods)]


# --- conversion to the domain ---------------------------------------------------------

V = TypeVar("V")


class _Builder:
    """Turns validated entries into `Dated` values that cite `region/file: key`; the rows
    of a decision table are checked against each other (and the region's diagnosis
    groups) here."""

    def __init__(self, file: str, groups: Sequence[str] = (), partial: bool = False) -> None:
        self.file = file
        self.groups = tuple(groups)
        self.partial = partial  # a table whose rows name the only bills it is for

    def dated(
        self, key: str, entries: Sequence[E], convert: Callable[[E], V], unit: str = ""
    ) -> Dated[V]:
        errors = table_errors(self.file, key, entries, self.groups, self.partial)
        if errors:
            raise PolicyError("\n".join(errors))
        periods = tuple(
            Period(
                e.start,
                e.until,
                convert(e),
                e.source,
                e.when.conditions() if e.when is not None else None,
            )
            for e in entries
        )
        return Dated(self.file, key, periods, unit)

    def amount(self, key: str, entries: Sequence[AmountValue]) -> Dated[Decimal]:
        return self.dated(key, entries, lambda e: e.value, "yuan")

    def share(self, key: str, entries: Sequence[RateValue]) -> Dated[Decimal]:
        return self.dated(key, entries, lambda e: e.value, "share")


def _by_level(flat: Decimal | None, levels: dict[int, Decimal] | None) -> ByLevel:
    return ByLevel(flat=flat, levels=dict(levels or {}))


def _threshold(e: ThresholdValue) -> Threshold:
    return Threshold(per=e.per, amount=_by_level(e.value, e.by_level))


def _scale(brackets: list[BracketModel]) -> Scale:
    return Scale(tuple(Bracket(b.lower, b.rate) for b in brackets))


def _rate_spec(e: RateSpecValue) -> RateSpec:
    if e.brackets is not None:
        return RateSpec(scale=_scale(e.brackets))
    return RateSpec(by_level=_by_level(e.value, e.by_level))
