"""The registry the certificate and pilot tests work in: sample-city and hill-county, their
institutions, an adult, a child with a guardian, and a stranger, all enrolled for 2026."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from integration.world import catalogue
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.ids import make_resident_id, parse_resident_id
from yibao.domain.model import Scheme
from yibao.domain.registry import (
    Card,
    CardStatus,
    Enrolment,
    Institution,
    InstitutionKind,
    PersonRecord,
)

YEAR = 2026
CITY, COUNTY = "sample-city", "hill-county"
ADULT, CHILD, GUARDIAN, STRANGER = "A1", "C1", "G1", "S1"
H2, H3 = "H2", "H3"  # designated hospitals of sample-city, levels 2 and 3
PHARMACY, NOT_DESIGNATED = "PH1", "X9"
COUNTY_HOSPITAL = "HC1"  # a designated level-2 hospital of hill-county

INSTITUTIONS = (
    Institution(H2, CITY, "City Hospital 2", 2, InstitutionKind.HOSPITAL, True),
    Institution(H3, CITY, "City Hospital 3", 3, InstitutionKind.HOSPITAL, True),
    Institution(PHARMACY, CITY, "City Pharmacy", 0, InstitutionKind.PHARMACY, True),
    Institution(NOT_DESIGNATED, CITY, "Private Clinic", 1, InstitutionKind.HOSPITAL, False),
    Institution(COUNTY_HOSPITAL, COUNTY, "County Hospital", 2, InstitutionKind.HOSPITAL, True),
)


def card_of(person_id: str) -> str:
    return f"CARD-{person_id}"


def add_person(
    uow: UnitOfWork,
    person_id: str,
    birth: date,
    scheme: Scheme | None,
    *,
    region: str = CITY,
    status: str = "active",
    seq: int = 1,
) -> None:
    admdvs = "990100" if region == CITY else "990200"
    number = make_resident_id(admdvs, birth, seq)
    uow.registry.add_person(
        PersonRecord(
            person_id,
            number,
            f"person {person_id}",
            birth,
            parse_resident_id(number).sex,
            region,
        )
    )
    if scheme is not None:
        uow.registry.add_enrolment(
            Enrolment(person_id, YEAR, scheme, status, date(YEAR, 1, 1), date(YEAR, 12, 31))
        )
    uow.registry.add_card(Card(card_of(person_id), person_id, CardStatus.ACTIVE, date(2025, 12, 1)))


def build(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        reg = uow.registry
        reg.add_region(CITY, "样本市", "Sample City", "990100")
        reg.add_region(COUNTY, "山县", "Hill County", "990200")
        reg.add_catalogue_items(CITY, catalogue())
        reg.add_catalogue_items(COUNTY, catalogue())  # bills there: its catalogue
        for inst in INSTITUTIONS:
            reg.add_institution(inst)
        add_person(uow, ADULT, date(1970, 3, 4), Scheme.RESIDENT, seq=11)
        add_person(uow, GUARDIAN, date(1985, 7, 8), Scheme.RESIDENT, seq=21)
        add_person(uow, CHILD, date(2016, 5, 1), Scheme.STUDENT, seq=31)
        add_person(uow, STRANGER, date(1990, 1, 2), Scheme.RESIDENT, seq=41)
        reg.add_guardian(CHILD, GUARDIAN)
        uow.commit()


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def audit(engine: Engine, object_type: str, object_id: str) -> list[str]:
    """The actions recorded on an object, oldest first."""
    with UnitOfWork(engine) as uow:
        entries = uow.audit.entries(object_type=object_type, object_id=object_id)
    return [e["action"] for e in reversed(entries)]


def bill(
    day: str, *, kind: str = "outpatient", amount: str = "200.00", **extra: Any
) -> dict[str, Any]:
    return {
        "card_number": card_of(extra.pop("person", ADULT)),
        "kind": kind,
        "date": day,
        "lines": [{"code": "TEST-A", "quantity": "1", "unit_price": amount}],
        **extra,
    }


def elsewhere_step(view: dict[str, Any]) -> dict[str, Any] | None:
    """The explanation's step about treatment in another region, if any."""
    return next((s for s in view["explanation"] if s["rule"] in ("elsewhere", "filed")), None)
