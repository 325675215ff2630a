"""What the engine returns: a split per encounter, the yearly layer, and their explanations."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from yibao.domain.explain import Step
from yibao.domain.money import ZERO, fmt_yuan, round_fen
from yibao.domain.parameters import Text


class Route(StrEnum):
    """Which rules settled the bill."""

    REFUSED = "refused"
    OUT_OF_SCOPE = "out_of_scope"  # non-designated place, pharmacy without prescription
    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"
    SPECIAL_OUTPATIENT = "special_outpatient"
    PILOT = "child_major_disease"


@dataclass(frozen=True)
class Refusal:
    code: str  # machine-readable: scheme_not_offered, contribution_years, ...
    reason: Text


@dataclass(frozen=True)
class EncounterResult:
    encounter_id: str
    scheme: str
    route: Route
    total: Decimal
    eligible: Decimal  # exact (a class B line's 90% may have a third decimal)
    self_pay: Decimal  # wholly self-paid: lines outside the catalogues, or the whole bill
    threshold: Decimal  # the threshold charged by this encounter (exact)
    basic: Decimal
    assistance: Decimal
    institution: Decimal
    personal: Decimal
    refused: Refusal | None
    steps: tuple[Step, ...]

    @property
    def first_self_pay(self) -> Decimal:
        """Class B first self-pay: what is neither wholly self-paid nor eligible (to the fen)."""
        return self.total - self.self_pay - round_fen(self.eligible)

    @property
    def personal_on_eligible(self) -> Decimal:
        """The part of eligible cost left to the person: the serious-illness base."""
        return self.eligible - self.basic - self.assistance - self.institution

    @property
    def fund(self) -> Decimal:
        return self.basic + self.assistance

    def summary(self, lang: str = "en") -> str:
        """A few plain sentences for the insured person or a parent."""
        y = fmt_yuan
        if self.refused is not None:
            if lang == "zh":
                return f"本次费用{y(self.total)}元不予报销：{self.refused.reason.zh}。您需支付全部{y(self.total)}元。"
            return (
                f"This bill of {y(self.total)} yuan is not covered: {self.refused.reason.en}. "
                f"You pay all {y(self.total)} yuan."
            )
        if lang == "zh":
            parts = [f"本次费用合计{y(self.total)}元，其中医保范围内{y(self.eligible)}元。"]
            if self.threshold > ZERO:
                parts.append(f"起付线{y(self.threshold)}元由您支付。")
            if self.basic > ZERO:
                parts.append(f"基本医保基金支付{y(self.basic)}元。")
            if self.assistance > ZERO:
                parts.append(f"医疗救助支付{y(self.assistance)}元。")
            if self.institution > ZERO:
                parts.append(f"医院承担{y(self.institution)}元。")
            parts.append(f"您需支付{y(self.personal)}元。")
            return "".join(parts)
        parts = [
            f"Your bill is {y(self.total)} yuan; {y(self.eligible)} of it is covered by the catalogues."
        ]
        if self.threshold > ZERO:
            parts.append(f"You pay the threshold of {y(self.threshold)}.")
        if self.basic > ZERO:
            parts.append(f"The insurance fund pays {y(self.basic)}.")
        if self.assistance > ZERO:
            parts.append(f"Medical assistance pays {y(self.assistance)}.")
        if self.institution > ZERO:
            parts.append(f"The hospital bears {y(self.institution)}.")
        parts.append(f"You pay {y(self.personal)} yuan.")
        return " ".join(parts)


@dataclass(frozen=True)
class SeriousIllnessResult:
    base: Decimal  # the year's personal payment on eligible cost
    payment: Decimal
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class YearResult:
    encounters: tuple[EncounterResult, ...]
    serious_illness: SeriousIllnessResult
    personal: Decimal  # the year's personal payments less the serious-illness payment
