"""The residents' serious-illness layer, settled once a year on the year's personal
payment on eligible cost (reference §5), its deductible, brackets and top line chosen by
who the person is (a decision table on the category, say) and, for diagnosis groups the
region settles apart, by the group."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from yibao.domain.accumulators import YearAccumulators
from yibao.domain.conditions import OTHER_DIAGNOSIS
from yibao.domain.engine.facts import year_facts
from yibao.domain.engine.results import SeriousIllnessResult
from yibao.domain.explain import SCHEME_ZH, Step
from yibao.domain.model import Person
from yibao.domain.money import ZERO, fmt_rate, fmt_yuan, round_fen
from yibao.domain.parameters import RegionPolicy, SeriousIllnessRules


def _scheme_words(policy: RegionPolicy, person: Person) -> dict[str, str]:
    """The scheme's code and its names as the policy labels it."""
    scheme = person.scheme.value
    rules = policy.schemes.get(person.scheme)
    if rules is None:
        return {"scheme": scheme, "scheme_zh": SCHEME_ZH.get(scheme, scheme)}
    return {"scheme": scheme, "scheme_name": rules.label.en, "scheme_zh": rules.label.zh}


def serious_illness(
    policy: RegionPolicy, person: Person, acc: YearAccumulators
) -> SeriousIllnessResult:
    # Settled once a year: the parameters in force on the last day of the region's
    # insurance year apply (31 December where the year is the calendar year).
    day = policy.year_span(acc.year)[1]
    base = acc.personal_on_eligible
    rules = policy.serious_illness
    if rules is None or person.scheme not in rules.schemes.at(day, year_facts(person, day)).value:
        step = Step(
            "si_not_covered",
            ZERO,
            args=_scheme_words(policy, person),
        )
        return SeriousIllnessResult(base, ZERO, (step,))
    steps = [Step("si_base", base)]
    parts = _parts(rules, acc)
    payment = ZERO
    for group, amount in parts:
        if len(parts) > 1:
            steps.append(Step("si_group", ZERO, base=amount, args={"group": group}))
        payment += _layer(rules, person, day, group, amount, steps)
    steps.append(Step("si_total", payment))
    return SeriousIllnessResult(base, payment, tuple(steps))


def _parts(rules: SeriousIllnessRules, acc: YearAccumulators) -> list[tuple[str, Decimal]]:
    """The year's personal payment on eligible cost, split off for each diagnosis group
    settled apart; the rest as "other"."""
    parts = [(g, acc.si_groups.get(g, ZERO)) for g in sorted(rules.separate_groups)]
    parts = [(g, amount) for g, amount in parts if amount]
    rest = acc.personal_on_eligible - sum((amount for _, amount in parts), ZERO)
    return [(OTHER_DIAGNOSIS, rest), *parts]


def _layer(
    rules: SeriousIllnessRules,
    person: Person,
    day: date,
    group: str,
    base: Decimal,
    steps: list[Step],
) -> Decimal:
    """One scale on one base: its brackets (the deductible a bracket at 0%), its top line."""
    facts = year_facts(person, day, group)
    scale = rules.scale.at(day, facts)
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
    top = rules.top_line.at(day, facts)
    paid = computed if top.value is None else min(computed, top.value)
    if top.value is not None and paid < computed:
        steps.append(
            Step("si_top_line", paid, ref=top.ref, value=fmt_yuan(top.value), base=computed)
        )
    return round_fen(paid)
