"""Enrolment at the agency: registering persons, the yearly window, premiums and their
exemption, household enrolment of children, and the premium summary."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.auth import account
from integration.conftest import FakeClock
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Role
from yibao.domain.ids import make_resident_id
from yibao.service.services import Services

CITY = "sample-city"
ADULT = make_resident_id("990100", date(1980, 4, 2), 11)  # odd sequence: male
POOR = make_resident_id("990100", date(1975, 8, 9), 24)
CHILD = make_resident_id("990100", date(2016, 6, 1), 32)
TEEN = make_resident_id("990100", date(2008, 12, 31), 41)  # 18 on 1 January 2027


@pytest.fixture
def clerk(engine: Engine, services: Services) -> dict[str, str]:
    with UnitOfWork(engine) as uow:
        uow.registry.add_region(CITY, "样本市", "Sample City", "990100")
        uow.registry.add_region("hill-county", "山县", "Hill County", "990200")
        uow.commit()
    return account(services, Role.CLERK, region=CITY)


def person(client: TestClient, clerk: dict[str, str], number: str, **extra: Any) -> Any:
    return client.post(
        "/v1/persons",
        headers=clerk,
        json={"id_number": number, "name": "张伟", "region": CITY, **extra},
    )


def test_a_person_is_registered_from_the_id_number(
    client: TestClient, clerk: dict[str, str]
) -> None:
    made = person(client, clerk, ADULT, phone="13800000001")
    assert made.status_code == 201, made.text
    assert made.json()["birth_date"] == "1980-04-02"
    assert made.json()["sex"] == "M"
    again = person(client, clerk, ADULT)
    assert again.status_code == 409
    assert again.json()["code"] == "person_exists"
    wrong = ADULT[:-1] + ("0" if ADULT[-1] != "0" else "1")
    refused = person(client, clerk, wrong)
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_id_number"
    assert refused.json()["details"]["field"] == "id_number"


def test_enrolment_inside_the_window_with_the_premium_split(
    client: TestClient, clerk: dict[str, str], clock: FakeClock
) -> None:
    ordinary = person(client, clerk, ADULT).json()["id"]
    exempt = person(client, clerk, POOR, assistance=True).json()["id"]
    made = client.post(
        "/v1/enrolments",
        headers=clerk,
        json={"person_id": ordinary, "year": 2027, "scheme": "resident"},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["status"], body["valid_from"], body["valid_to"]) == (
        "pending",
        "2027-01-01",
        "2027-12-31",
    )
    assert body["premium"] == {"personal": "400.00", "subsidy": "640.00", "assistance": "0.00"}
    poor = client.post(
        "/v1/enrolments",
        headers=clerk,
        json={"person_id": exempt, "year": 2027, "scheme": "resident"},
    ).json()
    assert poor["premium"] == {"personal": "0.00", "subsidy": "640.00", "assistance": "400.00"}
    twice = client.post(
        "/v1/enrolments",
        headers=clerk,
        json={"person_id": ordinary, "year": 2027, "scheme": "resident"},
    )
    assert twice.status_code == 409
    summary = client.get(f"/v1/regions/{CITY}/premiums/2027", headers=clerk).json()
    assert summary["persons"] == 2
    assert summary["totals"] == {"personal": "400.00", "subsidy": "1280.00", "assistance": "400.00"}
    assert summary["lines"][0]["exempt_persons"] == 1


@pytest.mark.parametrize(
    ("today", "ok"),
    [
        (date(2026, 8, 31), False),
        (date(2026, 9, 1), True),
        (date(2026, 11, 30), True),
        (date(2026, 12, 1), False),
    ],
)
def test_the_window_is_inclusive_and_refusals_name_its_dates(
    client: TestClient, clerk: dict[str, str], clock: FakeClock, today: date, ok: bool
) -> None:
    pid = person(client, clerk, ADULT).json()["id"]
    clock.today = today
    answer = client.post(
        "/v1/enrolments", headers=clerk, json={"person_id": pid, "year": 2027, "scheme": "resident"}
    )
    if ok:
        assert answer.status_code == 201, answer.text
    else:
        assert answer.status_code == 422
        assert answer.json()["code"] == "outside_enrolment_window"
        assert "2026-09-01" in answer.json()["message"]
        assert "2026-11-30" in answer.json()["message"]


def test_schemes_the_agency_does_not_enrol(client: TestClient, clerk: dict[str, str]) -> None:
    pid = person(client, clerk, ADULT).json()["id"]
    employee = client.post(
        "/v1/enrolments", headers=clerk, json={"person_id": pid, "year": 2027, "scheme": "employee"}
    )
    assert employee.json()["code"] == "scheme_not_enrolled_here"
    adult_as_student = client.post(
        "/v1/enrolments", headers=clerk, json={"person_id": pid, "year": 2027, "scheme": "student"}
    )
    assert adult_as_student.json()["code"] == "too_old_for_student_scheme"


def test_a_child_not_at_school_is_enrolled_at_the_household_agency(
    engine: Engine, client: TestClient, clerk: dict[str, str]
) -> None:
    mum = person(client, clerk, POOR, phone="13900000002").json()["id"]
    body = {
        "child": {"id_number": CHILD, "name": "张小", "region": CITY, "assistance": True},
        "year": 2027,
        "guardian_id_number": POOR,
    }
    made = client.post("/v1/enrolments/household", headers=clerk, json=body)
    assert made.status_code == 201, made.text
    child = made.json()["person"]["id"]
    assert made.json()["enrolment"]["scheme"] == "student"
    assert made.json()["enrolment"]["channel"] == "household"
    assert made.json()["enrolment"]["premium"]["personal"] == "0.00"
    with UnitOfWork(engine) as uow:
        assert uow.registry.guardians_of(child) == [mum]
        logged = uow.audit.entries(object_id=f"{child}/2027")
    assert [e["action"] for e in logged] == ["enrolment.create"]
    assert logged[0]["actor"].startswith("clerk-")  # the clerk who did it, not the operator
    assert logged[0]["after"]["premium"]["assistance"] == "400.00"

    teen = {**body, "child": {**body["child"], "id_number": TEEN}, "guardian_id_number": None}
    refused = client.post("/v1/enrolments/household", headers=clerk, json=teen)
    assert refused.json()["code"] == "too_old_for_student_scheme"
    unknown = {**body, "child": {**body["child"], "id_number": TEEN}, "guardian_id_number": ADULT}
    missing = client.post("/v1/enrolments/household", headers=clerk, json=unknown)
    assert missing.status_code == 404
    assert missing.json()["code"] == "unknown_guardian"
    # Neither refusal left the teenager registered: nothing half-written.
    with UnitOfWork(engine) as uow:
        assert uow.registry.person_by_id_number(TEEN) is None


def test_staff_of_another_region_cannot_enrol_here(
    client: TestClient, clerk: dict[str, str], services: Services
) -> None:
    pid = person(client, clerk, ADULT).json()["id"]
    county = account(services, Role.CLERK, region="hill-county")
    answer = client.post(
        "/v1/enrolments",
        headers=county,
        json={"person_id": pid, "year": 2027, "scheme": "resident"},
    )
    assert answer.status_code == 404
    foreign = client.post(
        "/v1/persons",
        headers=county,
        json={"id_number": CHILD, "name": "李", "region": CITY},
    )
    assert foreign.status_code == 403
    assert client.get(f"/v1/regions/{CITY}/premiums/2027", headers=county).status_code == 403


def test_the_audit_log_shows_staff_their_regions_work(
    client: TestClient, clerk: dict[str, str], services: Services
) -> None:
    person(client, clerk, ADULT)
    county = account(services, Role.CLERK, region="hill-county")
    ours = client.get("/v1/audit", headers=clerk, params={"object_type": "person"}).json()
    assert [e["action"] for e in ours] == ["person.create"]
    theirs = client.get("/v1/audit", headers=county, params={"object_type": "person"}).json()
    assert theirs == []
    everyone = account(services, Role.CLERK, region=None)
    assert (
        len(client.get("/v1/audit", headers=everyone, params={"object_type": "person"}).json()) == 1
    )
