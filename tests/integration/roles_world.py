"""The registry the role tests work in: sample-city in 2026 with two families (guardian G1
with child C1, guardian G2 with child C2), two designated hospitals I1 and I2, two schools
S1 and S2 (C1 enrolled through S1), a settlement of C1 made by I1 and a referral of C1
issued by I1; and one account of every role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from integration.auth import account
from integration.world import catalogue
from yibao.adapters.db.tables import referrals
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Role
from yibao.domain.ids import make_resident_id, parse_resident_id
from yibao.domain.model import Scheme
from yibao.domain.registry import (
    Card,
    CardStatus,
    Enrolment,
    Institution,
    InstitutionKind,
    PersonRecord,
    Referral,
)
from yibao.service.services import Services

YEAR = 2026
CITY, COUNTY = "sample-city", "hill-county"
G1, C1, G2, C2 = "G1", "C1", "G2", "C2"
I1, I2 = "I1", "I2"
S1, S2 = "S1", "S2"
DAY = "2026-06-01"

Headers = dict[str, str]


@dataclass(frozen=True)
class RolesWorld:
    settlement: int  # C1's settlement at I1
    referral: int  # C1's referral issued by I1
    accounts: dict[str, Headers]  # role name -> headers (plus "anonymous")


def card_of(person_id: str) -> str:
    return f"CARD-{person_id}"


def _person(
    uow: UnitOfWork,
    person_id: str,
    birth: date,
    scheme: Scheme,
    seq: int,
    school_id: str | None = None,
) -> None:
    number = make_resident_id("990100", birth, seq)
    uow.registry.add_person(
        PersonRecord(
            person_id, number, f"person {person_id}", birth, parse_resident_id(number).sex, CITY
        )
    )
    uow.registry.add_enrolment(
        Enrolment(
            person_id,
            YEAR,
            scheme,
            "active",
            date(YEAR, 1, 1),
            date(YEAR, 12, 31),
            channel="school" if school_id else "agency",
            school_id=school_id,
        )
    )
    uow.registry.add_card(Card(card_of(person_id), person_id, CardStatus.ACTIVE, date(2025, 12, 1)))


def bill(person_id: str = C1) -> dict[str, Any]:
    return {
        "card_number": card_of(person_id),
        "kind": "outpatient",
        "date": DAY,
        "lines": [{"code": "TEST-A", "quantity": "1", "unit_price": "100.00"}],
    }


def build_registry(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        reg = uow.registry
        reg.add_region(CITY, "样本市", "Sample City", "990100")
        reg.add_region(COUNTY, "山县", "Hill County", "990200")
        reg.add_catalogue_items(CITY, catalogue())
        reg.add_catalogue_items(COUNTY, catalogue())  # bills there: its catalogue
        for inst in (I1, I2):
            reg.add_institution(
                Institution(inst, CITY, f"hospital {inst}", 2, InstitutionKind.HOSPITAL, True)
            )
        uow.schools.add_school(S1, CITY, "School One")
        uow.schools.add_school(S2, CITY, "School Two")
        _person(uow, G1, date(1985, 7, 8), Scheme.RESIDENT, 11)
        _person(uow, C1, date(2014, 5, 1), Scheme.STUDENT, 21, school_id=S1)
        _person(uow, G2, date(1986, 2, 3), Scheme.RESIDENT, 31)
        _person(uow, C2, date(2015, 9, 9), Scheme.STUDENT, 41, school_id=S2)
        reg.add_guardian(C1, G1)
        reg.add_guardian(C2, G2)
        reg.add_referral(Referral(C1, I1, COUNTY, date(2026, 6, 1), date(2026, 8, 31)))
        uow.commit()


def build(engine: Engine, services: Services, client: TestClient) -> RolesWorld:
    """The registry, C1's settlement at I1 (posted through the API) and an account per role."""
    build_registry(engine)
    accounts: dict[str, Headers] = {
        "clerk": account(services, Role.CLERK, region=CITY),
        "approver": account(services, Role.APPROVER, region=CITY),
        "school": account(services, Role.SCHOOL, school_id=S1),
        "institution": account(services, Role.INSTITUTION, institution_id=I1),
        "insured": account(services, Role.INSURED, person_id=C1),
        "guardian": account(services, Role.GUARDIAN, person_id=G1),
        "anonymous": {"X-Test-As": "anonymous"},
    }
    made = client.post("/v1/settlements", json=bill(C1), headers=accounts["institution"])
    assert made.status_code == 201, made.text
    with engine.connect() as conn:
        referral = conn.execute(select(func.max(referrals.c.id))).scalar_one()
    return RolesWorld(int(made.json()["id"]), int(referral), accounts)
