"""What the engine returns: a split per encounter, the yearly layer, and their explanations."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from yibao.domain.explain import Step
from yibao.domain.frozen import fast_init
from yibao.domain.money import ZERO, fmt, fmt_yuan, round_fen
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

    def summary(self, lang: str = "en") -> str:
        """A few plain sentences for the insured person or a parent."""
        zh, en = self.summaries()
        return zh if lang == "zh" else en

    def summaries(self, shown: tuple[str, ...] | None = None) -> tuple[str, str]:
        """The summary in Chinese and in English, each amount put into words once for
        both (every answer shows the two). `shown`: the nine amounts as fmt shows them,
        in SHOWN's order, when the caller made them already (an answer shows them too:
        booking.split_amounts); the words show them as fmt_yuan does, which differs
        from fmt only by thousands separators, which only a text of seven characters or
        more may need (tests/fast/test_booking_split.py holds the two to the same words)."""
        if shown is None:
            shown = tuple(fmt(getattr(self, name)) for name in SHOWN)
        total, eligible, _, threshold, basic, assistance, institution, personal, _ = shown
        if len(total) > 6:
            total = fmt_yuan(self.total)
        if self.refused is not None:
            reason = self.refused.reason
            return (
                f"本次费用{total}元不予报销：{reason.zh}。您需支付全部{total}元。",
                f"This bill of {total} yuan is not covered: {reason.en}. You pay all {total} yuan.",
            )
        if len(eligible) > 6:
            eligible = fmt_yuan(self.eligible)
        # Each sentence added to the last (no lists to join); a part of the engine's own
        # zero (most bills' threshold, assistance, institution) without a comparison.
        zh = f"本次费用合计{total}元，其中医保范围内{eligible}元。"
        en = f"Your bill is {total} yuan; {eligible} of it is covered by the catalogues."
        amount = self.threshold
        if amount is not ZERO and amount > ZERO:
            if len(threshold) > 6:
                threshold = fmt_yuan(amount)
            zh += f"起付线{threshold}元由您支付。"
            en += f" You pay the threshold of {threshold}."
        amount = self.basic
        if amount is not ZERO and amount > ZERO:
            if len(basic) > 6:
                basic = fmt_yuan(amount)
            zh += f"基本医保基金支付{basic}元。"
            en += f" The insurance fund pays {basic}."
        amount = self.assistance
        if amount is not ZERO and amount > ZERO:
            if len(assistance) > 6:
                assistance = fmt_yuan(amount)
            zh += f"医疗救助支付{assistance}元。"
            en += f" Medical assistance pays {assistance}."
        amount = self.institution
        if amount is not ZERO and amount > ZERO:
            if len(institution) > 6:
                institution = fmt_yuan(amount)
            zh += f"医院承担{institution}元。"
            en += f" The hospital bears {institution}."
        if len(personal) > 6:
            personal = fmt_yuan(self.personal)
        return zh + f"您需支付{personal}元。", en + f" You pay {personal} yuan."


# A result's amounts in the order an answer and a record show them (booking.split_amounts:
# the nine texts and fen; summaries' `shown`).
SHOWN = (
    "total",
    "eligible",
    "self_pay",
    "threshold",
    "basic",
    "assistance",
    "institution",
    "personal",
    "over_limit",
)


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
