"""A clerk records a referral certificate a hospital issued on paper, on both databases:
through the person's work page (CSRF, clerks of the person's region only: an approver
gets 403, a clerk of another region 404) and the certificates service, which checks it
as it checks a hospital's own referral and writes the audit log."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.auth import account
from integration.roles_world import C1, CITY, COUNTY, I1, build
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Principal, Role
from yibao.domain.registry import Institution, InstitutionKind
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.web.session import SESSION_COOKIE
from yibao.service.access import Forbidden
from yibao.service.errors import ServiceError
from yibao.service.services import Services

CLERK = Principal("clerk", Role.CLERK, region=CITY)
PATH = f"/console/persons/{C1}/work"
FORM = {
    "action": "referral",
    "issued_by": I1,
    "to_region": COUNTY,
    "referral_from": "2026-07-01",
    "referral_to": "2026-09-30",
    "diagnosis": "C91.0",
}


def signed_in(services: Services, headers: dict[str, str]) -> TestClient:
    pages = TestClient(create_app(services), follow_redirects=False)
    pages.cookies.set(SESSION_COOKIE, headers["Authorization"].split()[1])
    return pages


def csrf(pages: TestClient) -> str:
    shown = pages.get(PATH)
    assert shown.status_code == 200, shown.text
    found = re.search(r'name="csrf" value="([^"]+)"', shown.text)
    assert found is not None
    return found.group(1)


def test_a_clerk_records_a_referral_on_the_work_page(
    engine: Engine, client: TestClient, services: Services
) -> None:
    world = build(engine, services, client)
    before = services.certificates.referrals_of(CLERK, C1)  # the one I1 issued
    pages = signed_in(services, world.accounts["clerk"])
    shown = pages.get(PATH, params={"lang": "en"})
    assert 'data-testid="referral-form"' in shown.text
    assert "hospital I1" in shown.text  # the hospitals of the person's region, by name
    assert pages.post(PATH, data=FORM).status_code == 400  # no CSRF token: nothing done
    token = csrf(pages)

    backwards = pages.post(PATH, data={**FORM, "csrf": token, "referral_to": "2026-06-01"})
    assert backwards.status_code == 422
    assert 'id="e-referral_to"' in backwards.text  # said next to the date, not on top
    missing = pages.post(PATH, data={**FORM, "csrf": token, "issued_by": "", "diagnosis": ""})
    assert missing.status_code == 422
    assert 'id="e-issued_by"' in missing.text
    assert 'id="e-diagnosis"' in missing.text
    home = pages.post(PATH, data={**FORM, "csrf": token, "to_region": CITY})
    assert home.status_code == 422
    assert 'id="e-to_region"' in home.text
    assert services.certificates.referrals_of(CLERK, C1) == before

    done = pages.post(PATH, data={**FORM, "csrf": token})
    assert done.status_code == 303
    assert done.headers["location"].endswith("?done=referral")
    [made] = [r for r in services.certificates.referrals_of(CLERK, C1) if r not in before]
    assert (made["issued_by"], made["to_region"], made["diagnosis"]) == (I1, COUNTY, "C91.0")
    assert (made["valid_from"], made["valid_to"]) == ("2026-07-01", "2026-09-30")
    log = services.enrolment.audit(CLERK, object_type="referral", object_id=str(made["id"]))
    assert [(e["action"], e["actor"]) for e in log] == [("referral.create", made["created_by"])]
    person = pages.get(f"/console/persons/{C1}", params={"lang": "en"})
    assert "Referral (hospital I1)" in person.text
    assert "Hill County" in person.text


def test_only_a_clerk_of_the_persons_region_records_one(
    engine: Engine, client: TestClient, services: Services
) -> None:
    world = build(engine, services, client)
    before = services.certificates.referrals_of(CLERK, C1)
    approver = signed_in(services, world.accounts["approver"])
    assert approver.get(PATH).status_code == 403
    assert approver.post(PATH, data=FORM).status_code in (400, 403)
    county = signed_in(services, account(services, Role.CLERK, region=COUNTY))
    assert county.get(PATH).status_code == 404
    shown = county.get("/console/persons/new")
    token = re.search(r'name="csrf" value="([^"]+)"', shown.text)
    assert token is not None
    assert county.post(PATH, data={**FORM, "csrf": token.group(1)}).status_code == 404
    assert services.certificates.referrals_of(CLERK, C1) == before


def test_the_service_checks_a_recorded_referral_as_a_hospitals_own(
    engine: Engine, client: TestClient, services: Services
) -> None:
    build(engine, services, client)
    before = services.certificates.referrals_of(CLERK, C1)
    with UnitOfWork(engine) as uow:
        uow.registry.add_institution(
            Institution("PH", CITY, "pharmacy", 0, InstitutionKind.PHARMACY, True)
        )
        uow.registry.add_institution(
            Institution("HC", COUNTY, "county hospital", 2, InstitutionKind.HOSPITAL, True)
        )
        uow.commit()
    ok: dict[str, Any] = {
        "issued_by": I1,
        "to_region": COUNTY,
        "valid_from": date(2026, 7, 1),
        "valid_to": date(2026, 9, 30),
        "diagnosis": "C91.0",
    }
    cases: list[tuple[dict[str, Any], str, int]] = [
        ({"issued_by": "NOWHERE"}, "unknown_institution", 404),
        ({"issued_by": "PH"}, "not_a_designated_hospital", 422),
        ({"issued_by": "HC"}, "not_insured_here", 422),
        ({"to_region": CITY}, "same_region", 422),
        ({"valid_to": date(2026, 6, 1)}, "invalid_period", 422),
        ({"diagnosis": "x" * 17}, "invalid_field", 422),
    ]
    for change, code, status in cases:
        with pytest.raises(ServiceError) as refused:
            services.certificates.record_referral(CLERK, C1, **{**ok, **change})
        assert (refused.value.code, refused.value.status) == (code, status), change
    with pytest.raises(Forbidden):
        services.certificates.record_referral(
            Principal("approver", Role.APPROVER, region=CITY),
            C1,
            **ok,
        )
    with pytest.raises(ServiceError) as hidden:
        services.certificates.record_referral(
            Principal("county", Role.CLERK, region=COUNTY),
            C1,
            **ok,
        )
    assert hidden.value.status == 404
    assert services.certificates.referrals_of(CLERK, C1) == before
    made = services.certificates.record_referral(CLERK, C1, **ok)
    assert services.certificates.referrals_of(CLERK, C1) == [*before, made]


def test_the_api_records_one_for_a_clerk_as_the_console_does(
    engine: Engine, client: TestClient, services: Services
) -> None:
    world = build(engine, services, client)
    before = services.certificates.referrals_of(CLERK, C1)
    path = f"/v1/persons/{C1}/referrals"
    body = {
        "issued_by": I1,
        "to_region": COUNTY,
        "valid_from": "2026-07-01",
        "valid_to": "2026-09-30",
        "diagnosis": "C91.0",
    }
    hospital = client.post(path, json=body, headers=world.accounts["institution"])
    assert hospital.status_code == 403  # a hospital issues its own at POST /v1/referrals
    county = client.post(path, json=body, headers=account(services, Role.CLERK, region=COUNTY))
    assert (county.status_code, county.json()["code"]) == (404, "unknown_person")
    home = client.post(path, json={**body, "to_region": CITY}, headers=world.accounts["clerk"])
    assert (home.status_code, home.json()["code"]) == (422, "same_region")
    assert services.certificates.referrals_of(CLERK, C1) == before
    made = client.post(path, json=body, headers=world.accounts["clerk"])
    assert made.status_code == 201, made.text
    assert (made.json()["issued_by"], made.json()["to_region"]) == (I1, COUNTY)
    assert services.certificates.referrals_of(CLERK, C1) == [*before, made.json()]
