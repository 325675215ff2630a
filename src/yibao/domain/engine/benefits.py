"""The basic fund's rules: thresholds, outpatient rates and limits, inpatient segments and
top lines, the children's major-disease pilot. Each returns a `Benefit` and its steps."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from yibao.domain.accumulators import YearAccumulators
from yibao.domain.conditions import Facts
from yibao.domain.engine.rules import (
    cause_capped,
    chain_before,
    chain_rule,
    continued_threshold,
    pay_fixed_sum,
    raised,
    rate_points,
)
from yibao.domain.engine.scope import Place
from yibao.domain.explain import HOW_ZH, PER_ZH, Step, new_step
from yibao.domain.model import Encounter, Person
from yibao.domain.money import FEN, ZERO, fmt_policy_yuan, fmt_rate, fmt_yuan, quantize, round_fen
from yibao.domain.parameters import (
    Param,
    PilotDisease,
    PilotRules,
    RateSpec,
    SchemeRules,
    Threshold,
    ThresholdPer,
    TopLine,
    TopLineOn,
    points_off,
)

# Read once (model.py's kinds say why: an Enum class's attribute costs a hook's call).
_PER_YEAR = ThresholdPer.YEAR
_PER_STAY = ThresholdPer.STAY


class Benefit:
    """What a rule pays and its steps, filled in as the rule goes (a plain class with
    slots: made by every bill, at half a dataclass's cost)."""

    __slots__ = ("assistance", "basic", "institution", "steps", "threshold")

    def __init__(self) -> None:
        self.basic: Decimal = ZERO
        self.assistance: Decimal = ZERO
        self.institution: Decimal = ZERO
        self.threshold: Decimal = ZERO
        self.steps: list[Step] = []


def charge_threshold(
    param: Param[Threshold],
    level: int,
    counter: str,
    disease: str | None,
    eligible: Decimal,
    acc: YearAccumulators,
) -> tuple[Decimal, YearAccumulators, Step | None]:
    """Charge what is left of a threshold against this bill's eligible cost.

    A threshold per year keeps its yearly counter under `counter` ("outpatient"); one
    per year and disease under "counter:disease"; one per stay keeps none.
    """
    spec = param.value
    per = spec.per
    by_level = spec.amount
    amount = by_level.flat  # by_level.for_level(level), without its call
    if amount is None:
        amount = by_level.levels[level]
    # min(eligible, max(amount - before, ZERO)) without the two calls (each costs twice
    # the comparison): max gives the first of equals, min too.
    if per is _PER_STAY:
        before = ZERO
        left = amount - before
        if left < ZERO:
            left = ZERO
        charged = left if left < eligible else eligible
    else:
        key = counter if per is _PER_YEAR else f"{counter}:{disease or '-'}"
        before = acc.thresholds.get(key, ZERO)  # acc.threshold_charged(key)
        left = amount - before
        if left < ZERO:
            left = ZERO
        charged = left if left < eligible else eligible
        acc = acc.with_threshold(key, charged)
    if not amount:
        return ZERO, acc, None
    # Steps every bill makes are made as tuples: (rule, result, ref, value, base, args).
    args, value = _threshold_words(per, level, amount)
    args = args.copy()  # the step's own: it is handed out
    args["charged_before"] = fmt_yuan(before)
    return charged, acc, new_step(Step, ("threshold", charged, param.ref, value, eligible, args))


# A threshold's words by (how often, level, amount): a region has a handful of them.
_WORDS: dict[tuple[ThresholdPer, int, Decimal], tuple[dict[str, str], str]] = {}


def _threshold_words(per: ThresholdPer, level: int, amount: Decimal) -> tuple[dict[str, str], str]:
    """How often a threshold is charged, in words, with the charged before still to fill
    in; and the threshold's amount as shown. Kept by the amount's value, as
    fmt_policy_yuan keeps its text (equal amounts show alike; a zero is not shown)."""
    key = (per, level, amount)
    kept = _WORDS.get(key)
    if kept is None:
        words = {
            "per": f"per {str(per).replace('_', ' ')}, level {level}",
            "per_zh": f"{PER_ZH[str(per)]}，{level}级机构",
            "charged_before": "",
        }
        kept = (words, fmt_policy_yuan(amount))
        if len(_WORDS) >= 10_000:  # amounts from policies: never an unbounded memory
            _WORDS.clear()
        _WORDS[key] = kept
    return kept


def _reduce(paid: Decimal, place: Place, out: Benefit) -> Decimal:
    """A share off the payment as computed at local rules, caps included (reference §6)."""
    if place.share == ZERO:
        return paid
    reduced = paid * place.keep
    out.steps.append(
        Step(
            "reduction_share",
            reduced,
            value=fmt_rate(place.share),
            base=paid,
            args={"how": place.how, "how_zh": HOW_ZH.get(place.how, place.how)},
        )
    )
    return reduced


def _basic_step(rules: SchemeRules, basic: Decimal) -> Step:
    # The scheme's words are the same for every bill of the scheme: made once, kept on
    # its (frozen) rules, as a Ref keeps its citation; steps only read their args.
    args = rules.__dict__.get("_basic_args")
    if args is None:
        label = rules.label
        args = {"scheme": rules.scheme, "scheme_name": label.en, "scheme_zh": label.zh}
        rules.__dict__["_basic_args"] = args
    return new_step(Step, ("basic", basic, None, "", None, args))


def outpatient(
    rules: SchemeRules,
    enc: Encounter,
    eligible: Decimal,
    acc: YearAccumulators,
    place: Place,
    facts: Facts | None,
) -> tuple[Benefit, YearAccumulators]:
    """General outpatient, emergency and prescribed pharmacy: a yearly threshold, a rate,
    and a yearly limit on the fund's outpatient payments."""
    day, level = enc.date, enc.hospital.level
    o = rules.outpatient
    out = Benefit()
    steps = out.steps
    charged, acc, step = charge_threshold(
        o.threshold.at(day, facts), level, "outpatient", enc.diagnosis, eligible, acc
    )
    out.threshold = charged
    if step is not None:
        steps.append(step)
    pooled = eligible - charged
    rate = o.rate.at(day, facts)
    effective = rate.value.for_level(level)
    points = place.points
    if points is not ZERO:  # points_off(rate, ZERO) is the rate itself
        effective = points_off(effective, points)
    computed = pooled * effective
    if pooled > ZERO:
        steps.append(
            new_step(Step, ("outpatient_rate", computed, rate.ref, fmt_rate(effective), pooled, {}))
        )
    limit = o.fund_limit.at(day, facts)
    # max(..., ZERO) and min(computed, remaining) without their calls (the first of equals).
    remaining = limit.value - acc.outpatient_fund_paid
    if remaining < ZERO:
        remaining = ZERO
    if remaining < computed:
        paid = remaining
        steps.append(
            Step(
                "outpatient_limit",
                paid,
                ref=limit.ref,
                value=fmt_yuan(limit.value),
                base=computed,
                args={"remaining": fmt_yuan(remaining)},
            )
        )
    else:
        paid = computed
    basic = quantize(_reduce(paid, place, out) if place.share else paid, FEN)  # round_fen
    if rules.cause_cap is not None:
        basic, acc = cause_capped(rules, enc, facts, basic, acc, steps)
    out.basic = basic
    steps.append(_basic_step(rules, basic))
    acc = acc.but(outpatient_fund_paid=acc.outpatient_fund_paid + basic)
    return out, acc


def stay_threshold(
    rules: SchemeRules,
    enc: Encounter,
    eligible: Decimal,
    acc: YearAccumulators,
    threshold: Param[Threshold],
    counter: str,
    disease: str | None,
    facts: Facts | None,
) -> tuple[Decimal, YearAccumulators, Step | None]:
    """The threshold of a stay (or a special-disease visit): per stay, year or disease,
    or continued along the stay's referral chain where the region says so."""
    level = enc.hospital.level
    chain = chain_rule(rules, enc, facts) if counter == "inpatient" else None
    if chain is None or threshold.value.per is not ThresholdPer.STAY:
        return charge_threshold(threshold, level, counter, disease, eligible, acc)
    before = chain_before(enc, acc)
    # A stay referred from a bill not settled as a stay of a chain (refused, out of scope,
    # a fixed sum) starts its own episode.
    if enc.referred_from not in acc.stays:
        charged, acc, step = charge_threshold(threshold, level, counter, disease, eligible, acc)
    else:
        charged, step = continued_threshold(enc, chain, threshold, eligible, acc)
    return charged, acc.with_stay(enc.id, level, before + charged), step


def _segments(
    rate: Param[RateSpec],
    level: int,
    before: Decimal,
    paid_to: Decimal,
    place: Place,
    points: Decimal,
    out: Benefit,
) -> Decimal:
    """The rate on the slice [before, paid_to) of the year's pooled cost: flat, by level,
    or a marginal scale, raised by the bill's points and lowered by the place's."""
    spec = rate.value
    if spec.scale is not None:
        slices = spec.scale.slices(before, paid_to)
    else:
        assert spec.by_level is not None
        slices = [(before, paid_to, spec.by_level.for_level(level))] if paid_to > before else []
    computed = ZERO
    for lower, upper, bracket_rate in slices:
        effective = points_off(raised(bracket_rate, points), place.points)
        part = (upper - lower) * effective
        computed += part
        out.steps.append(
            Step(
                "segment",
                part,
                ref=rate.ref,
                value=fmt_rate(effective),
                base=upper - lower,
                args={"lower": fmt_yuan(lower), "upper": fmt_yuan(upper)},
            )
        )
    return computed


def _payment_top_line(
    top: Param[TopLine] | None, computed: Decimal, acc: YearAccumulators, out: Benefit
) -> Decimal:
    """A top line on the fund's payments: what is left of it for the year."""
    if top is None or top.value.on is not TopLineOn.FUND_PAYMENT:
        return computed
    remaining = max(top.value.amount - acc.inpatient_fund_paid, ZERO)
    paid = min(computed, remaining)
    if paid < computed:
        out.steps.append(
            Step(
                "top_line_payment",
                paid,
                ref=top.ref,
                value=fmt_yuan(top.value.amount),
                base=computed,
                args={"remaining": fmt_yuan(remaining)},
            )
        )
    return paid


def inpatient_like(
    rules: SchemeRules,
    person: Person,
    enc: Encounter,
    eligible: Decimal,
    acc: YearAccumulators,
    place: Place,
    threshold: Param[Threshold],
    counter: str,
    disease: str | None,
    facts: Facts | None,
) -> tuple[Benefit, YearAccumulators]:
    """An inpatient stay, or a special-disease visit settled like one: threshold, then the
    rate (flat, by level, or marginal segments of the year's accumulated pooled cost),
    then the top line on cost or on payments."""
    day, inp = enc.date, rules.inpatient
    out = Benefit()
    charged, acc, step = stay_threshold(
        rules, enc, eligible, acc, threshold, counter, disease, facts
    )
    out.threshold = charged
    if step:
        out.steps.append(step)
    before = acc.pooled_cost
    after = before + eligible - charged
    paid_to = after
    top = inp.top_line.at(day, facts) if inp.top_line is not None else None
    if top is not None and top.value.on is TopLineOn.POOLED_COST:
        paid_to = max(min(after, top.value.amount), before)
    rate_param = inp.rate_retired if person.retired and inp.rate_retired is not None else inp.rate
    points = rate_points(rules, enc, facts, out.steps)
    rate = rate_param.at(day, facts)
    computed = _segments(rate, enc.hospital.level, before, paid_to, place, points, out)
    if top is not None and after > paid_to:
        out.steps.append(
            Step(
                "top_line_cost", ZERO, ref=top.ref, value=fmt_yuan(top.value.amount),
                base=after - paid_to,
            )
        )  # fmt: skip
    paid = _payment_top_line(top, computed, acc, out)
    basic = round_fen(_reduce(paid, place, out))
    out.basic, acc = cause_capped(rules, enc, facts, basic, acc, out.steps)
    out.steps.append(_basic_step(rules, out.basic))
    acc = acc.but(pooled_cost=after, inpatient_fund_paid=acc.inpatient_fund_paid + out.basic)
    return out, acc


def fixed_sum_benefit(rules: SchemeRules, found: Param[Decimal], eligible: Decimal) -> Benefit:
    """A bill paid a fixed sum (for example a delivery): at most its eligible cost, no
    threshold, counted toward no limit or top line."""
    out = Benefit()
    out.basic, step = pay_fixed_sum(found, eligible)
    out.steps.extend([step, _basic_step(rules, out.basic)])
    return out


def pilot_disease(
    rules: PilotRules | None, person: Person, enc: Encounter, facts: Facts | None = None
) -> PilotDisease | None:
    """The pilot disease this stay is treated under, or None when the pilot does not apply."""
    if rules is None or enc.diagnosis is None or enc.diagnosis not in rules.diseases:
        return None
    day = enc.date
    if not (enc.hospital.pilot and enc.hospital.designated):
        return None
    if person.scheme not in rules.schemes.at(day, facts).value:
        return None
    if person.age_on(day) > rules.max_age.at(day, facts).value:
        return None
    return rules.diseases[enc.diagnosis]


def pilot(
    rules: PilotRules,
    scheme: SchemeRules,
    disease: PilotDisease,
    person: Person,
    day: date,
    eligible: Decimal,
    place: Place,
    facts: Facts | None = None,
) -> Benefit:
    """Children's major-disease pilot: fixed-cost payment on min(eligible, limited cost)."""
    out = Benefit()
    limited = disease.limited_cost.at(day, facts)
    base = min(eligible, limited.value)
    out.steps.append(
        Step(
            "pilot_base",
            base,
            ref=limited.ref,
            value=fmt_yuan(limited.value),
            base=eligible,
            args={"disease": disease.name.en, "disease_zh": disease.name.zh, "code": disease.code},
        )
    )
    rate = rules.rate.at(day, facts)
    effective = points_off(rate.value, place.points)
    computed = base * effective
    out.steps.append(
        Step("pilot_rate", computed, ref=rate.ref, value=fmt_rate(effective), base=base)
    )
    out.basic = round_fen(_reduce(computed, place, out))
    out.steps.append(_basic_step(scheme, out.basic))
    if person.assistance:
        share = rules.assistance_share.at(day, facts)
        out.assistance = round_fen(base * share.value)
        out.steps.append(
            Step(
                "pilot_assistance",
                out.assistance,
                ref=share.ref,
                value=fmt_rate(share.value),
                base=base,
            )
        )
    out.institution = round_fen(eligible - base)
    if out.institution > ZERO:
        out.steps.append(Step("pilot_institution", out.institution, ref=limited.ref, base=eligible))
    return out
