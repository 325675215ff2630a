"""Settle one encounter against the year so far, or a whole year in date order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from decimal import Decimal

from yibao.domain.accumulators import YearAccumulators, done
from yibao.domain.conditions import OTHER_DIAGNOSIS, Facts
from yibao.domain.engine.benefits import (
    Benefit,
    fixed_sum_benefit,
    inpatient_like,
    outpatient,
    pilot,
    pilot_disease,
)
from yibao.domain.engine.facts import encounter_facts
from yibao.domain.engine.lines import all_self_paid
from yibao.domain.engine.results import EncounterResult, Route, YearResult
from yibao.domain.engine.rules import fixed_sum
from yibao.domain.engine.scope import (
    Place,
    eligible_cost,
    out_of_scope,
    place_class,
    place_of,
    refusal_for,
)
from yibao.domain.engine.serious_illness import serious_illness
from yibao.domain.explain import Step, new_step
from yibao.domain.model import (
    EMERGENCY,
    INPATIENT,
    LEVELS,
    OUTPATIENT,
    PHARMACY,
    SPECIAL_OUTPATIENT,
    Encounter,
    Line,
    Person,
)
from yibao.domain.money import FEN, ONE, ZERO, fmt_yuan, quantize, round_fen
from yibao.domain.parameters import RegionPolicy


class InputError(ValueError):
    """A bill the engine cannot settle as given (not a refusal: the input itself is wrong)."""


def outside_the_year(policy: RegionPolicy, year: int, day: date) -> str | None:
    """Why a bill of `day` is not one of the region's insurance year `year`, or None."""
    first, last = policy.year_span(year)
    if first <= day <= last:
        return None
    if policy.year_start.calendar:
        return f"{day.isoformat()} is outside the year {year}"
    return (
        f"{day.isoformat()} is outside the year {year} ({first.isoformat()} to {last.isoformat()})"
    )


def _check(policy: RegionPolicy, person: Person, enc: Encounter, acc: YearAccumulators) -> None:
    # The messages name the encounter (and the line): made only for a bill that fails.
    first, last = policy.year_span(acc.year)
    if not first <= enc.date <= last:  # outside_the_year, its words made only when it is
        outside = outside_the_year(policy, acc.year, enc.date)
        raise InputError(f"encounter {enc.id}: date {outside}")
    if enc.hospital.level not in LEVELS:
        raise InputError(
            f"encounter {enc.id}: hospital level {enc.hospital.level} is not one of 0, 1, 2, 3"
        )
    no = 0
    for line in enc.lines:
        no += 1
        # A catalogue item as most bills bring it, found sound at once: quantity and unit
        # price, no ratio of its own, nothing negative, the amount their product to the
        # fen. Anything else is _line_problem's to judge (and name).
        quantity, price, cap = line.quantity, line.unit_price, line.cap
        if (
            quantity is not None
            and price is not None
            and line.ratio is None
            and not line.amount < ZERO
            and not quantity < ZERO
            and not price < ZERO
            and (cap is None or not cap < ZERO)
            and line.amount == quantize(quantity * price, FEN)
        ):
            continue
        problem = _line_problem(line)
        if problem is not None:
            raise InputError(f"encounter {enc.id} line {no}: {problem}")
    if enc.kind is SPECIAL_OUTPATIENT and not enc.disease:
        raise InputError(f"encounter {enc.id}: a special_outpatient encounter needs its disease")


def _line_problem(line: Line) -> str | None:
    """What is wrong with a line as given, or None."""
    quantity, price, cap = line.quantity, line.unit_price, line.cap
    if line.amount < ZERO:
        return "the amount is negative"
    # Each named only when one is negative (a tuple of the three cost every bill ~1,000).
    if (
        (quantity is not None and quantity < ZERO)
        or (price is not None and price < ZERO)
        or (cap is not None and cap < ZERO)
    ):
        for name, value in (("quantity", quantity), ("unit_price", price), ("cap", cap)):
            if value is not None and value < ZERO:
                return f"the {name} is negative"
    if line.ratio is not None and not ZERO <= line.ratio <= ONE:
        return f"the ratio {line.ratio} is not between 0 and 1"
    if (quantity is None) != (price is None):
        return "a quantity needs a unit price, and a unit price a quantity"
    if cap is not None and price is None:
        return "a price cap needs a quantity and a unit price"
    if quantity is not None and price is not None and line.amount != round_fen(quantity * price):
        return (
            f"the amount {line.amount} is not quantity × unit price "
            f"({quantity} × {price}) to the fen"
        )
    return None


def settle_encounter(
    policy: RegionPolicy, person: Person, enc: Encounter, acc: YearAccumulators
) -> tuple[EncounterResult, YearAccumulators]:
    """Settle one bill. Returns its split and the year's accumulators after it."""
    _check(policy, person, enc, acc)
    acc = acc.draft()  # the bill's own copy, changed in place (accumulators.Draft); done()
    how, filed_step = place_class(person, enc)
    facts, group = _facts(policy, person, enc, how)
    refusal = refusal_for(policy, person, enc, facts)
    if refusal is not None:
        reason, step = refusal
        result = _all_personal(person, enc, Route.REFUSED, [step])
        return replace(result, refused=reason), done(_after(acc, result, group))
    scope_step = out_of_scope(enc)
    if scope_step is not None:
        result = _all_personal(person, enc, Route.OUT_OF_SCOPE, [scope_step])
        return result, done(_after(acc, result, group))

    eligible, lines, steps = eligible_cost(policy, enc, facts)
    place, place_step = place_of(policy, person, enc, how, facts)
    if filed_step is not None:
        steps.append(filed_step)
    if place_step is not None:
        steps.append(place_step)
    route, benefit, acc = _benefit(policy, person, enc, eligible, acc, place, facts)
    steps.extend(benefit.steps)
    total = enc.total
    basic, assistance, institution = benefit.basic, benefit.assistance, benefit.institution
    # total − basic − assistance − institution; a part that is the engine's ZERO is not
    # subtracted: x − ZERO is x itself for an amount (its exponent at most 0).
    personal = total - basic
    if assistance is not ZERO:
        personal -= assistance
    if institution is not ZERO:
        personal -= institution
    # Conservation holds by construction; a negative personal part would mean a rate
    # above 1 slipped past the loader, so fail loudly rather than pay it.
    if personal < ZERO:
        raise AssertionError(f"encounter {enc.id}: negative personal payment {personal}")
    words = {"fund": fmt_yuan(basic + assistance), "institution": fmt_yuan(institution)}
    steps.append(new_step(Step, ("personal", personal, None, "", total, words)))
    # Positional, in the fields' order (keywords cost some 450 instructions each).
    result = EncounterResult(
        enc.id, str(person.scheme), route, total, eligible, benefit.threshold, basic,
        assistance, institution, personal, None, tuple(steps), lines,
    )  # fmt: skip
    # result.personal_on_eligible, its parts that are the engine's ZERO not subtracted
    on_eligible = eligible - basic
    if assistance is not ZERO:
        on_eligible -= assistance
    if institution is not ZERO:
        on_eligible -= institution
    return result, done(_after(acc, result, group, on_eligible))


def _facts(
    policy: RegionPolicy, person: Person, enc: Encounter, how: str
) -> tuple[Facts | None, str | None]:
    """The facts a decision table's rows are checked against, and the bill's diagnosis
    group. A region without a table reads none (its values are the day's alone)."""
    if policy.decision_tables:
        facts = encounter_facts(policy, person, enc, how)
        return facts, facts.diagnosis
    return None, policy.diagnosis_group(enc.diagnosis)


def _benefit(
    policy: RegionPolicy,
    person: Person,
    enc: Encounter,
    eligible: Decimal,
    acc: YearAccumulators,
    place: Place,
    facts: Facts | None,
) -> tuple[Route, Benefit, YearAccumulators]:
    """Which rules settle the bill, and what they pay."""
    rules = policy.schemes[person.scheme]
    kind = enc.kind
    inpatient = kind is INPATIENT
    disease = pilot_disease(policy.pilot, person, enc, facts) if inpatient else None
    fixed = fixed_sum(rules, enc, facts) if rules.fixed_sum is not None else None
    if fixed is not None:
        return Route.FIXED_SUM, fixed_sum_benefit(rules, fixed, eligible), acc
    if kind is OUTPATIENT or kind is EMERGENCY or kind is PHARMACY:  # kind.outpatient_like
        benefit, acc = outpatient(rules, enc, eligible, acc, place, facts)
        return Route.OUTPATIENT, benefit, acc
    if disease is not None and policy.pilot is not None:
        benefit = pilot(policy.pilot, rules, disease, person, enc.date, eligible, place, facts)
        return Route.PILOT, benefit, acc
    if enc.kind is SPECIAL_OUTPATIENT:
        special = rules.special_outpatient
        assert special is not None  # refusal_for refuses a scheme without special diseases
        threshold = special.threshold.at(enc.date, facts)
        benefit, acc = inpatient_like(
            rules, person, enc, eligible, acc, place, threshold, "special_outpatient",
            enc.disease, facts,
        )  # fmt: skip
        return Route.SPECIAL_OUTPATIENT, benefit, acc
    threshold = rules.inpatient.threshold.at(enc.date, facts)
    benefit, acc = inpatient_like(
        rules, person, enc, eligible, acc, place, threshold, "inpatient", enc.diagnosis, facts
    )
    return Route.INPATIENT, benefit, acc


def _all_personal(
    person: Person, enc: Encounter, route: Route, steps: list[Step]
) -> EncounterResult:
    return EncounterResult(
        encounter_id=enc.id,
        scheme=str(person.scheme),
        route=route,
        total=enc.total,
        eligible=ZERO,
        threshold=ZERO,
        basic=ZERO,
        assistance=ZERO,
        institution=ZERO,
        personal=enc.total,
        refused=None,
        steps=tuple(steps),
        lines=all_self_paid(enc),
    )


def _after(
    acc: YearAccumulators,
    result: EncounterResult,
    group: str | None,
    on_eligible: Decimal | None = None,
) -> YearAccumulators:
    """The year after the bill. `on_eligible`: its personal_on_eligible, when the caller
    has it already."""
    if on_eligible is None:
        on_eligible = result.personal_on_eligible  # worked out once: three subtractions
    acc = acc.but(
        personal=acc.personal + result.personal,
        personal_on_eligible=acc.personal_on_eligible + on_eligible,
    )
    if group is not None and group != OTHER_DIAGNOSIS:
        acc = acc.with_amount("si_groups", group, on_eligible)
    return acc


def order_of_settlement(encounters: Iterable[Encounter]) -> list[Encounter]:
    """Date order; bills of the same date in the order given (a stable sort)."""
    return sorted(encounters, key=lambda e: e.date)


def settle_year(
    policy: RegionPolicy,
    person: Person,
    year: int,
    encounters: Iterable[Encounter],
    acc: YearAccumulators | None = None,
) -> tuple[YearResult, YearAccumulators]:
    """Settle a person's year: every encounter in date order, then the serious-illness layer."""
    acc = acc if acc is not None else YearAccumulators(year=year)
    results = []
    for enc in order_of_settlement(encounters):
        result, acc = settle_encounter(policy, person, enc, acc)
        results.append(result)
    layer = serious_illness(policy, person, acc)
    return YearResult(tuple(results), layer, acc.personal - layer.payment), acc
