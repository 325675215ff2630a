"""What the engine returns: a split per encounter, the yearly layer, and their explanations."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from yibao.domain.explain import Step
from yibao.domain.frozen import fast_init
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
    FIXED_SUM = "fixed_sum"  # a fixed sum for the bill (for example a delivery)


class RefusalCode(StrEnum):
    """Why a whole bill is refused (scope.refusal_for), in the order a clerk checks; both
    engines use these, and they are what the API answers and the database stores."""

    SCHEME_NOT_OFFERED = "scheme_not_offered"
    CONTRIBUTION_YEARS = "contribution_years"
    SPECIAL_NOT_OFFERED = "special_not_offered"
    SPECIAL_UNKNOWN_DISEASE = "special_unknown_disease"
    SPECIAL_NO_APPROVAL = "special_no_approval"
    SPECIAL_WRONG_HOSPITAL = "special_wrong_hospital"


@fast_init
@dataclass(frozen=True)
class Refusal:
    code: RefusalCode
    reason: Text


@fast_init
@dataclass(frozen=True)
class LineResult:
    """One bill line's parts (reference §1a): amount = over_limit + full_self_pay +
    first_self_pay + eligible. Over-limit and full self-pay are whole fen; the first
    self-pay and the eligible part are exact decimals."""

    amount: Decimal
    over_limit: Decimal  # 超限价自费: (unit price − cap) × quantity, half-up to the fen
    full_self_pay: Decimal  # 全自费: outside the catalogues, its restriction, or the insurance
    first_self_pay: Decimal  # 先行自付: the ratio's part of what is within the cap
    eligible: Decimal  # 符合范围
    ratio: Decimal | None = None  # the first self-pay ratio applied, for an eligible line
    cap: Decimal | None = None  # the price cap applied
    restricted: bool = False  # fell outside its payment restriction


@fast_init
@dataclass(frozen=True)
class EncounterResult:
    encounter_id: str
    scheme: str
    route: Route
    total: Decimal
    eligible: Decimal  # exact (a class B line's 90% may have a third decimal)
    threshold: Decimal  # the threshold charged by this encounter (exact)
    basic: Decimal
    assistance: Decimal
    institution: Decimal
    personal: Decimal
    refused: Refusal | None
    steps: tuple[Step, ...]
    lines: tuple[LineResult, ...] = ()  # in the order of the bill

    # The sums over the lines are kept on the (frozen) result once made: the record and
    # the answer each show them, and the balanced first self-pay is made of them.
    @property
    def over_limit(self) -> Decimal:
        """Over-limit self-pay of all lines (whole fen)."""
        kept: Decimal | None = self.__dict__.get("_over_limit")
        if kept is None:
            kept = self.__dict__["_over_limit"] = sum((ln.over_limit for ln in self.lines), ZERO)
        return kept

    @property
    def self_pay(self) -> Decimal:
        """Full self-pay of all lines (whole fen): outside the catalogues or a restriction,
        or the whole bill when it is refused or out of scope (less its over-limit part)."""
        kept: Decimal | None = self.__dict__.get("_self_pay")
        if kept is None:
            kept = self.__dict__["_self_pay"] = sum((ln.full_self_pay for ln in self.lines), ZERO)
        return kept

    @property
    def first_self_pay(self) -> Decimal:
        """First self-pay of all lines, exact."""
        return sum((ln.first_self_pay for ln in self.lines), ZERO)

    @property
    def first_self_pay_balanced(self) -> Decimal:
        """First self-pay to the fen such that over-limit + full self-pay + this + the
        eligible cost rounded add up to the total exactly (the national interface's
        medfee_sumamt); it differs from the rounded exact sum by a fen at most."""
        return self.total - self.over_limit - self.self_pay - round_fen(self.eligible)

    @property
    def personal_on_eligible(self) -> Decimal:
        """The part of eligible cost left to the person: the serious-illness base."""
        return self.eligible - self.basic - self.assistance - self.institution

    @property
    def fund(self) -> Decimal:
        return self.basic + self.assistance

    def _yuan(self, amount: Decimal) -> str:
        """fmt_yuan, made once per amount for the summary's two languages."""
        shown: dict[Decimal, str] | None = self.__dict__.get("_shown")
        if shown is None:
            shown = self.__dict__["_shown"] = {}
        text = shown.get(amount)
        if text is None:
            text = shown[amount] = fmt_yuan(amount)
        return text

    def summary(self, lang: str = "en") -> str:
        """A few plain sentences for the insured person or a parent."""
        y = self._yuan
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
