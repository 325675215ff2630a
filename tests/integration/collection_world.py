"""Set-up shared by the collection and card tests: regions, enrolled persons, bank files."""

from __future__ import annotations

import csv
import io
from datetime import date

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.conftest import FakeClock
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.ids import make_resident_id
from yibao.domain.model import Scheme
from yibao.service.access import OPERATOR
from yibao.service.enrolment import NewPerson
from yibao.service.services import Services

REGION = "sample-city"
ADMDVS = "990100"
OTHER = "hill-county"
YEAR = 2027


def add_regions(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        uow.registry.add_region(REGION, "样本市", "Sample City", ADMDVS)
        uow.registry.add_region(OTHER, "山县", "Hill County", "990200")
        uow.commit()


def enrolled(
    services: Services,
    clock: FakeClock,
    seq: int,
    *,
    year: int = YEAR,
    assistance: bool = False,
    region: str = REGION,
    birth: date = date(1985, 3, 1),
) -> str:
    """A person registered and enrolled (pending) in the resident scheme, by the operator,
    on the day the window for `year` opens; the clock is put back afterwards."""
    before = clock.today
    clock.today = date(year - 1, 9, 1)
    try:
        number = make_resident_id(ADMDVS if region == REGION else "990200", birth, seq)
        person = services.enrolment.register_person(
            OPERATOR, NewPerson(number, f"person {seq}", region, assistance=assistance)
        )
        services.enrolment.enrol(OPERATOR, person["id"], year, Scheme.RESIDENT)
    finally:
        clock.today = before
    return str(person["id"])


def accounts_by_person(
    services: Services, region: str = REGION, year: int = YEAR
) -> dict[str, str]:
    """The open accounts as the bank export lists them: person name → account."""
    text = services.collection.export_accounts(OPERATOR, region, year)
    rows = list(csv.DictReader(io.StringIO(text)))
    return {r["name"]: r["account"] for r in rows}


def bank_file(*rows: tuple[str, ...], header: str = "account,amount,date,status") -> bytes:
    lines = [header, *(",".join(r) for r in rows)]
    return ("\n".join(lines) + "\n").encode()


def upload(
    client: TestClient, headers: dict[str, str], data: bytes, name: str = "bank.csv"
) -> httpx.Response:
    answer: httpx.Response = client.post(
        "/v1/collection/imports", files={"file": (name, data, "text/csv")}, headers=headers
    )
    return answer
