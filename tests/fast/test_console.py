"""The staff console as use cases on the in-memory stores (no database): a scenario's year
settled by card, then the fund dashboard and the fund by month holding what the
settlements paid, a person found and corrected (before and after in the audit log), and
staff of another region seeing none of it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from fakes import FakeDatabase
from fast.stores import POLICY_PATH, TESTS, bill, policies
from integration.world import CODES, register
from yibao.adapters.scenario_files import load_scenario
from yibao.domain.access import Principal, Role
from yibao.domain.engine.settle import order_of_settlement
from yibao.domain.money import fmt, from_fen
from yibao.service.access import OPERATOR, Forbidden
from yibao.service.services import Services
from yibao.service.settlement import SettlementService

SAMPLE = TESTS / "scenarios" / "hc-class-b-and-rounding-with-points.yaml"


def settled_year() -> tuple[FakeDatabase, Services, str, int, str]:
    """The sample scenario's encounters settled by card: the database, the services, the
    region, the year and the person's id."""
    scenario = load_scenario(SAMPLE)
    db = FakeDatabase()
    with db.unit_of_work() as uow:
        who = register(uow, scenario, POLICY_PATH)  # type: ignore[arg-type]
        uow.commit()
    settlement = SettlementService(db.unit_of_work, policies())
    for enc in order_of_settlement(scenario.encounters):
        settlement.settle(bill(who.card_number, enc, CODES))
    clock = lambda: date(scenario.year, 12, 31)  # noqa: E731
    services = Services.build(db.unit_of_work, policies(), clock)
    return db, services, scenario.region, scenario.year, who.person_id


def test_the_dashboard_and_the_fund_by_month_hold_what_the_settlements_paid() -> None:
    db, services, region, year, person_id = settled_year()
    with db.unit_of_work() as uow:
        rows = uow.ledger.settlements_of(person_id, year)
    paid = {
        layer: sum(getattr(r, f"{layer}_fen") for r in rows) for layer in ("basic", "assistance")
    }
    board = services.console.dashboard(OPERATOR, region, year)
    assert board["years"] == [year]
    assert board["total"] == fmt(from_fen(paid["basic"] + paid["assistance"]))
    assert board["by_layer"]["basic"] == fmt(from_fen(paid["basic"]))
    months = {m["month"]: Decimal(m["amount"]) for m in board["by_month"]}
    assert len(months) == 12
    for month in {f"{r.encounter_date:%Y-%m}" for r in rows}:
        in_month = sum(
            r.basic_fen + r.assistance_fen for r in rows if f"{r.encounter_date:%Y-%m}" == month
        )
        assert months[month] == from_fen(in_month)
    fund = services.console.records.fund_months(OPERATOR, region, year)
    spent = sum(Decimal(m["spending"]) for m in fund["months"])
    assert spent == from_fen(paid["basic"] + paid["assistance"])


def test_a_person_is_found_corrected_and_hidden_from_another_regions_staff() -> None:
    db, services, region, year, person_id = settled_year()
    with db.unit_of_work() as uow:
        person = uow.registry.person(person_id)
    assert person is not None
    (found,) = services.console.search(OPERATOR, person.id_number)
    assert (found["id"], found["year"], found["enrolment_status"]) == (person_id, year, "active")
    assert found["card"]["status"] == "active"
    corrected = services.console.records.correct_person(
        OPERATOR, person_id, "改过的名字", "13900009999", True
    )
    assert (corrected["name"], corrected["phone"], corrected["assistance"]) == (
        "改过的名字",
        "13900009999",
        True,
    )
    assert [r["id"] for r in services.console.search(OPERATOR, "改过")] == [person_id]
    with db.unit_of_work() as uow:
        (entry,) = uow.audit.entries(object_type="person", object_id=person_id)
    assert (entry["action"], entry["before"]["name"], entry["after"]["name"]) == (
        "person.update",
        person.name,
        "改过的名字",
    )
    elsewhere = Principal("clerk-x", Role.CLERK, region="no-such-region")
    assert services.console.search(elsewhere, person.id_number) == []
    with pytest.raises(Forbidden):
        services.console.dashboard(elsewhere, region, year)
