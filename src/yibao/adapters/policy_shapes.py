"""The value shapes of region policy files (docs/policies.md): levels, thresholds, rate
scales, top lines, reductions, referral rules, and their conversion to the domain's values.
The dated entry they build on is in policy_values.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from yibao.adapters.policy_values import Amount, Entry, Rate, ordered_periods
from yibao.adapters.validation import Strict
from yibao.domain.model import LEVELS, Scheme
from yibao.domain.money import parse_amount
from yibao.domain.parameters import (
    Bracket,
    ByLevel,
    RateSpec,
    ReductionMethod,
    ReferralThreshold,
    Scale,
    Text,
    Threshold,
    ThresholdPer,
    TopLineOn,
)


class TextModel(Strict):
    zh: str
    en: str

    def to_text(self) -> Text:
        return Text(zh=self.zh, en=self.en)


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


DatedSet = Annotated[list[SetValue], AfterValidator(ordered_periods)]
DatedSchemes = Annotated[list[SchemesValue], AfterValidator(ordered_periods)]
DatedLevelRate = Annotated[list[LevelRateValue], AfterValidator(ordered_periods)]
DatedThreshold = Annotated[list[ThresholdValue], AfterValidator(ordered_periods)]
DatedRateSpec = Annotated[list[RateSpecValue], AfterValidator(ordered_periods)]
DatedScale = Annotated[list[ScaleValue], AfterValidator(ordered_periods)]
DatedTopLine = Annotated[list[TopLineValue], AfterValidator(ordered_periods)]
DatedReduction = Annotated[list[ReductionValue], AfterValidator(ordered_periods)]


class ReferralValue(Entry):
    value: ReferralThreshold


def _amount_or_none(raw: object) -> Decimal | None:
    if raw == "none":
        return None
    return parse_amount(raw)


class TopOrNoneValue(Entry):
    """An amount, or `none`: no top line."""

    value: Annotated[Decimal | None, BeforeValidator(_amount_or_none)]


DatedReferral = Annotated[list[ReferralValue], AfterValidator(ordered_periods)]
DatedTopOrNone = Annotated[list[TopOrNoneValue], AfterValidator(ordered_periods)]


# --- conversion to the domain ---------------------------------------------------------


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
