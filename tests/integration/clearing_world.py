"""Two regions that know each other, for the tests of treatment elsewhere and clearing:
sample-city and hill-county, each with its own catalogue of the same two codes (a bed
day capped at 50.00 in the city and 40.00 in the county; a drug of class A in the city
and outside the county's catalogue), a hospital or two in each, and their residents."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.certificates_world import add_person, card_of
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.model import Filing, LineClass, Scheme
from yibao.domain.registry import CatalogueItem, Institution, InstitutionKind
from yibao.service.access import new_token, token_hash

YEAR = 2026
CITY, COUNTY = "sample-city", "hill-county"
CITY3, CITY2, COUNTY2 = "SC3", "SC2", "HC2"  # hospitals: level 3 and 2 in the city, 2 in the county
CITIZEN, FILED, CITIZEN2 = "SCP", "SCF", "SCQ"  # city residents (FILED lives in the county)
COUNTRYMAN, COUNTRYMAN2 = "HCP", "HCQ"  # county residents
BED, DRUG = "BED-1", "DRUG-1"


def build(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        reg = uow.registry
        reg.add_region(CITY, "样本市", "Sample City", "990100")
        reg.add_region(COUNTY, "山县", "Hill County", "990200")
        reg.add_catalogue_items(
            CITY,
            [
                CatalogueItem(BED, "普通病房床位费", LineClass.A, Decimal("50.00")),
                CatalogueItem(DRUG, "注射用头孢曲松钠", LineClass.A, None),
            ],
        )
        reg.add_catalogue_items(
            COUNTY,
            [
                CatalogueItem(BED, "普通病房床位费", LineClass.A, Decimal("40.00")),
                CatalogueItem(DRUG, "注射用头孢曲松钠", LineClass.SELF_PAY, None),
            ],
        )
        for inst in (
            Institution(CITY3, CITY, "市第一人民医院", 3, InstitutionKind.HOSPITAL, True),
            Institution(CITY2, CITY, "市第二人民医院", 2, InstitutionKind.HOSPITAL, True),
            Institution(COUNTY2, COUNTY, "县人民医院", 2, InstitutionKind.HOSPITAL, True),
        ):
            reg.add_institution(inst)
        for n, pid in enumerate((CITIZEN, FILED, CITIZEN2), start=1):
            add_person(uow, pid, date(1970, 3, n), Scheme.RESIDENT, seq=10 + n)
        for n, pid in enumerate((COUNTRYMAN, COUNTRYMAN2), start=1):
            add_person(uow, pid, date(1972, 4, n), Scheme.RESIDENT, region=COUNTY, seq=20 + n)
        reg.add_filing(FILED, Filing(COUNTY, date(YEAR, 1, 1), date(YEAR, 12, 31)))
        uow.commit()


def clerk_of(engine: Engine, region: str) -> dict[str, str]:
    """The Authorization header of a clerk of the region."""
    token = new_token()
    account = f"clerk-{region}"
    with UnitOfWork(engine) as uow:
        if uow.accounts.get(account) is None:
            uow.accounts.add({"id": account, "role": "clerk", "name": account, "region": region})
        uow.accounts.add_token(token_hash(token), account, "test", None)
        uow.commit()
    return {"Authorization": f"Bearer {token}"}


def stay(
    person: str, day: str, beds: int, bed_price: str, drug: str = "0", **extra: Any
) -> dict[str, Any]:
    lines = [{"code": BED, "quantity": str(beds), "unit_price": bed_price}]
    if drug != "0":
        lines.append({"code": DRUG, "quantity": "1", "unit_price": drug})
    return {
        "card_number": card_of(person),
        "kind": extra.pop("kind", "inpatient"),
        "date": day,
        "lines": lines,
        **extra,
    }


def settle(client: TestClient, institution: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/v1/settlements", json=body, headers={"X-Institution": institution})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())
