"""The children's major-disease pilot: the pilot hospitals of a region's year, the disease
list with its limited costs, and children's registrations with their refusals. On
SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.auth import account, clerk, institution
from integration.certificates_world import (
    ADULT,
    CHILD,
    CITY,
    COUNTY,
    COUNTY_HOSPITAL,
    GUARDIAN,
    H2,
    H3,
    NOT_DESIGNATED,
    PHARMACY,
    STRANGER,
    add_person,
    audit,
    build,
    card_of,
    count,
)
from yibao.adapters.db.tables_pilot import pilot_hospitals, pilot_registrations
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Role
from yibao.domain.model import Kind, Scheme
from yibao.service.access import OPERATOR
from yibao.service.certificates_pilot import treats_pilot
from yibao.service.services import Services

# Children at the age boundary on the admission day 2026-06-01, and one not yet paid up.
AGED_14, AGED_15, PENDING = "K14", "K15", "KP"
ADMISSION = "2026-06-01"


@pytest.fixture
def world(engine: Engine) -> Engine:
    build(engine)
    with UnitOfWork(engine) as uow:
        add_person(uow, AGED_14, date(2011, 6, 2), Scheme.STUDENT, seq=51)
        add_person(uow, AGED_15, date(2011, 6, 1), Scheme.STUDENT, seq=61)
        add_person(uow, PENDING, date(2018, 2, 3), Scheme.STUDENT, status="pending", seq=71)
        uow.commit()
    return engine


def put(
    client: TestClient, at: dict[str, str], inst: str, year: int = 2026, region: str = CITY
) -> Any:
    return client.put(f"/v1/pilot/{region}/{year}/hospitals/{inst}", headers=at)


def register(client: TestClient, at: dict[str, str], **changes: Any) -> Any:
    body = {"person_id": CHILD, "disease": "C91.0", "hospital_id": H3, "admission_date": ADMISSION}
    body.update(changes)
    return client.post(
        "/v1/pilot/registrations", json={k: v for k, v in body.items() if v is not None}, headers=at
    )


def test_the_pilot_hospitals_are_kept_per_year(
    world: Engine, client: TestClient, services: Services
) -> None:
    the_clerk = clerk(services)
    added = put(client, the_clerk, H3)
    assert added.status_code == 200, added.text
    assert (added.json()["added"], added.json()["institution_id"]) == (True, H3)
    assert put(client, the_clerk, H3).json()["added"] is False  # again: no change
    assert audit(world, "pilot_hospital", f"{CITY}/2026/{H3}") == ["pilot.hospital.add"]

    refusals = [
        (PHARMACY, CITY, 422, "not_a_designated_hospital"),
        (NOT_DESIGNATED, CITY, 422, "not_a_designated_hospital"),
        (COUNTY_HOSPITAL, CITY, 422, "other_region"),
        ("NOWHERE", CITY, 404, "unknown_institution"),
        (H3, "atlantis", 404, "unknown_region"),
    ]
    for inst, region, status, code in refusals:
        answer = put(client, clerk(services, None), inst, region=region)
        assert (answer.status_code, answer.json()["code"]) == (status, code), inst
    assert put(client, clerk(services, COUNTY), H2).status_code == 403
    assert put(client, account(services, Role.APPROVER, region=CITY), H2).status_code == 403
    assert put(client, institution(services, H2), H2).status_code == 403
    assert put(client, clerk(services, COUNTY), COUNTY_HOSPITAL, region=COUNTY).status_code == 200
    assert count(world, pilot_hospitals) == 2

    # Anyone signed in reads a year: who qualifies, the diseases, the hospitals.
    year = client.get(
        f"/v1/pilot/{CITY}/2026", headers=account(services, Role.INSURED, person_id=ADULT)
    )
    assert year.status_code == 200, year.text
    out = year.json()
    assert (out["max_age"], out["schemes"], out["rate"]) == (14, ["resident", "student"], "70%")
    costs = {d["code"]: d["limited_cost"] for d in out["diseases"]}
    assert costs == {
        "C91.0": "80000.00",
        "C92.4": "60000.00",
        "Q21.0": "35000.00",
        "Q21.1": "30000.00",
        "Q22.1": "30000.00",
        "Q25.0": "25000.00",
    }
    assert [(h["institution_id"], h["name"], h["level"]) for h in out["hospitals"]] == [
        (H3, "City Hospital 3", 3)
    ]
    assert client.get(f"/v1/pilot/{CITY}/2027", headers=the_clerk).json()["hospitals"] == []
    # sample-city's pilot data start in 2024: there is no pilot to show for 2023.
    gap = client.get(f"/v1/pilot/{CITY}/2023", headers=the_clerk)
    assert (gap.status_code, gap.json()["code"]) == (422, "no_pilot_rules")

    removed = client.delete(f"/v1/pilot/{CITY}/2026/hospitals/{H3}", headers=the_clerk)
    assert removed.status_code == 200
    gone = client.delete(f"/v1/pilot/{CITY}/2026/hospitals/{H3}", headers=the_clerk)
    assert (gone.status_code, gone.json()["code"]) == (404, "not_a_pilot_hospital")
    assert audit(world, "pilot_hospital", f"{CITY}/2026/{H3}") == [
        "pilot.hospital.add",
        "pilot.hospital.remove",
    ]


def test_a_child_is_registered_once_per_disease_and_year(
    world: Engine, client: TestClient, services: Services
) -> None:
    the_clerk = clerk(services)
    assert put(client, the_clerk, H3).status_code == 200
    made = register(client, the_clerk)
    assert made.status_code == 201, made.text
    reg = made.json()
    assert (reg["year"], reg["scheme"], reg["limited_cost"], reg["hospital_id"]) == (
        2026,
        "student",
        "80000.00",
        H3,
    )
    assert audit(world, "pilot_registration", str(reg["id"])) == ["pilot.register"]
    twice = register(client, the_clerk, admission_date="2026-09-01")
    assert (twice.status_code, twice.json()["code"]) == (409, "pilot_already_registered")
    # Another disease the same year is another registration.
    assert register(client, the_clerk, disease="Q21.1").status_code == 201

    # The pilot hospital registers a child at itself (hospital_id may be left out).
    at_h3 = institution(services, H3)
    by_hospital = register(client, at_h3, person_id=AGED_14, hospital_id=None)
    assert by_hospital.status_code == 201, by_hospital.text
    assert by_hospital.json()["hospital_id"] == H3
    other = register(client, institution(services, H2), person_id=AGED_14, disease="Q21.0")
    assert (other.status_code, other.json()["code"]) == (403, "forbidden")
    assert count(world, pilot_registrations) == 3

    # Who sees what: the guardian their child's, a stranger nothing, a hospital its own.
    guardian = account(services, Role.GUARDIAN, person_id=GUARDIAN)
    listed = client.get(f"/v1/persons/{CHILD}/pilot-registrations", headers=guardian).json()
    assert [r["disease"] for r in listed] == ["C91.0", "Q21.1"]
    stranger = account(services, Role.INSURED, person_id=STRANGER)
    assert (
        client.get(f"/v1/persons/{CHILD}/pilot-registrations", headers=stranger).status_code == 404
    )
    own = client.get("/v1/pilot/registrations", headers=at_h3).json()
    assert {r["person_id"] for r in own} == {CHILD, AGED_14}
    assert client.get("/v1/pilot/registrations", headers=institution(services, H2)).json() == []
    assert len(client.get("/v1/pilot/registrations?year=2026", headers=the_clerk).json()) == 3
    assert client.get("/v1/pilot/registrations?year=2027", headers=the_clerk).json() == []

    # A hospital named by registrations stays on the list.
    kept = client.delete(f"/v1/pilot/{CITY}/2026/hospitals/{H3}", headers=the_clerk)
    assert (kept.status_code, kept.json()["code"]) == (409, "pilot_hospital_in_use")


def test_registrations_the_pilot_refuses(
    world: Engine, client: TestClient, services: Services
) -> None:
    the_clerk = clerk(services)
    assert put(client, the_clerk, H3).status_code == 200
    cases = [
        ({"disease": "K35.8"}, 422, "not_a_pilot_disease"),
        ({"hospital_id": H2}, 422, "not_a_pilot_hospital"),  # designated, not on the list
        ({"admission_date": "2027-01-10"}, 422, "not_a_pilot_hospital"),  # listed for 2026 only
        ({"hospital_id": "NOWHERE"}, 404, "unknown_institution"),
        ({"person_id": AGED_15}, 422, "too_old_for_pilot"),
        ({"person_id": ADULT}, 422, "too_old_for_pilot"),
        ({"person_id": PENDING}, 422, "not_enrolled"),
        ({"person_id": "NOBODY"}, 404, "unknown_person"),
        ({"disease": ""}, 422, "invalid_request"),
    ]
    for changes, status, code in cases:
        answer = register(client, the_clerk, **changes)
        assert (answer.status_code, answer.json()["code"]) == (status, code), changes
        assert answer.json()["message"]
    # A clerk of another region does not see the child; members may not register.
    assert register(client, clerk(services, COUNTY)).status_code == 404
    guardian = account(services, Role.GUARDIAN, person_id=GUARDIAN)
    assert register(client, guardian).status_code == 403
    assert count(world, pilot_registrations) == 0
    # 14 in completed years on the admission day is still a child of the pilot.
    assert register(client, the_clerk, person_id=AGED_14).status_code == 201


def test_the_settlement_can_ask_for_the_years_list(world: Engine, services: Services) -> None:
    """`treats_pilot` is what the settlement would ask (see docs/certificates.md): the
    year's list decides for an inpatient stay with a pilot diagnosis, and nothing else
    reads it."""
    services.pilot.add_pilot_hospital(OPERATOR, CITY, 2026, H3)
    policy = services.certificates.policies(CITY)
    with UnitOfWork(world) as uow:
        h3 = uow.registry.institution(H3)
        h2 = uow.registry.institution(H2)
        assert h3 is not None
        assert h2 is not None
        stay = (Kind.INPATIENT, "C91.0")
        assert treats_pilot(uow, h3, policy, *stay, date(2026, 6, 1)) is True
        assert treats_pilot(uow, h3, policy, *stay, date(2027, 6, 1)) is False
        assert treats_pilot(uow, h2, policy, *stay, date(2026, 6, 1)) is False
        assert treats_pilot(uow, h3, policy, Kind.INPATIENT, "K35.8", date(2026, 6, 1)) is False
        assert treats_pilot(uow, h3, policy, Kind.OUTPATIENT, "C91.0", date(2026, 6, 1)) is False
        flagged = replace(h2, pilot=True)  # the flag registered with the institution
        assert treats_pilot(uow, flagged, policy, *stay, date(2027, 6, 1)) is True


def test_the_years_list_makes_a_pilot_stay(
    engine: Engine, client: TestClient, services: Services
) -> None:
    """Settlement asks the year's list: a hospital without the flag becomes a pilot
    hospital for a pilot diagnosis once a clerk adds it for that year."""
    build(engine)
    body = {
        "card_number": card_of(CHILD),
        "kind": "inpatient",
        "date": "2026-06-01",
        "diagnosis": "C91.0",
        "lines": [{"code": "TEST-A", "quantity": "1", "unit_price": "50000.00"}],
    }
    at = institution(services, H3)
    assert client.post("/v1/quotes", json=body, headers=at).json()["route"] == "inpatient"
    added = client.put(f"/v1/pilot/{CITY}/2026/hospitals/{H3}", headers=clerk(services))
    assert added.status_code == 200, added.text
    assert client.post("/v1/quotes", json=body, headers=at).json()["route"] == "child_major_disease"
    other = {**body, "diagnosis": "K35.8"}
    assert client.post("/v1/quotes", json=other, headers=at).json()["route"] == "inpatient"
