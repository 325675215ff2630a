"""Properties that hold for every person-year the generator can make, in both regions.

CI runs each with at least 2,000 examples (tests/conftest.py, profile "ci").
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from strategies import YEAR, years
from yibao.adapters.parameter_files import load_region
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.engine import EncounterResult, serious_illness, settle_encounter, settle_year
from yibao.domain.model import Encounter, Line, LineClass, Person
from yibao.domain.money import ZERO
from yibao.domain.parameters import TopLineOn

Case = tuple[str, Person, list[Encounter]]


def _fen_exact(amount: Decimal) -> bool:
    return amount == amount.quantize(Decimal("0.01"))


def _check_encounter(r: EncounterResult) -> None:
    parts = (r.basic, r.assistance, r.institution, r.personal)
    assert sum(parts) == r.total, f"{r.encounter_id} does not conserve: {parts} vs {r.total}"
    assert all(p >= ZERO for p in parts), f"{r.encounter_id}: a negative part {parts}"
    assert all(_fen_exact(p) for p in parts), (
        f"{r.encounter_id}: an amount finer than the fen {parts}"
    )
    assert r.eligible <= r.total
    if r.refused is not None:
        assert r.personal == r.total


@given(years())
def test_every_encounter_conserves_to_the_fen(case: Case) -> None:
    region, person, bills = case
    policy = load_region(region)
    result, acc = settle_year(policy, person, YEAR, bills)
    for r in result.encounters:
        _check_encounter(r)
    assert (
        result.personal
        == sum(r.personal for r in result.encounters) - result.serious_illness.payment
    )
    assert ZERO <= result.serious_illness.payment <= result.serious_illness.base.max(ZERO)
    assert _fen_exact(result.serious_illness.payment)
    # No yearly limit is ever exceeded.
    scheme = policy.schemes.get(person.scheme)
    if scheme is not None:
        limit = scheme.outpatient.fund_limit.at(bills[-1].date).value
        assert acc.outpatient_fund_paid <= limit
        top = scheme.inpatient.top_line
        line = top.at(bills[-1].date).value if top is not None else None
        if line is not None and line.on is TopLineOn.FUND_PAYMENT:
            assert acc.inpatient_fund_paid <= line.amount


@given(years())
def test_one_at_a_time_with_stored_accumulators_equals_the_whole_year(
    case: Case,
) -> None:
    region, person, bills = case
    policy = load_region(region)
    whole, whole_acc = settle_year(policy, person, YEAR, bills)

    stored = json.dumps(YearAccumulators(year=YEAR).to_dict())
    one_by_one = []
    for bill in bills:
        acc = YearAccumulators.from_dict(json.loads(stored))  # what a service reloads
        result, acc = settle_encounter(policy, person, bill, acc)
        one_by_one.append(result)
        stored = json.dumps(acc.to_dict())
    final = YearAccumulators.from_dict(json.loads(stored))

    assert final == whole_acc
    for a, b in zip(whole.encounters, one_by_one, strict=True):
        assert (a.basic, a.assistance, a.institution, a.personal, a.refused) == (
            b.basic,
            b.assistance,
            b.institution,
            b.personal,
            b.refused,
        )
        assert a.steps == b.steps
    assert serious_illness(policy, person, final).payment == whole.serious_illness.payment


@given(
    years(max_encounters=6),
    st.data(),
    st.integers(1, 30_000_000).map(lambda f: Decimal(f) / 100),
    st.sampled_from(list(LineClass)),
)
def test_more_cost_never_lowers_the_personal_payment_nor_raises_it_by_more_than_the_cost(
    case: Case,
    data: st.DataObject,
    extra: Decimal,
    cls: LineClass,
) -> None:
    region, person, bills = case
    policy = load_region(region)
    i = data.draw(st.integers(0, len(bills) - 1), label="encounter")
    acc = YearAccumulators(year=YEAR)
    for bill in bills[:i]:
        _, acc = settle_encounter(policy, person, bill, acc)
    bill = bills[i]
    grown = replace(bill, lines=(*bill.lines, Line(cls, extra)))
    before, _ = settle_encounter(policy, person, bill, acc)
    after, _ = settle_encounter(policy, person, grown, acc)
    assert before.personal <= after.personal <= before.personal + extra
