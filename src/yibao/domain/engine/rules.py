"""The rule kinds of real regions' policies (issue 14), each a small step with its
explanation: thresholds continued along a referral chain, points added to rates, fixed
sums, and yearly caps on the payments of one cause."""

from __future__ import annotations

from decimal import Decimal

from yibao.domain.accumulators import YearAccumulators
from yibao.domain.conditions import Facts
from yibao.domain.explain import CAUSE_ZH, Step
from yibao.domain.model import Encounter
from yibao.domain.money import ZERO, fmt_points, fmt_yuan, round_fen
from yibao.domain.parameters import Param, ReferralThreshold, SchemeRules, Threshold, points_on


def chain_rule(
    rules: SchemeRules, enc: Encounter, facts: Facts | None
) -> Param[ReferralThreshold] | None:
    """The referral-chain rule when thresholds are continued along a chain on this date."""
    rule = rules.inpatient.referral_threshold
    if rule is None:
        return None
    mode = rule.at(enc.date, facts)
    return mode if mode.value is ReferralThreshold.CONTINUED else None


def continued_threshold(
    enc: Encounter,
    mode: Param[ReferralThreshold],
    param: Param[Threshold],
    eligible: Decimal,
    acc: YearAccumulators,
) -> tuple[Decimal, Step]:
    """A stay referred from an earlier stay of its episode: referred up (a level as high or
    higher), it pays what its threshold exceeds the thresholds already charged in the
    episode; referred down, none."""
    # benefits.stay_threshold: only for a stay referred from a stay of a chain.
    assert enc.referred_from is not None
    assert enc.referred_from in acc.stays
    level = enc.hospital.level
    origin_level, before = acc.stays[enc.referred_from]
    args = {"origin": enc.referred_from, "before": fmt_yuan(before)}
    if level < origin_level:
        return ZERO, Step("threshold_waived", ZERO, ref=mode.ref, args=args)
    amount = param.value.amount.for_level(level)
    charged = min(eligible, max(amount - before, ZERO))
    step = Step(
        "threshold_continued",
        charged,
        ref=param.ref,
        value=fmt_yuan(amount),
        base=eligible,
        args=args,
    )
    return charged, step


def chain_before(enc: Encounter, acc: YearAccumulators) -> Decimal:
    """Thresholds charged in the episode before this stay (0 when it starts one)."""
    if enc.referred_from is None or enc.referred_from not in acc.stays:
        return ZERO
    return acc.stays[enc.referred_from][1]


def rate_points(
    rules: SchemeRules, enc: Encounter, facts: Facts | None, steps: list[Step]
) -> Decimal:
    """Percentage points the region adds to this bill's inpatient rates (for example by
    the person's category), explained when not 0."""
    points = rules.inpatient.rate_points
    if points is None:
        return ZERO
    found = points.at(enc.date, facts)
    if found.value != ZERO:
        steps.append(Step("rate_points", ZERO, ref=found.ref, value=fmt_points(found.value)))
    return found.value


def raised(rate: Decimal, points: Decimal) -> Decimal:
    """A rate raised by percentage points, never above 1 (made once: points_on)."""
    return points_on(rate, points)


def fixed_sum(rules: SchemeRules, enc: Encounter, facts: Facts | None) -> Param[Decimal] | None:
    """The fixed sum this bill is paid, if the region's table names such a bill."""
    if rules.fixed_sum is None:
        return None
    return rules.fixed_sum.find(enc.date, facts)


def pay_fixed_sum(found: Param[Decimal], eligible: Decimal) -> tuple[Decimal, Step]:
    """A fixed sum, never more than the eligible cost; no threshold, no limit counts it."""
    paid = round_fen(min(found.value, eligible))
    step = Step("fixed_sum", paid, ref=found.ref, value=fmt_yuan(found.value), base=eligible)
    return paid, step


def cause_capped(
    rules: SchemeRules,
    enc: Encounter,
    facts: Facts | None,
    basic: Decimal,
    acc: YearAccumulators,
    steps: list[Step],
) -> tuple[Decimal, YearAccumulators]:
    """The fund's payment under the yearly cap of its cause (what is paid still counts
    toward the ordinary limits: the caller grows those by the result)."""
    if rules.cause_cap is None:
        return basic, acc
    found = rules.cause_cap.find(enc.date, facts)
    if found is None:
        return basic, acc
    before = acc.cause_paid.get(enc.cause, ZERO)
    remaining = max(found.value - before, ZERO)
    paid = min(basic, remaining)
    if paid < basic:
        steps.append(
            Step(
                "cause_cap",
                paid,
                ref=found.ref,
                value=fmt_yuan(found.value),
                base=basic,
                args={
                    "cause": enc.cause,
                    "cause_zh": CAUSE_ZH.get(enc.cause, enc.cause),
                    "remaining": fmt_yuan(remaining),
                },
            )
        )
    return paid, acc.with_amount("cause_paid", enc.cause, paid)
