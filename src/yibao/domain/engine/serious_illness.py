"""The residents' serious-illness layer, settled once a year on the year's personal
payment on eligible cost (reference §5)."""

from __future__ import annotations

from datetime import date

from yibao.domain.accumulators import YearAccumulators
from yibao.domain.engine.results import SeriousIllnessResult
from yibao.domain.explain import SCHEME_ZH, Step
from yibao.domain.model import Person
from yibao.domain.money import ZERO, fmt_rate, fmt_yuan, round_fen
from yibao.domain.parameters import RegionPolicy


def serious_illness(
    policy: RegionPolicy, person: Person, acc: YearAccumulators
) -> SeriousIllnessResult:
    # Settled once a year: the parameters in force at the year's end apply.
    day = date(acc.year, 12, 31)
    base = acc.personal_on_eligible
    rules = policy.serious_illness
    if rules is None or person.scheme not in rules.schemes.at(day).value:
        step = Step(
            "si_not_covered",
            ZERO,
            args={
                "scheme": person.scheme.value,
                "scheme_zh": SCHEME_ZH.get(person.scheme, person.scheme),
            },
        )
        return SeriousIllnessResult(base, ZERO, (step,))
    steps = [Step("si_base", base)]
    scale = rules.scale.at(day)
    computed = ZERO
    for lower, upper, rate in scale.value.slices(ZERO, base):
        if rate == ZERO:
            continue  # the deductible: nothing moves
        part = (upper - lower) * rate
        computed += part
        steps.append(
            Step(
                "si_bracket",
                part,
                ref=scale.ref,
                value=fmt_rate(rate),
                base=upper - lower,
                args={"lower": fmt_yuan(lower), "upper": fmt_yuan(upper)},
            )
        )
    top = rules.top_line.at(day)
    paid = min(computed, top.value)
    if paid < computed:
        steps.append(
            Step("si_top_line", paid, ref=top.ref, value=fmt_yuan(top.value), base=computed)
        )
    payment = round_fen(paid)
    steps.append(Step("si_total", payment))
    return SeriousIllnessResult(base, payment, tuple(steps))
