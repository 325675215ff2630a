"""Card settlement and manual claims as use cases, on the in-memory stores (no database):
every scenario's bills and claims settle as the engine settles the scenario, the fund
ledger holds what the settlements paid, a retried key pays nothing again, and a refused
bill writes nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from fakes import FakeDatabase
from fast.stores import POLICY_PATH, TESTS, bill, claim, policies
from integration.world import CODES, Registered, register
from yibao.adapters.db.tables import settlements
from yibao.adapters.scenario_files import Scenario, load_scenario
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.engine import settle_year
from yibao.domain.engine.settle import order_of_settlement
from yibao.domain.money import fmt, from_fen
from yibao.domain.registry import CardStatus
from yibao.service import scenarios
from yibao.service.access import OPERATOR
from yibao.service.booking import SETTLEMENT_COLUMNS
from yibao.service.claims import ClaimsService
from yibao.service.errors import ServiceError
from yibao.service.settlement import SettlementService

ROOT = TESTS.parent
FILES = sorted(
    [
        *(ROOT / "examples").glob("*.yaml"),
        *(TESTS / "scenarios").glob("*.yaml"),
        *(TESTS / "regions" / "test-town-scenarios").glob("*.yaml"),
    ]
)
SAMPLE = TESTS / "scenarios" / "hc-class-b-and-rounding-with-points.yaml"


def registered(db: FakeDatabase, scenario: Scenario) -> Registered:
    with db.unit_of_work() as uow:
        who = register(uow, scenario, POLICY_PATH)  # type: ignore[arg-type]
        uow.commit()
    return who


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_scenarios_bills_and_claims_settle_as_the_engine_settles_its_year(path: Path) -> None:
    scenario = load_scenario(path)
    expected = {r.encounter_id: r for r in scenarios.run(scenario, policies()).encounters}
    db = FakeDatabase()
    who = registered(db, scenario)
    service = SettlementService(db.unit_of_work, policies())
    claims = ClaimsService(db.unit_of_work, policies())
    for enc in order_of_settlement(scenario.encounters):
        want = expected[enc.id]
        if enc.hospital.designated:
            status, got = service.settle(bill(who.card_number, enc, CODES))
            assert status == 201
        else:  # a non-designated place cannot settle by card: paid first, claimed back
            submitted = claims.submit(OPERATOR, claim(who.person_id, scenario.region, enc))
            got = claims.approve(OPERATOR, submitted["id"])["settlement"]
        assert (got["basic"], got["assistance"], got["institution"], got["personal"]) == (
            fmt(want.basic),
            fmt(want.assistance),
            fmt(want.institution),
            fmt(want.personal),
        ), enc.id
        assert (got["refused"] is None) == (want.refused is None)


def test_the_fund_ledger_holds_what_the_settlements_paid_to_the_fen() -> None:
    scenario = load_scenario(SAMPLE)
    db = FakeDatabase()
    who = registered(db, scenario)
    service = SettlementService(db.unit_of_work, policies())
    for enc in order_of_settlement(scenario.encounters):
        service.settle(bill(who.card_number, enc, CODES))
    with db.unit_of_work() as uow:
        rows = uow.ledger.settlements_of(who.person_id, scenario.year)
        assert [r.seq for r in rows] == list(range(1, len(scenario.encounters) + 1))
        for r in rows:
            assert r.basic_fen + r.assistance_fen + r.institution_fen + r.personal_fen == (
                r.total_fen
            )
        for layer in ("basic", "assistance"):
            paid = sum(getattr(r, f"{layer}_fen") for r in rows)
            assert uow.ledger.ledger_sum(layer=layer) == from_fen(paid)
        month = f"{rows[0].encounter_date:%Y-%m}"
        by_place = uow.ledger.statement(rows[0].institution_id, month)
        assert sum(r.fen for r in by_place) == sum(
            r.basic_fen + r.assistance_fen
            for r in rows
            if r.institution_id == rows[0].institution_id and f"{r.encounter_date:%Y-%m}" == month
        )
        policy = policies()(scenario.region)
        _, engine_year = settle_year(policy, scenario.person, scenario.year, scenario.encounters)
        assert uow.ledger.read_person_year(who.person_id, scenario.year) == engine_year


def test_a_retried_key_answers_the_first_settlement_and_pays_nothing_again() -> None:
    scenario = load_scenario(SAMPLE)
    db = FakeDatabase()
    who = registered(db, scenario)
    service = SettlementService(db.unit_of_work, policies())
    first_bill = bill(who.card_number, scenario.encounters[0], CODES)
    first = service.settle(first_bill, "key-1")
    again = service.settle(first_bill, "key-1")
    assert again == first
    with db.unit_of_work() as uow:
        assert len(uow.ledger.settlements_of(who.person_id, scenario.year)) == 1
    other = replace(first_bill, date=first_bill.date.replace(day=2))
    with pytest.raises(ServiceError) as refused:
        service.settle(other, "key-1")  # the same key for another bill
    assert refused.value.code == "idempotency_key_reused"


def test_a_refused_bill_writes_nothing_and_a_quote_stores_nothing() -> None:
    scenario = load_scenario(SAMPLE)
    db = FakeDatabase()
    who = registered(db, scenario)
    service = SettlementService(db.unit_of_work, policies())
    commits = db.commits
    unknown = replace(bill(who.card_number, scenario.encounters[0], CODES), card_number="NOPE")
    with pytest.raises(ServiceError) as refused:
        service.settle(unknown)
    assert refused.value.code == "unknown_card"
    quoted = service.quote(bill(who.card_number, scenario.encounters[0], CODES))
    assert quoted["id"] is None
    assert db.commits == commits
    with db.unit_of_work() as uow:
        assert uow.ledger.settlements_of(who.person_id, scenario.year) == []
        empty = YearAccumulators(year=scenario.year)
        assert uow.ledger.read_person_year(who.person_id, scenario.year) == empty


def test_a_card_that_is_lost_cannot_settle() -> None:
    scenario = load_scenario(SAMPLE)
    db = FakeDatabase()
    who = registered(db, scenario)
    with db.unit_of_work() as uow:
        uow.registry.set_card_status(who.card_number, CardStatus.LOST)
        uow.commit()
    service = SettlementService(db.unit_of_work, policies())
    with pytest.raises(ServiceError) as refused:
        service.settle(bill(who.card_number, scenario.encounters[0], CODES))
    assert refused.value.code == "card_lost"


def test_every_writer_writes_the_settlement_columns_of_one_list() -> None:
    """booking.SETTLEMENT_COLUMNS is the settlements table but its id, and what a settled
    bill stores (the batch load selects the same list)."""
    assert {c.name for c in settlements.columns} - {"id"} == set(SETTLEMENT_COLUMNS)
    scenario = load_scenario(SAMPLE)
    db = FakeDatabase()
    who = registered(db, scenario)
    SettlementService(db.unit_of_work, policies()).settle(
        bill(who.card_number, scenario.encounters[0], CODES)
    )
    with db.unit_of_work() as uow:
        (row,) = uow.ledger.settlements_of(who.person_id, scenario.year)
    assert tuple(vars(row)) == ("id", *SETTLEMENT_COLUMNS)


def test_a_bills_line_rows_are_its_own_and_a_quote_shows_its_own_parts() -> None:
    """A settlement's record completes its bill's line rows in place (with_parts) and its
    answer takes the exact parts' texts from them (line_views): the rows must be the
    bill's alone. A quote after a settlement of the same items shows its own parts."""
    scenario = load_scenario(SAMPLE)
    db = FakeDatabase()
    who = registered(db, scenario)
    service = SettlementService(db.unit_of_work, policies())
    first = bill(who.card_number, scenario.encounters[0], CODES)
    more = replace(first, lines=tuple(replace(ln, quantity=ln.quantity * 3) for ln in first.lines))
    quoted = service.quote(first)["lines"]
    settled = service.settle(more)[1]["lines"]
    assert [ln["eligible_exact"] for ln in settled] != [ln["eligible_exact"] for ln in quoted]
    assert service.quote(first)["lines"] == quoted
