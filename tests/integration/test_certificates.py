"""Special-disease approvals, remote-treatment filings and referral certificates through the
API, and what the settlement makes of them: used only once approved, only within their
dates, only at the named hospital. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

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
    YEAR,
    audit,
    bill,
    build,
    card_of,
    count,
    elsewhere_step,
)
from yibao.adapters.db.tables import approvals, filings, referrals
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Role
from yibao.domain.model import Scheme
from yibao.domain.registry import Enrolment
from yibao.entrypoints.cli import app
from yibao.service.access import OPERATOR
from yibao.service.ports import china_today
from yibao.service.services import Services

Headers = dict[str, str]


@pytest.fixture
def world(engine: Engine) -> Engine:
    build(engine)
    return engine


def insured(services: Services, person_id: str = ADULT) -> Headers:
    return account(services, Role.INSURED, person_id=person_id)


def approver(services: Services, region: str = CITY) -> Headers:
    return account(services, Role.APPROVER, region=region)


def settle(client: TestClient, at: Headers, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/v1/settlements", json=body, headers=at)
    assert answer.status_code == 201, answer.text
    out: dict[str, Any] = answer.json()
    return out


def quote(client: TestClient, at: Headers, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/v1/quotes", json=body, headers=at)
    assert answer.status_code == 200, answer.text
    out: dict[str, Any] = answer.json()
    return out


def refused(view: dict[str, Any]) -> str | None:
    return None if view["refused"] is None else str(view["refused"]["code"])


def apply(client: TestClient, at: Headers, **changes: Any) -> Any:
    body = {
        "person_id": ADULT,
        "disease": "dialysis",
        "certificate_ref": "DX-2026-0001",
        "hospital_id": H2,
        **changes,
    }
    return client.post("/v1/approvals", json=body, headers=at)


# --- approvals --------------------------------------------------------------------------


def test_an_approved_disease_settles_at_its_hospital_within_its_dates(
    world: Engine, client: TestClient, services: Services, clock: Any
) -> None:
    clock.today = date(2026, 3, 2)
    applied = apply(client, insured(services))
    assert applied.status_code == 201, applied.text
    app = applied.json()
    assert (app["status"], app["applied_on"], app["valid_from"]) == ("applied", "2026-03-02", None)
    assert app["applied_by"].startswith("insured-")
    at_h2, at_h3 = institution(services, H2), institution(services, H3)
    special = {"kind": "special_outpatient", "disease": "dialysis", "amount": "2000.00"}

    # Applied is not approved: the settlement does not use it.
    assert refused(settle(client, at_h2, bill("2026-04-01", **special))) == "special_no_approval"

    decision = {"approve": True, "valid_from": "2026-03-02", "valid_to": "2026-06-30"}
    path = f"/v1/approvals/{app['id']}/decision"
    assert client.post(path, json=decision, headers=clerk(services)).status_code == 403
    other = client.post(path, json=decision, headers=approver(services, COUNTY))
    assert (other.status_code, other.json()["code"]) == (404, "unknown_approval")
    early = client.post(
        path, json={**decision, "valid_from": "2026-03-01"}, headers=approver(services)
    )
    assert (early.status_code, early.json()["code"]) == (422, "before_application")
    backwards = client.post(
        path, json={**decision, "valid_to": "2026-03-01"}, headers=approver(services)
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "invalid_period")

    the_approver = approver(services)
    done = client.post(path, json=decision, headers=the_approver)
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["valid_to"]) == ("approved", "2026-06-30")
    again = client.post(path, json={"approve": False, "reason": "no"}, headers=the_approver)
    assert (again.status_code, again.json()["code"]) == (409, "already_decided")

    inside = settle(client, at_h2, bill("2026-04-02", **special))
    assert inside["route"] == "special_outpatient"
    assert refused(inside) is None
    assert inside["basic"] != "0.00"
    assert refused(settle(client, at_h3, bill("2026-04-03", **special))) == (
        "special_wrong_hospital"
    )
    assert refused(settle(client, at_h2, bill("2026-03-01", **special))) == "special_no_approval"
    assert refused(settle(client, at_h2, bill("2026-07-01", **special))) == "special_no_approval"
    assert audit(world, "approval", str(app["id"])) == ["approval.apply", "approval.approve"]


def test_a_rejected_approval_is_not_used(
    world: Engine, client: TestClient, services: Services, clock: Any
) -> None:
    clock.today = date(2026, 3, 2)
    app = apply(client, clerk(services), disease="malignant_tumor").json()
    path = f"/v1/approvals/{app['id']}/decision"
    the_approver = approver(services)
    no_reason = client.post(path, json={"approve": False}, headers=the_approver)
    assert (no_reason.status_code, no_reason.json()["code"]) == (422, "missing_field")
    no_period = client.post(path, json={"approve": True}, headers=the_approver)
    assert (no_period.status_code, no_period.json()["details"]["field"]) == (422, "valid_from")
    rejected = client.post(
        path, json={"approve": False, "reason": "the certificate is unsigned"}, headers=the_approver
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["rejection_reason"] == "the certificate is unsigned"
    assert rejected.json()["valid_from"] is None

    body = bill("2026-04-01", kind="special_outpatient", disease="malignant_tumor", amount="900.00")
    view = settle(client, institution(services, H2), body)
    assert refused(view) == "special_no_approval"
    assert audit(world, "approval", str(app["id"])) == ["approval.apply", "approval.reject"]
    # The person sees both the application and the decision.
    mine = client.get(f"/v1/persons/{ADULT}/approvals", headers=insured(services)).json()
    assert [(a["id"], a["status"]) for a in mine] == [(app["id"], "rejected")]


def test_applications_that_cannot_be_made(
    world: Engine, client: TestClient, services: Services
) -> None:
    me = insured(services)
    cases = [
        ({"disease": "diabetes"}, 422, "not_a_special_disease"),
        ({"hospital_id": PHARMACY}, 422, "not_a_designated_hospital"),
        ({"hospital_id": NOT_DESIGNATED}, 422, "not_a_designated_hospital"),
        ({"hospital_id": "NOWHERE"}, 404, "unknown_institution"),
        ({"person_id": STRANGER}, 404, "unknown_person"),
        ({"certificate_ref": "   "}, 422, "missing_field"),
        ({"certificate_ref": "x" * 65}, 422, "invalid_request"),
    ]
    for changes, status, code in cases:
        answer = apply(client, me, **changes)
        assert (answer.status_code, answer.json()["code"]) == (status, code), changes
        assert answer.json()["message"]
    assert apply(client, institution(services, H2)).status_code == 403
    assert apply(client, approver(services)).status_code == 403
    assert apply(client, {"X-Test-As": "anonymous"}).status_code == 401
    assert count(world, approvals) == 0
    assert apply(client, me).status_code == 201
    twice = apply(client, me)
    assert (twice.status_code, twice.json()["code"]) == (409, "application_pending")
    assert count(world, approvals) == 1


def test_the_queue_is_the_approvers_region_only(
    world: Engine, client: TestClient, services: Services
) -> None:
    first = apply(client, insured(services)).json()
    guardian = account(services, Role.GUARDIAN, person_id=GUARDIAN)
    # A guardian applies online for their child; the child's scheme (student) has the list too.
    second = apply(client, guardian, person_id=CHILD, hospital_id=H3).json()
    queue = client.get("/v1/approvals", headers=approver(services)).json()
    assert [a["id"] for a in queue] == [first["id"], second["id"]]
    assert {a["region"] for a in queue} == {CITY}
    assert client.get("/v1/approvals", headers=approver(services, COUNTY)).json() == []
    assert client.get("/v1/approvals", headers=insured(services)).status_code == 403
    assert client.get("/v1/approvals?status=approved", headers=clerk(services)).json() == []
    assert client.get("/v1/approvals?status=maybe", headers=clerk(services)).status_code == 422
    # One approval: the person and their staff see it; a stranger does not learn it exists.
    one = f"/v1/approvals/{second['id']}"
    assert client.get(one, headers=guardian).json()["person_id"] == CHILD
    assert client.get(one, headers=insured(services, STRANGER)).status_code == 404


# --- filings ----------------------------------------------------------------------------


def test_a_filing_settles_treatment_there_at_local_rates_within_its_dates(
    world: Engine, client: TestClient, services: Services
) -> None:
    at_county = institution(services, COUNTY_HOSPITAL)
    local = quote(client, institution(services, H2), bill("2026-05-10"))
    unfiled = quote(client, at_county, bill("2026-05-10"))
    assert (local["basic"], unfiled["basic"]) == ("100.00", "50.00")
    assert elsewhere_step(unfiled)["args"]["how"] == "unfiled"  # type: ignore[index]

    filed = client.post(
        "/v1/filings",
        json={
            "person_id": ADULT,
            "region": COUNTY,
            "valid_from": "2026-05-01",
            "valid_to": "2026-08-31",
        },
        headers=insured(services),
    )
    assert filed.status_code == 201, filed.text
    assert (filed.json()["channel"], filed.json()["region"]) == ("online", COUNTY)

    inside = settle(client, at_county, bill("2026-05-10"))
    assert inside["basic"] == local["basic"]
    assert elsewhere_step(inside)["rule"] == "filed"  # type: ignore[index]
    for day in ("2026-04-30", "2026-09-01"):
        outside = quote(client, at_county, bill(day))
        assert outside["basic"] == "50.00", day
    assert audit(world, "filing", str(filed.json()["id"])) == ["filing.create"]


def test_filings_that_cannot_be_made(world: Engine, client: TestClient, services: Services) -> None:
    body = {
        "person_id": ADULT,
        "region": COUNTY,
        "valid_from": "2026-05-01",
        "valid_to": "2026-08-31",
    }
    me = insured(services)
    cases = [
        ({"person_id": STRANGER}, 404, "unknown_person"),
        ({"region": CITY}, 422, "same_region"),
        ({"valid_to": "2026-04-30"}, 422, "invalid_period"),
        ({"region": ""}, 422, "invalid_request"),
    ]
    for changes, status, code in cases:
        answer = client.post("/v1/filings", json={**body, **changes}, headers=me)
        assert (answer.status_code, answer.json()["code"]) == (status, code), changes
    assert (
        client.post("/v1/filings", json=body, headers=institution(services, H2)).status_code == 403
    )
    assert count(world, filings) == 0

    at_counter = client.post("/v1/filings", json=body, headers=clerk(services))
    assert at_counter.status_code == 201
    assert at_counter.json()["channel"] == "agency"
    overlap = {**body, "region": "far-city", "valid_from": "2026-08-31", "valid_to": "2026-12-31"}
    clash = client.post("/v1/filings", json=overlap, headers=me)
    assert (clash.status_code, clash.json()["code"]) == (409, "filing_overlaps")
    later = {**overlap, "valid_from": "2026-09-01"}
    assert client.post("/v1/filings", json=later, headers=me).status_code == 201
    listed = client.get(f"/v1/persons/{ADULT}/filings", headers=me).json()
    assert [(f["region"], f["valid_from"]) for f in listed] == [
        (COUNTY, "2026-05-01"),
        ("far-city", "2026-09-01"),
    ]
    # A guardian files for their child, not for a stranger.
    guardian = account(services, Role.GUARDIAN, person_id=GUARDIAN)
    child = client.post("/v1/filings", json={**body, "person_id": CHILD}, headers=guardian)
    assert child.status_code == 201
    assert (
        client.post(
            "/v1/filings", json={**body, "person_id": STRANGER}, headers=guardian
        ).status_code
        == 404
    )
    assert client.get(f"/v1/persons/{ADULT}/filings", headers=guardian).status_code == 404
    assert count(world, filings) == 3


# --- referrals --------------------------------------------------------------------------


def referral_body(**changes: Any) -> dict[str, Any]:
    return {
        "card_number": card_of(ADULT),
        "to_region": COUNTY,
        "valid_from": "2026-05-01",
        "valid_to": "2026-05-31",
        "diagnosis": "I25.1",
        **changes,
    }


def test_a_referral_gets_the_referral_rate_within_its_dates(
    world: Engine, client: TestClient, services: Services
) -> None:
    at_county = institution(services, COUNTY_HOSPITAL)
    issued = client.post("/v1/referrals", json=referral_body(), headers=institution(services, H2))
    assert issued.status_code == 201, issued.text
    ref = issued.json()
    assert (ref["person_id"], ref["issued_by"], ref["to_region"]) == (ADULT, H2, COUNTY)

    inside = settle(client, at_county, bill("2026-05-10"))
    assert inside["referral"] is True
    assert elsewhere_step(inside)["args"]["how"] == "referral"  # type: ignore[index]
    assert inside["basic"] == "70.00"  # 100.00 at local rates, 30% off with a referral
    for day in ("2026-04-30", "2026-06-01"):
        outside = quote(client, at_county, bill(day))
        assert (outside["referral"], outside["basic"]) == (False, "50.00"), day
    # A referral to hill-county does nothing for treatment at home.
    assert quote(client, institution(services, H3), bill("2026-05-10"))["referral"] is False
    assert audit(world, "referral", str(ref["id"])) == ["referral.create"]


def test_an_emergency_with_a_referral_certificate_is_settled_as_an_emergency(
    world: Engine, client: TestClient, services: Services
) -> None:
    """Reference §6's ruling: holding a certificate never turns an emergency elsewhere into
    a referral (sample-city: emergencies at local rates, referrals 30% off), neither at
    the counter nor in a manual claim."""
    at_county = institution(services, COUNTY_HOSPITAL)
    issued = client.post("/v1/referrals", json=referral_body(), headers=institution(services, H2))
    assert issued.status_code == 201, issued.text

    emergency = settle(client, at_county, bill("2026-05-10", kind="emergency"))
    assert emergency["referral"] is True  # the certificate is a fact of the visit...
    assert elsewhere_step(emergency)["args"]["how"] == "emergency"  # type: ignore[index]
    assert emergency["basic"] == "100.00"  # ...but 200.00 x 50% is not cut by 30%
    ordinary = quote(client, at_county, bill("2026-05-11"))
    assert (ordinary["basic"], elsewhere_step(ordinary)["args"]["how"]) == ("70.00", "referral")  # type: ignore[index]

    at_clerk = clerk(services)
    body = {
        "person_id": ADULT,
        "reason": "emergency_elsewhere",
        "kind": "emergency",
        "date": "2026-05-12",
        "hospital_name": "县医院",
        "hospital_level": 2,
        "hospital_region": COUNTY,
        "hospital_designated": True,
        "lines": [{"class": "A", "amount": "200.00"}],
    }
    submitted = client.post("/v1/claims", json=body, headers=at_clerk)
    assert submitted.status_code == 201, submitted.text
    proposal = submitted.json()["proposal"]
    assert elsewhere_step(proposal)["args"]["how"] == "emergency"  # type: ignore[index]
    approved = client.post(f"/v1/claims/{submitted.json()['id']}/approval", headers=at_clerk)
    assert approved.status_code == 200, approved.text
    assert approved.json()["settlement"]["basic"] == "100.00"


def test_an_institution_sees_only_its_referrals(
    world: Engine, client: TestClient, services: Services
) -> None:
    h2, h3 = institution(services, H2), institution(services, H3)
    mine = client.post("/v1/referrals", json=referral_body(), headers=h2).json()
    theirs = client.post(
        "/v1/referrals", json=referral_body(card_number=None, person_id=CHILD), headers=h3
    ).json()
    assert [r["id"] for r in client.get("/v1/referrals", headers=h2).json()] == [mine["id"]]
    assert [r["id"] for r in client.get("/v1/referrals", headers=h3).json()] == [theirs["id"]]
    assert client.get(f"/v1/referrals/{mine['id']}", headers=h2).status_code == 200
    assert client.get(f"/v1/referrals/{mine['id']}", headers=h3).status_code == 404
    assert client.get(f"/v1/persons/{ADULT}/referrals", headers=h2).status_code == 403
    # Staff see the region's; the person and the guardian see their own.
    assert len(client.get("/v1/referrals", headers=clerk(services)).json()) == 2
    guardian = account(services, Role.GUARDIAN, person_id=GUARDIAN)
    assert [
        r["id"] for r in client.get(f"/v1/persons/{CHILD}/referrals", headers=guardian).json()
    ] == [theirs["id"]]
    assert client.get(f"/v1/referrals/{mine['id']}", headers=guardian).status_code == 404
    assert client.get(f"/v1/referrals/{mine['id']}", headers=insured(services)).status_code == 200


def test_referrals_that_cannot_be_issued(
    world: Engine, client: TestClient, services: Services
) -> None:
    h2 = institution(services, H2)
    cases: list[tuple[Headers, dict[str, Any], int, str]] = [
        (h2, {"to_region": CITY}, 422, "same_region"),
        (h2, {"person_id": ADULT}, 422, "missing_field"),
        (h2, {"card_number": None}, 422, "missing_field"),
        (h2, {"card_number": "NO-SUCH-CARD"}, 404, "unknown_card"),
        (h2, {"card_number": None, "person_id": "NOBODY"}, 404, "unknown_person"),
        (h2, {"valid_to": "2026-04-01"}, 422, "invalid_period"),
        (h2, {"diagnosis": "x" * 17}, 422, "invalid_request"),
        (institution(services, COUNTY_HOSPITAL), {}, 422, "not_insured_here"),
        (institution(services, PHARMACY), {}, 422, "not_a_designated_hospital"),
        (clerk(services), {}, 403, "forbidden"),
        (insured(services), {}, 403, "forbidden"),
    ]
    for at, changes, status, code in cases:
        answer = client.post("/v1/referrals", json=referral_body(**changes), headers=at)
        assert (answer.status_code, answer.json()["code"]) == (status, code), changes
    assert count(world, referrals) == 0


# --- the command line -------------------------------------------------------------------


def test_the_commands_act_as_the_account_named(
    world: Engine, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YIBAO_DATABASE_URL", world.url.render_as_string(hide_password=False))
    monkeypatch.delenv("YIBAO_ACTOR", raising=False)
    today = china_today()  # the commands run on the real clock
    if today.year != YEAR:
        with UnitOfWork(world) as uow:
            uow.registry.add_enrolment(
                Enrolment(ADULT, today.year, Scheme.RESIDENT, "active", today, today)
            )
            uow.commit()
    services.access.create_account(OPERATOR, "district-1", Role.APPROVER, "district", region=CITY)
    services.access.create_account(OPERATOR, "h2-desk", Role.INSTITUTION, "H2", institution_id=H2)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, Any]:
        done = runner.invoke(app, list(args))
        if done.exit_code:
            return done.exit_code, done.stderr.strip()
        return 0, json.loads(done.stdout)

    code, applied = run(
        "approval",
        "apply",
        ADULT,
        "--disease",
        "dialysis",
        "--certificate",
        "DX-9",
        "--hospital",
        H2,
    )
    assert (code, applied["status"], applied["applied_by"]) == (0, "applied", "operator")
    period = ["--from", today.isoformat(), "--to", (today + timedelta(days=90)).isoformat()]
    decide = ["approval", "decide", str(applied["id"])]
    assert run(*decide, "--approve", *period) == (
        2,
        "error: a clerk account may not do this (allowed: approver)",
    )
    code, approved = run(*decide, "--approve", *period, "--as", "district-1")
    assert (code, approved["status"], approved["decided_by"]) == (0, "approved", "district-1")
    code, message = run(*decide, "--reject", "--reason", "late", "--as", "district-1")
    assert (code, message) == (
        2,
        f"error: approval {applied['id']} is approved already: a decision is final",
    )
    assert (
        run("approval", "list", "--status", "all", "--as", "district-1")[1][0]["id"]
        == applied["id"]
    )
    assert run("approval", "list", "--as", "nobody") == (
        2,
        "error: --as: no active account 'nobody'",
    )

    code, filed = run(
        "filing", "add", ADULT, "--region", COUNTY, "--from", "2026-05-01", "--to", "2026-08-31"
    )
    assert (code, filed["channel"]) == (0, "agency")
    code, referral = run(
        "referral",
        "add",
        "--card",
        card_of(ADULT),
        "--to-region",
        COUNTY,
        "--from",
        "2026-05-01",
        "--to",
        "2026-05-31",
        "--diagnosis",
        "I25.1",
        "--as",
        "h2-desk",
    )
    assert (code, referral["issued_by"]) == (0, H2)
    assert run("pilot", "hospital", "add", CITY, "2026", H3)[1]["added"] is True
    listed = run("pilot", "hospital", "list", CITY, "2026")[1]
    assert [h["institution_id"] for h in listed["hospitals"]] == [H3]
    code, registered = run(
        "pilot",
        "register",
        CHILD,
        "--disease",
        "Q21.1",
        "--hospital",
        H3,
        "--admission",
        "2026-06-01",
    )
    assert (code, registered["limited_cost"]) == (0, "30000.00")
    assert audit(world, "pilot_hospital", f"{CITY}/2026/{H3}") == ["pilot.hospital.add"]
