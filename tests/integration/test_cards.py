"""Cards: ordered when the premium is paid and due 20 working days later in the region's
calendar; issued; reported lost (settlement refuses it); replaced by a new number with the
history kept; the overdue list; who may see and do what. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.auth import account, clerk
from integration.collection_world import (
    OTHER,
    REGION,
    YEAR,
    accounts_by_person,
    add_regions,
    bank_file,
    enrolled,
)
from integration.conftest import FakeClock
from integration.world import catalogue
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Role
from yibao.domain.model import Scheme
from yibao.domain.registry import Institution, InstitutionKind
from yibao.service.access import OPERATOR
from yibao.service.services import Services

CLINIC = {"X-Institution": "C1"}


def pay(
    services: Services, clock: FakeClock, person_id: str, paid_on: date, year: int = YEAR
) -> dict[str, Any]:
    """The person's premium collected by the bank on `paid_on` (the accounts opened and
    the file imported that day); their card as ordered."""
    clock.today = paid_on
    services.collection.open_accounts(OPERATOR, REGION, year)
    name = services.enrolment.person(OPERATOR, person_id)["name"]
    number = accounts_by_person(services, REGION, year)[name]
    r = services.collection.import_bank_file(
        OPERATOR, f"{person_id}.csv", bank_file((number, "400.00", paid_on.isoformat(), "success"))
    )
    assert r["counts"]["paid"] == 1, r
    [card] = services.cards.cards_of(OPERATOR, person_id)
    return card


def settle(client: TestClient, card: str, day: str = "2027-01-05") -> Any:
    bill = {
        "card_number": card,
        "kind": "outpatient",
        "date": day,
        "lines": [{"code": "TEST-A", "quantity": "1", "unit_price": "100.00"}],
    }
    return client.post("/v1/settlements", json=bill, headers=CLINIC)


@pytest.fixture
def region(engine: Engine) -> None:
    add_regions(engine)
    with UnitOfWork(engine) as uow:
        uow.registry.add_institution(
            Institution("C1", REGION, "clinic", 1, InstitutionKind.CLINIC, True)
        )
        uow.registry.add_catalogue_items(REGION, catalogue())
        uow.commit()


# --- due dates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "paid_on", "due_on"),
    [
        # Tuesday; Mid-Autumn and National Day rest, Sun 20 Sep and Sat 10 Oct are worked.
        (2027, date(2026, 9, 15), date(2026, 10, 19)),
        # A Friday: counting starts on Monday.
        (2027, date(2026, 10, 16), date(2026, 11, 13)),
        # Across the 2026 Spring Festival (15-23 Feb) with its make-up Saturdays 14 and 28 Feb.
        (2026, date(2026, 2, 6), date(2026, 3, 12)),
        # Across New Year into 2027's (provisional) calendar: 1 Jan 2027 rests.
        (2027, date(2026, 12, 18), date(2027, 1, 18)),
    ],
)
def test_the_card_is_due_twenty_working_days_after_payment(
    services: Services,
    clock: FakeClock,
    region: None,
    year: int,
    paid_on: date,
    due_on: date,
) -> None:
    person = enrolled(services, clock, 1, year=year)
    card = pay(services, clock, person, paid_on, year)
    assert card["person_id"] == person
    assert (card["status"], card["ordered_on"], card["due_on"]) == (
        "ordered",
        paid_on.isoformat(),
        due_on.isoformat(),
    )


def test_a_person_with_a_card_gets_no_second_one(
    engine: Engine, services: Services, clock: FakeClock, region: None
) -> None:
    # Enrolled for 2026 and paid: a card. Enrolled again for 2027 and paid: the same card.
    person = enrolled(services, clock, 1, year=2026)
    first = pay(services, clock, person, date(2025, 11, 3), 2026)
    clock.today = date(2026, 10, 15)
    services.enrolment.enrol(OPERATOR, person, YEAR, Scheme.RESIDENT)
    services.collection.open_accounts(OPERATOR, REGION, YEAR)
    number = accounts_by_person(services)["person 1"]
    clock.today = date(2026, 10, 20)
    r = services.collection.import_bank_file(
        OPERATOR, "again.csv", bank_file((number, "400.00", "2026-10-20", "success"))
    )
    [line] = services.collection.bank_import(OPERATOR, r["id"])["report"]
    assert line["outcome"] == "paid"
    assert line["message"].endswith("the person has a card")
    assert [c["number"] for c in services.cards.cards_of(OPERATOR, person)] == [first["number"]]


# --- issue, loss, replacement ----------------------------------------------------------


def test_issue_then_loss_refuses_settlement(
    client: TestClient, services: Services, clock: FakeClock, region: None
) -> None:
    person = enrolled(services, clock, 1)
    card = pay(services, clock, person, date(2026, 10, 20))
    number = card["number"]
    staff = clerk(services)

    not_yet = settle(client, number)
    assert (not_yet.status_code, not_yet.json()["code"]) == (422, "card_not_issued")

    clock.today = date(2026, 11, 16)
    issued = client.post(f"/v1/cards/{number}/issue", headers=staff)
    assert issued.status_code == 200, issued.text
    assert (issued.json()["status"], issued.json()["issued_on"]) == ("active", "2026-11-16")
    twice = client.post(f"/v1/cards/{number}/issue", headers=staff)
    assert (twice.status_code, twice.json()["code"]) == (409, "card_not_ordered")

    assert settle(client, number).status_code == 201

    holder = account(services, Role.INSURED, person_id=person)
    clock.today = date(2027, 1, 8)
    lost = client.post(f"/v1/cards/{number}/loss", headers=holder)
    assert lost.status_code == 200, lost.text
    assert (lost.json()["status"], lost.json()["lost_on"]) == ("lost", "2027-01-08")
    refused = settle(client, number, "2027-01-09")
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "card_lost"
    assert "manual reimbursement" in refused.json()["message"]
    again = client.post(f"/v1/cards/{number}/loss", headers=holder)
    assert (again.status_code, again.json()["code"]) == (409, "card_not_active")

    with services.collection.uow() as uow:
        actions = [e["action"] for e in uow.audit.entries(object_type="card", object_id=number)]
    assert actions == ["card.loss", "card.issue", "card.order"]


def test_replacement_orders_a_new_number_and_keeps_the_history(
    client: TestClient, services: Services, clock: FakeClock, region: None
) -> None:
    person = enrolled(services, clock, 1, year=2026)
    old = pay(services, clock, person, date(2025, 11, 3), 2026)["number"]
    staff = clerk(services)
    assert client.post(f"/v1/cards/{old}/issue", headers=staff).status_code == 200
    early = client.post(f"/v1/cards/{old}/replacement", headers=staff)
    assert (early.status_code, early.json()["code"]) == (409, "card_not_lost")
    assert client.post(f"/v1/cards/{old}/loss", headers=staff).status_code == 200

    # Tuesday 22 Sep 2026: 23-24, 28-30 Sep, 8-9 Oct, Sat 10 Oct, 12-16, 19-23, 26-27 Oct.
    clock.today = date(2026, 9, 22)
    answer = client.post(f"/v1/cards/{old}/replacement", headers=staff)
    assert answer.status_code == 200, answer.text
    new = answer.json()["new"]
    assert new["number"] != old
    assert (new["status"], new["ordered_on"], new["due_on"], new["replaces"]) == (
        "ordered",
        "2026-09-22",
        "2026-10-27",
        old,
    )
    assert answer.json()["old"]["status"] == "replaced"
    assert answer.json()["old"]["replaced_by"] == new["number"]

    holder = account(services, Role.INSURED, person_id=person)
    history = client.get(f"/v1/persons/{person}/cards", headers=holder)
    assert history.status_code == 200, history.text
    assert [(c["number"], c["status"]) for c in history.json()] == [
        (old, "replaced"),
        (new["number"], "ordered"),
    ]
    assert history.json()[0]["lost_on"] is not None

    replaced = settle(client, old, "2026-09-23")
    assert replaced.json()["code"] == "card_replaced"
    assert new["number"] in replaced.json()["message"]
    twice = client.post(f"/v1/cards/{old}/replacement", headers=staff)
    assert (twice.status_code, twice.json()["code"]) == (409, "card_not_lost")
    assert client.post(f"/v1/cards/{new['number']}/issue", headers=staff).status_code == 200
    assert settle(client, new["number"], "2026-09-23").status_code == 201


# --- who may ---------------------------------------------------------------------------


def test_a_member_reports_only_their_own_or_their_childs_card_lost(
    engine: Engine, client: TestClient, services: Services, clock: FakeClock, region: None
) -> None:
    child = enrolled(services, clock, 1, birth=date(2015, 5, 5))
    parent = enrolled(services, clock, 2)
    stranger = enrolled(services, clock, 3)
    number = pay(services, clock, child, date(2026, 10, 20))["number"]
    assert client.post(f"/v1/cards/{number}/issue", headers=clerk(services)).status_code == 200
    with UnitOfWork(engine) as uow:
        uow.registry.add_guardian(child, parent)
        uow.commit()

    other = account(services, Role.INSURED, person_id=stranger)
    answer = client.post(f"/v1/cards/{number}/loss", headers=other)
    assert (answer.status_code, answer.json()["code"]) == (404, "unknown_card")
    assert client.get(f"/v1/persons/{child}/cards", headers=other).status_code == 404
    for role, headers in (
        ("school", account(services, Role.SCHOOL, school_id="S1")),
        ("approver", account(services, Role.APPROVER, region=REGION)),
        ("institution", CLINIC),
    ):
        refused = client.post(f"/v1/cards/{number}/loss", headers=headers)
        assert refused.status_code == 403, (role, refused.text)
    assert client.post(f"/v1/cards/{number}/issue", headers=other).status_code == 403
    assert client.post("/v1/cards/NO-SUCH/loss", headers=clerk(services)).status_code == 404
    assert (
        client.post(f"/v1/cards/{number}/loss", headers=clerk(services, OTHER)).status_code == 404
    )
    assert services.cards.cards_of(OPERATOR, child)[0]["status"] == "active"

    guardian = account(services, Role.GUARDIAN, person_id=parent)
    assert client.get(f"/v1/persons/{child}/cards", headers=guardian).status_code == 200
    lost = client.post(f"/v1/cards/{number}/loss", headers=guardian)
    assert lost.status_code == 200, lost.text
    assert lost.json()["status"] == "lost"


def test_cards_of_a_person_are_for_staff_of_the_region_the_holder_and_guardians(
    client: TestClient, services: Services, clock: FakeClock, region: None
) -> None:
    person = enrolled(services, clock, 1)
    pay(services, clock, person, date(2026, 10, 20))
    allowed = {
        "clerk": clerk(services),
        "approver": account(services, Role.APPROVER, region=REGION),
        "holder": account(services, Role.INSURED, person_id=person),
    }
    for who, headers in allowed.items():
        answer = client.get(f"/v1/persons/{person}/cards", headers=headers)
        assert answer.status_code == 200, (who, answer.text)
        assert len(answer.json()) == 1
    assert (
        client.get(f"/v1/persons/{person}/cards", headers=clerk(services, OTHER)).status_code == 404
    )
    assert client.get(f"/v1/persons/{person}/cards", headers=CLINIC).status_code == 403
    school = account(services, Role.SCHOOL, school_id="S1")
    assert client.get(f"/v1/persons/{person}/cards", headers=school).status_code == 403


# --- overdue ---------------------------------------------------------------------------


def test_overdue_cards_with_the_clock_moved_forward(
    client: TestClient, services: Services, clock: FakeClock, region: None
) -> None:
    persons = [enrolled(services, clock, seq) for seq in (1, 2, 3)]
    first = pay(services, clock, persons[0], date(2026, 9, 15))  # due 2026-10-19
    second = pay(services, clock, persons[1], date(2026, 10, 16))  # due 2026-11-13
    third = pay(services, clock, persons[2], date(2026, 10, 20))  # due 2026-11-17
    staff = clerk(services)
    assert client.post(f"/v1/cards/{third['number']}/issue", headers=staff).status_code == 200

    def overdue(today: date, headers: dict[str, str] = staff) -> Any:
        clock.today = today
        return client.get("/v1/cards/overdue", params={"region": REGION}, headers=headers)

    assert overdue(date(2026, 10, 19)).json()["cards"] == []  # due today is not overdue
    answer = overdue(date(2026, 11, 13))
    assert answer.status_code == 200, answer.text
    assert [(c["number"], c["days_overdue"]) for c in answer.json()["cards"]] == [
        (first["number"], 25)
    ]
    later = overdue(date(2026, 11, 20)).json()["cards"]
    assert [(c["number"], c["due_on"], c["days_overdue"]) for c in later] == [
        (first["number"], "2026-10-19", 32),
        (second["number"], "2026-11-13", 7),
    ]
    assert later[0]["name"] == "person 1"

    approver = account(services, Role.APPROVER, region=REGION)
    assert len(overdue(date(2026, 11, 20), approver).json()["cards"]) == 2
    assert overdue(date(2026, 11, 20), clerk(services, OTHER)).status_code == 403
    school = account(services, Role.SCHOOL, school_id="S1")
    assert overdue(date(2026, 11, 20), school).status_code == 403
    clock.today = date(2026, 11, 20)
    elsewhere = client.get("/v1/cards/overdue", params={"region": OTHER}, headers=staff)
    assert elsewhere.status_code == 403  # a sample-city clerk
    assert services.cards.overdue_cards(OPERATOR, OTHER)["cards"] == []
