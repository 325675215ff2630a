"""A referral certificate's hospital and episode (issue 14, migration 0018), on SQLite and
PostgreSQL: the hospital referred to given by a hospital's API call, a clerk's record,
the console's form (by name) and the national interface's 2501; the stay it was issued
at; and the stays at the hospital referred to within its dates, which link to it as they
are settled (a reversed one drops out). What is wrong is refused naming the field, and
nothing is stored."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from integration.auth import account, institution
from integration.certificates_world import (
    ADULT,
    CITY,
    COUNTY,
    COUNTY_HOSPITAL,
    H2,
    H3,
    PHARMACY,
    STRANGER,
    bill,
    build,
    count,
)
from integration.test_certificates import referral_body, settle
from integration.test_fsi import His, _refused
from yibao.adapters.db.tables import referrals
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Principal, Role
from yibao.domain.registry import Institution, InstitutionKind
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.cli import app
from yibao.entrypoints.web.session import SESSION_COOKIE
from yibao.service.access import OPERATOR
from yibao.service.services import Services

COUNTY_CLINIC = "CC1"  # a hill-county pharmacy: not a hospital
READER = Principal("reader", Role.CLERK, region=CITY)


def _world(engine: Engine) -> None:
    build(engine)
    with UnitOfWork(engine) as uow:
        uow.registry.add_institution(
            Institution(COUNTY_CLINIC, COUNTY, "County Pharmacy", 0, InstitutionKind.PHARMACY, True)
        )
        uow.commit()


def _stay(client: TestClient, services: Services, at: str, day: str, **extra: Any) -> int:
    body = bill(day, kind="inpatient", amount="3000.00", **extra)
    return int(settle(client, institution(services, at), body)["id"])


def test_a_certificate_names_its_hospital_and_links_the_stays_of_its_episode(
    engine: Engine, client: TestClient, services: Services
) -> None:
    _world(engine)
    at_h2 = institution(services, H2)
    origin = _stay(client, services, H2, "2026-04-28")
    issued = client.post(
        "/v1/referrals",
        json=referral_body(to_region=None, to_institution=COUNTY_HOSPITAL, referred_from=origin),
        headers=at_h2,
    )
    assert issued.status_code == 201, issued.text
    ref = issued.json()
    assert (ref["to_region"], ref["to_institution"], ref["to_institution_name"]) == (
        COUNTY,
        COUNTY_HOSPITAL,
        "County Hospital",
    )
    assert ref["referred_from"] == origin
    assert [(s["settlement_id"], s["role"]) for s in ref["stays"]] == [(origin, "referred_from")]
    # Stays at the county hospital: within the dates they link to it, outside they do not,
    # and one reversed drops out.
    inside = _stay(client, services, COUNTY_HOSPITAL, "2026-05-10")
    _stay(client, services, COUNTY_HOSPITAL, "2026-06-02")
    gone = _stay(client, services, COUNTY_HOSPITAL, "2026-05-20")
    _stay(client, services, H3, "2026-05-12")  # at home: another hospital
    reversed_ = client.post(
        f"/v1/settlements/{gone}/reversal",
        json={"reason": "refund"},
        headers=institution(services, COUNTY_HOSPITAL),
    )
    assert reversed_.status_code == 200, reversed_.text
    view = client.get(f"/v1/referrals/{ref['id']}", headers=at_h2).json()
    assert [(s["settlement_id"], s["role"], s["hospital"]) for s in view["stays"]] == [
        (origin, "referred_from", "City Hospital 2"),
        (inside, "referred_to", "County Hospital"),
    ]
    mine = client.get(
        f"/v1/persons/{ADULT}/referrals", headers=account(services, Role.INSURED, person_id=ADULT)
    ).json()
    assert [r["stays"] for r in mine] == [view["stays"]]
    # A certificate without a hospital (a paper one, an older filing) links no stays.
    plain = client.post("/v1/referrals", json=referral_body(), headers=at_h2).json()
    assert (plain["to_institution"], plain["referred_from"], plain["stays"]) == (None, None, [])


def test_what_a_certificate_cannot_name_is_refused(
    engine: Engine, client: TestClient, services: Services
) -> None:
    _world(engine)
    at_h2 = institution(services, H2)
    origin = _stay(client, services, H2, "2026-04-28")
    elsewhere = _stay(client, services, H3, "2026-04-20")
    theirs = _stay(client, services, H2, "2026-04-21", person=STRANGER)
    outpatient = settle(client, at_h2, bill("2026-04-22"))["id"]
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"to_region": None}, 422, "missing_field", "to_region"),
        ({"to_institution": PHARMACY}, 422, "invalid_field", "to_institution"),
        (
            {"to_region": None, "to_institution": COUNTY_CLINIC},
            422,
            "invalid_field",
            "to_institution",
        ),
        (
            {"to_region": CITY, "to_institution": COUNTY_HOSPITAL},
            422,
            "invalid_field",
            "to_institution",
        ),
        ({"to_institution": "NOWHERE"}, 404, "unknown_institution", "to_institution"),
        ({"referred_from": 999999}, 422, "unknown_origin", "referred_from"),
        ({"referred_from": theirs}, 422, "unknown_origin", "referred_from"),
        ({"referred_from": elsewhere}, 422, "invalid_referred_from", "referred_from"),
        ({"referred_from": outpatient}, 422, "invalid_referred_from", "referred_from"),
        (
            {"referred_from": origin, "valid_from": "2026-04-01", "valid_to": "2026-04-27"},
            422,
            "invalid_referred_from",
            "referred_from",
        ),
    ]
    for change, status, code, field in cases:
        answer = client.post("/v1/referrals", json=referral_body(**change), headers=at_h2)
        assert (answer.status_code, answer.json()["code"]) == (status, code), (change, answer.text)
        assert answer.json()["details"]["field"] == field, change
    assert count(engine, referrals) == 0


def test_a_clerk_records_the_hospital_by_api_and_by_name_on_the_form(
    engine: Engine, client: TestClient, services: Services
) -> None:
    _world(engine)
    clerk = account(services, Role.CLERK, region=CITY)
    recorded = client.post(
        f"/v1/persons/{ADULT}/referrals",
        json={
            "issued_by": H2,
            "to_institution": COUNTY_HOSPITAL,
            "valid_from": "2026-05-01",
            "valid_to": "2026-05-31",
            "diagnosis": "I25.1",
        },
        headers=clerk,
    )
    assert recorded.status_code == 201, recorded.text
    assert (recorded.json()["to_region"], recorded.json()["to_institution"]) == (
        COUNTY,
        COUNTY_HOSPITAL,
    )
    pages = TestClient(create_app(services), follow_redirects=False)
    pages.cookies.set(SESSION_COOKIE, clerk["Authorization"].split()[1])
    path = f"/console/persons/{ADULT}/work"
    shown = pages.get(path, params={"lang": "en"})
    assert "County Hospital · Hill County" in shown.text  # chosen by name, not by code
    token = re.search(r'name="csrf" value="([^"]+)"', shown.text)
    assert token is not None
    form = {
        "csrf": token.group(1),
        "action": "referral",
        "issued_by": H2,
        "to_region": "",
        "to_institution": COUNTY_HOSPITAL,
        "referral_from": "2026-07-01",
        "referral_to": "2026-07-31",
        "diagnosis": "C91.0",
    }
    wrong = pages.post(path, data={**form, "to_institution": COUNTY_CLINIC})
    assert wrong.status_code == 422
    assert 'id="e-to_institution"' in wrong.text
    neither = pages.post(path, data={**form, "to_institution": ""})
    assert neither.status_code == 422
    assert 'id="e-to_region"' in neither.text
    assert pages.post(path, data=form).status_code == 303
    made = services.certificates.referrals_of(READER, ADULT)
    assert [(r["to_region"], r["to_institution"]) for r in made] == [
        (COUNTY, COUNTY_HOSPITAL),
        (COUNTY, COUNTY_HOSPITAL),
    ]
    person = pages.get(f"/console/persons/{ADULT}", params={"lang": "en"})
    assert "Hill County · County Hospital" in person.text


def _filing(**changes: Any) -> dict[str, Any]:
    return {
        "refmedin": {
            "psn_no": ADULT,
            "insutype": "390",
            "diag_code": "I25.1",
            "diag_name": "冠心病",
            "reflin_medins_no": COUNTY_HOSPITAL,
            "reflin_medins_name": "县医院",
            "mdtrtarea_admdvs": "990200",
            "refl_type": "1",
            "refl_date": "2026-05-01",
            "begndate": "2026-05-01",
            "enddate": "2026-05-31",
            **changes,
        }
    }


def test_2501_fills_the_hospital_referred_to(
    engine: Engine, client: TestClient, services: Services
) -> None:
    """A registered reflin_medins_no is the certificate's hospital (the registry's name);
    one yibao does not know is kept with the message's reflin_medins_name; without a name
    the certificate names the region only; a place that is not a hospital is refused
    naming reflin_medins_no."""
    _world(engine)
    his = His(client, H2)
    his.sign_in()
    _refused(his, his.envelope("2501", _filing(reflin_medins_no=COUNTY_CLINIC)), "reflin_medins_no")
    assert count(engine, referrals) == 0
    ids = [
        his.ok("2501", _filing(**change))["result"]["trt_dcla_detl_sn"]
        for change in (
            {},
            {"reflin_medins_no": "H99009900001", "reflin_medins_name": "远方县人民医院"},
            {"reflin_medins_no": "H99009900002", "reflin_medins_name": ""},
        )
    ]
    at_h2 = institution(services, H2)
    views = [client.get(f"/v1/referrals/{i}", headers=at_h2).json() for i in ids]
    assert [(v["to_region"], v["to_institution"], v["to_institution_name"]) for v in views] == [
        (COUNTY, COUNTY_HOSPITAL, "County Hospital"),
        (COUNTY, "H99009900001", "远方县人民医院"),
        (COUNTY, None, None),
    ]


def test_the_command_names_the_hospital_referred_to(
    engine: Engine, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    _world(engine)
    monkeypatch.setenv("YIBAO_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("YIBAO_ACTOR", raising=False)
    services.access.create_account(OPERATOR, "h2-desk", Role.INSTITUTION, "H2", institution_id=H2)
    args = ["referral", "add", "--person", ADULT, "--from", "2026-05-01", "--to", "2026-05-31"]
    args += ["--diagnosis", "I25.1", "--as", "h2-desk"]
    done = CliRunner().invoke(app, [*args, "--to-institution", COUNTY_HOSPITAL])
    assert done.exit_code == 0, done.output
    made = json.loads(done.stdout)
    assert (made["to_region"], made["to_institution"], made["to_institution_name"]) == (
        COUNTY,
        COUNTY_HOSPITAL,
        "County Hospital",
    )
    refused = CliRunner().invoke(app, [*args, "--to-institution", COUNTY_CLINIC])
    assert refused.exit_code == 2
    assert "to_institution" in refused.stderr
