"""The role matrix: which roles may call each /v1 endpoint, as a table, checked against the
app (every route has a row) and request by request for every role and an anonymous caller;
then the object-level boundaries with real records: a member sees only their own and their
children's, a school only its pupils, an institution only its own settlements, staff only
their region. A forbidden read is a 403 or a 404 with an error body, never data.

On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.auth import account
from integration.roles_world import C1, C2, CITY, COUNTY, G2, I1, I2, S1, S2, YEAR, bill, build
from yibao.domain.access import Role
from yibao.entrypoints.api.app import create_app
from yibao.service.services import Services

CLERK, APPROVER, SCHOOL = Role.CLERK, Role.APPROVER, Role.SCHOOL
INSTITUTION, INSURED, GUARDIAN = Role.INSTITUTION, Role.INSURED, Role.GUARDIAN
ANY = frozenset(Role)
PUBLIC: frozenset[Role] = frozenset()  # no sign-in needed: see PUBLIC_ROUTES
READERS = frozenset({CLERK, APPROVER, INSURED, GUARDIAN})  # staff and the person's family

# (method, path) -> the roles that may call it.
MATRIX: dict[tuple[str, str], frozenset[Role]] = {
    ("POST", "/v1/auth/tokens"): PUBLIC,
    ("GET", "/v1/me"): ANY,
    ("POST", "/v1/accounts"): frozenset({CLERK}),
    ("GET", "/v1/accounts"): frozenset({CLERK}),
    ("POST", "/v1/accounts/{account_id}/tokens"): frozenset({CLERK}),
    ("DELETE", "/v1/accounts/{account_id}/tokens"): frozenset({CLERK}),
    ("POST", "/v1/persons"): frozenset({CLERK}),
    ("GET", "/v1/persons/{person_id}"): ANY,  # the service answers 404 for others' persons
    ("POST", "/v1/enrolments"): frozenset({CLERK}),
    ("POST", "/v1/enrolments/household"): frozenset({CLERK}),
    ("GET", "/v1/regions/{region}/premiums/{year}"): frozenset({CLERK, APPROVER}),
    ("GET", "/v1/audit"): frozenset({CLERK, APPROVER}),
    ("POST", "/v1/settlements"): frozenset({INSTITUTION}),
    ("POST", "/v1/quotes"): frozenset({INSTITUTION}),
    ("GET", "/v1/settlements/{settlement_id}"): READERS | {INSTITUTION},
    ("POST", "/v1/settlements/{settlement_id}/reversal"): frozenset({INSTITUTION, CLERK}),
    ("POST", "/v1/claims"): frozenset({CLERK, INSURED, GUARDIAN}),
    ("GET", "/v1/claims"): frozenset({CLERK}),
    ("GET", "/v1/claims/{claim_id}"): frozenset({CLERK, INSURED, GUARDIAN}),
    ("POST", "/v1/claims/{claim_id}/approval"): frozenset({CLERK}),
    ("POST", "/v1/claims/{claim_id}/rejection"): frozenset({CLERK}),
    ("POST", "/v1/claims/{claim_id}/payment"): frozenset({CLERK}),
    # Medical: not for schools (they see enrolment, not treatment) nor institutions.
    ("GET", "/v1/persons/{person_id}/years/{year}"): frozenset(
        {Role.CLERK, Role.APPROVER, Role.INSURED, Role.GUARDIAN}
    ),
    ("GET", "/v1/institutions/{institution_id}/statements"): frozenset(
        {INSTITUTION, CLERK, APPROVER}
    ),
    # Clearing between regions is the agencies' business (reference §9).
    ("POST", "/v1/clearings"): frozenset({CLERK, APPROVER}),
    ("GET", "/v1/clearings"): frozenset({CLERK, APPROVER}),
    ("GET", "/v1/clearings/balances"): frozenset({CLERK, APPROVER}),
    ("GET", "/v1/clearings/{clearing_id}"): frozenset({CLERK, APPROVER}),
    ("POST", "/v1/clearings/{clearing_id}/confirmation"): frozenset({CLERK, APPROVER}),
    ("POST", "/v1/clearings/{clearing_id}/payment"): frozenset({CLERK, APPROVER}),
    ("GET", "/v1/clearings/{clearing_id}/export"): frozenset({CLERK, APPROVER}),
    ("GET", "/v1/schools/template.csv"): frozenset({SCHOOL, CLERK}),
    ("GET", "/v1/schools/template.xlsx"): frozenset({SCHOOL, CLERK}),
    ("POST", "/v1/schools"): frozenset({CLERK}),
    ("GET", "/v1/schools"): frozenset({CLERK, APPROVER, SCHOOL}),
    ("GET", "/v1/schools/{school_id}"): frozenset({CLERK, APPROVER, SCHOOL}),
    ("POST", "/v1/schools/{school_id}/batches"): frozenset({SCHOOL, CLERK}),
    ("GET", "/v1/schools/{school_id}/batches"): frozenset({SCHOOL, CLERK, APPROVER}),
    ("GET", "/v1/school-batches/{batch_id}"): frozenset({SCHOOL, CLERK, APPROVER}),
    ("GET", "/v1/school-batches/{batch_id}/rows"): frozenset({SCHOOL, CLERK, APPROVER}),
    ("GET", "/v1/school-rows"): frozenset({GUARDIAN, INSURED}),
    ("POST", "/v1/school-batches/{batch_id}/rows/{row_no}/declaration"): frozenset(
        {GUARDIAN, INSURED, CLERK}
    ),
    ("PUT", "/v1/school-batches/{batch_id}/rows/{row_no}"): frozenset({SCHOOL}),
    ("POST", "/v1/school-batches/{batch_id}/submission"): frozenset({SCHOOL}),
    ("POST", "/v1/school-batches/{batch_id}/review"): frozenset({CLERK}),
    ("POST", "/v1/collection/accounts"): frozenset({CLERK}),
    ("GET", "/v1/collection/accounts.csv"): frozenset({CLERK}),
    ("POST", "/v1/collection/imports"): frozenset({CLERK}),
    ("GET", "/v1/collection/imports/{import_id}"): frozenset({CLERK, APPROVER}),
    ("POST", "/v1/cards/{number}/issue"): frozenset({CLERK}),
    ("POST", "/v1/cards/{number}/replacement"): frozenset({CLERK}),
    ("POST", "/v1/cards/{number}/loss"): frozenset({CLERK, INSURED, GUARDIAN}),
    ("GET", "/v1/cards/overdue"): frozenset({CLERK, APPROVER}),
    ("GET", "/v1/persons/{person_id}/cards"): READERS,
    ("POST", "/v1/approvals"): frozenset({CLERK, INSURED, GUARDIAN}),
    ("GET", "/v1/approvals"): frozenset({CLERK, APPROVER}),
    ("GET", "/v1/approvals/{approval_id}"): READERS,
    ("POST", "/v1/approvals/{approval_id}/decision"): frozenset({APPROVER}),
    ("GET", "/v1/persons/{person_id}/approvals"): READERS,
    ("POST", "/v1/filings"): frozenset({CLERK, INSURED, GUARDIAN}),
    ("GET", "/v1/persons/{person_id}/filings"): READERS,
    ("POST", "/v1/referrals"): frozenset({INSTITUTION}),
    ("GET", "/v1/referrals"): frozenset({INSTITUTION, CLERK, APPROVER}),
    ("GET", "/v1/referrals/{referral_id}"): READERS | {INSTITUTION},
    ("GET", "/v1/persons/{person_id}/referrals"): READERS,
    ("POST", "/v1/persons/{person_id}/referrals"): frozenset({CLERK}),
    ("GET", "/v1/pilot/{region}/{year}"): ANY,
    ("PUT", "/v1/pilot/{region}/{year}/hospitals/{institution_id}"): frozenset({CLERK}),
    ("DELETE", "/v1/pilot/{region}/{year}/hospitals/{institution_id}"): frozenset({CLERK}),
    ("POST", "/v1/pilot/registrations"): frozenset({CLERK, INSTITUTION}),
    ("GET", "/v1/pilot/registrations"): frozenset({CLERK, APPROVER, INSTITUTION}),
    ("GET", "/v1/persons/{person_id}/pilot-registrations"): READERS,
    ("GET", "/v1/persons/{person_id}/categories"): READERS,
    ("POST", "/v1/persons/{person_id}/categories"): frozenset({CLERK}),
    ("POST", "/v1/persons/{person_id}/categories/end"): frozenset({CLERK}),
    ("POST", "/v1/institutions"): frozenset({CLERK}),
    ("GET", "/v1/institutions/{institution_id}"): frozenset({INSTITUTION, CLERK, APPROVER}),
    ("PATCH", "/v1/institutions/{institution_id}"): frozenset({CLERK}),
}
PUBLIC_ROUTES = frozenset({("POST", "/v1/auth/tokens")})

# What the matrix requests send. Path parameters name real records where that is easy
# (C1, I1, S1, C1's settlement and referral), dummies where the request would change
# something (a revoked token, a reversed settlement, a lost card would spoil later cells).
NOPE, MISSING = "NOPE", 999999
PATHS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/settlements/{settlement_id}/reversal"): {"settlement_id": MISSING},
    ("PUT", "/v1/pilot/{region}/{year}/hospitals/{institution_id}"): {"institution_id": NOPE},
    ("DELETE", "/v1/pilot/{region}/{year}/hospitals/{institution_id}"): {"institution_id": NOPE},
    ("POST", "/v1/persons/{person_id}/categories"): {"person_id": NOPE},
    ("POST", "/v1/persons/{person_id}/categories/end"): {"person_id": NOPE},
    ("PATCH", "/v1/institutions/{institution_id}"): {"institution_id": NOPE},
}
QUERIES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/v1/institutions/{institution_id}/statements"): {"month": "2026-06"},
    ("GET", "/v1/collection/accounts.csv"): {"region": CITY, "year": YEAR},
    ("GET", "/v1/cards/overdue"): {"region": CITY},
}
NOBODY = {"person_id": NOPE}  # a person no one may see: a 404, and nothing is written
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/auth/tokens"): {"account": NOPE, "password": "not-the-password"},
    ("POST", "/v1/accounts"): {"id": "made-in-matrix", "role": "insured", "name": "x", **NOBODY},
    ("POST", "/v1/persons"): {"id_number": "0" * 18, "name": "x", "region": CITY},
    ("POST", "/v1/enrolments"): {**NOBODY, "year": YEAR, "scheme": "resident"},
    ("POST", "/v1/enrolments/household"): {
        "child": {"id_number": "0" * 18, "name": "x", "region": CITY},
        "year": YEAR,
    },
    ("POST", "/v1/settlements"): {**bill(), "card_number": NOPE},
    ("POST", "/v1/quotes"): {**bill(), "card_number": NOPE},
    ("POST", "/v1/settlements/{settlement_id}/reversal"): {"reason": "matrix"},
    ("POST", "/v1/claims"): {
        **NOBODY,
        "reason": "other",
        "kind": "outpatient",
        "date": "2026-06-02",
        "hospital_name": "a clinic",
        "hospital_level": 1,
        "hospital_region": CITY,
        "hospital_designated": False,
        "lines": [{"class": "A", "amount": "80.00"}],
    },
    ("POST", "/v1/claims/{claim_id}/rejection"): {"reason": "matrix"},
    ("POST", "/v1/schools"): {"id": S1, "name": "again", "region": CITY},  # exists: 409
    ("PUT", "/v1/school-batches/{batch_id}/rows/{row_no}"): {},
    ("POST", "/v1/school-batches/{batch_id}/review"): {"accept_all": True},
    ("POST", "/v1/collection/accounts"): {"region": CITY, "year": YEAR},
    ("POST", "/v1/clearings"): {"month": "2026-01"},
    ("POST", "/v1/clearings/{clearing_id}/payment"): {"reference": "matrix"},
    ("POST", "/v1/approvals"): {
        **NOBODY,
        "disease": "M05",
        "certificate_ref": "R-1",
        "hospital_id": I1,
    },
    ("POST", "/v1/approvals/{approval_id}/decision"): {"approve": False, "reason": "matrix"},
    ("POST", "/v1/filings"): {
        **NOBODY,
        "region": COUNTY,
        "valid_from": "2026-07-01",
        "valid_to": "2026-08-31",
    },
    ("POST", "/v1/referrals"): {
        **NOBODY,
        "to_region": COUNTY,
        "valid_from": "2026-07-01",
        "valid_to": "2026-08-31",
        "diagnosis": "J18",
    },
    ("POST", "/v1/persons/{person_id}/referrals"): {
        "issued_by": I1,
        "to_region": COUNTY,
        "valid_from": "2026-07-01",
        "valid_to": "2026-08-31",
        "diagnosis": "J18",
    },
    ("POST", "/v1/persons/{person_id}/categories"): {"category": "low_income"},
    ("POST", "/v1/institutions"): {"id": I1, "region": CITY, "name": "again", "level": 1},
    ("PATCH", "/v1/institutions/{institution_id}"): {"type": "tcm"},
    ("POST", "/v1/persons/{person_id}/categories/end"): {"valid_to": "2026-09-30"},
    ("POST", "/v1/pilot/registrations"): {
        **NOBODY,
        "disease": "C91",
        "admission_date": "2026-06-01",
    },
}
# Multipart uploads: (files, form fields).
UPLOADS: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {
    ("POST", "/v1/schools/{school_id}/batches"): (
        {"file": ("class.csv", b"name\n", "text/csv")},
        {"year": str(YEAR)},
    ),
    ("POST", "/v1/collection/imports"): (
        {"file": ("bank.csv", b"account,amount,date,status\n", "text/csv")},
        {},
    ),
}


def v1_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route under /v1, into included routers too (FastAPI from
    0.16x keeps an included router whole instead of copying its routes into the app)."""
    for route in routes:
        if isinstance(route, APIRoute):
            path = prefix + route.path
            if path.startswith("/v1/") or path == "/v1":
                for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
                    yield method, path
        elif hasattr(route, "original_router"):
            inner = prefix + (getattr(route.include_context, "prefix", "") or "")
            yield from v1_routes(route.original_router.routes, inner)


def test_every_v1_route_has_a_row(services: Services) -> None:
    served = set(v1_routes(list(create_app(services).routes)))
    assert len(served) > 50, "the walk found the app's /v1 routes"
    assert served - MATRIX.keys() == set(), "routes without a row in MATRIX"
    assert MATRIX.keys() - served == set(), "rows in MATRIX the app does not serve"
    assert set(PATHS) | set(QUERIES) | set(BODIES) | set(UPLOADS) <= MATRIX.keys()


def _error_only(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and {"code", "message"} <= body.keys()
        and body.keys() <= {"code", "message", "details"}
    )


def _call(
    client: TestClient, key: tuple[str, str], headers: dict[str, str], values: dict[str, Any]
) -> Any:
    method, template = key
    url = template.format(**{**values, **PATHS.get(key, {})})
    kwargs: dict[str, Any] = {"headers": headers, "params": QUERIES.get(key)}
    if key in UPLOADS:
        kwargs["files"], kwargs["data"] = UPLOADS[key]
    elif key in BODIES:
        kwargs["json"] = BODIES[key]
    elif method in ("POST", "PUT"):
        kwargs["json"] = {}
    return client.request(method, url, **kwargs)


def _cell(key: tuple[str, str], who: str, answer: Any) -> str | None:
    """What is wrong with the answer to this role's request, or None."""
    allowed = MATRIX[key]
    status = answer.status_code
    try:
        body = answer.json()
    except ValueError:  # not JSON (a CSV, a workbook)
        body = answer.content[:60].decode("utf-8", "replace")
    said = f"{key[0]} {key[1]} as {who}: {status} {json.dumps(body, ensure_ascii=False)[:300]}"
    if status >= 500:
        return f"{said} (a server error)"
    if key in PUBLIC_ROUTES:
        if isinstance(body, dict) and body.get("code") in ("not_signed_in", "forbidden"):
            return f"{said} (a public route asked for a sign-in or a role)"
        return None
    if who == "anonymous":
        if status != 401 or not _error_only(body) or body["code"] != "not_signed_in":
            return f"{said} (expected 401 not_signed_in)"
    elif Role(who) in allowed:
        if status in (401, 403):
            return f"{said} (the role is allowed: expected neither 401 nor 403)"
    elif status not in (403, 404) or not _error_only(body):
        return f"{said} (the role is not allowed: expected a 403 or 404 error, never data)"
    return None


@pytest.mark.parametrize("who", [*(r.value for r in Role), "anonymous"])
def test_role_matrix(who: str, engine: Engine, services: Services, client: TestClient) -> None:
    """Every route, as one role: the allowed get past the role check, the others get a
    403 or 404 error and never data, an anonymous caller a 401."""
    world = build(engine, services, client)
    values = {
        "person_id": C1,
        "settlement_id": world.settlement,
        "referral_id": world.referral,
        "institution_id": I1,
        "school_id": S1,
        "region": CITY,
        "year": YEAR,
        "account_id": NOPE,
        "claim_id": MISSING,
        "approval_id": MISSING,
        "clearing_id": MISSING,
        "batch_id": MISSING,
        "import_id": MISSING,
        "row_no": 2,
        "number": NOPE,
    }
    failures = []
    for key in MATRIX:
        try:
            answer = _call(client, key, world.accounts[who], values)
        except Exception as exc:  # a server error raised through the test client
            failures.append(f"{key[0]} {key[1]} as {who}: raised {exc!r}")
            continue
        if (wrong := _cell(key, who, answer)) is not None:
            failures.append(wrong)
    assert not failures, f"{len(failures)} cells disagree with MATRIX:\n" + "\n".join(failures)


# --- object-level boundaries with real records ------------------------------------------


def _no_data_of(answer: Any, *marks: str) -> None:
    """A refusal: 403 or 404, an error body, and nothing of the record in it."""
    assert answer.status_code in (403, 404), answer.text
    assert _error_only(answer.json()), answer.text
    text = json.dumps(answer.json()["message"]) + json.dumps(answer.json().get("details"))
    for mark in marks:
        assert mark not in text, (mark, answer.text)


def test_a_family_sees_its_own_and_no_other(
    engine: Engine, services: Services, client: TestClient
) -> None:
    world = build(engine, services, client)
    g1 = world.accounts["guardian"]
    g2 = account(services, Role.GUARDIAN, person_id=G2)
    c2 = account(services, Role.INSURED, person_id=C2)
    c1 = world.accounts["insured"]
    reads = [
        f"/v1/persons/{C1}",
        f"/v1/persons/{C1}/years/{YEAR}",
        f"/v1/settlements/{world.settlement}",
        f"/v1/referrals/{world.referral}",
        f"/v1/persons/{C1}/cards",
        f"/v1/persons/{C1}/approvals",
        f"/v1/persons/{C1}/filings",
        f"/v1/persons/{C1}/referrals",
        f"/v1/persons/{C1}/pilot-registrations",
    ]
    for url in reads:
        for mine in (g1, c1):
            assert client.get(url, headers=mine).status_code == 200, url
        for other in (g2, c2):
            answer = client.get(url, headers=other)
            assert answer.status_code == 404, (url, answer.text)
            _no_data_of(answer, "CARD-C1", "person C1")
    # Each guardian sees their own child only.
    assert client.get(f"/v1/persons/{C2}", headers=g2).status_code == 200
    assert client.get(f"/v1/persons/{C2}", headers=g1).status_code == 404
    # A card of another family cannot be reported lost.
    lost = client.post(f"/v1/cards/CARD-{C1}/loss", headers=g2)
    _no_data_of(lost, "person C1")
    card = client.get(f"/v1/persons/{C1}", headers=g1).json()["cards"][0]
    assert card["status"] == "active"


def test_an_institution_sees_only_its_own_settlements(
    engine: Engine, services: Services, client: TestClient
) -> None:
    world = build(engine, services, client)
    i1 = world.accounts["institution"]
    i2 = account(services, Role.INSTITUTION, institution_id=I2)
    url = f"/v1/settlements/{world.settlement}"
    assert client.get(url, headers=i1).status_code == 200
    _no_data_of(client.get(url, headers=i2), CITY)
    reversal = client.post(f"{url}/reversal", json={"reason": "not mine"}, headers=i2)
    assert reversal.status_code == 404, reversal.text
    _no_data_of(reversal)
    assert client.get(url, headers=i1).json()["status"] == "settled"
    # Its referrals and statements are its own too.
    _no_data_of(client.get(f"/v1/referrals/{world.referral}", headers=i2))
    assert client.get(f"/v1/referrals/{world.referral}", headers=i1).status_code == 200
    mine = client.get("/v1/referrals", headers=i2)
    assert mine.status_code == 200
    assert mine.json() == []
    month = {"month": "2026-06"}
    assert client.get(f"/v1/institutions/{I1}/statements", params=month, headers=i1).is_success
    _no_data_of(client.get(f"/v1/institutions/{I1}/statements", params=month, headers=i2))
    # An institution reads no person's records.
    for who in (i1, i2):
        _no_data_of(client.get(f"/v1/persons/{C1}", headers=who), "CARD-C1")
        _no_data_of(client.get(f"/v1/persons/{C1}/years/{YEAR}", headers=who))


def test_a_school_sees_only_its_pupils(
    engine: Engine, services: Services, client: TestClient
) -> None:
    world = build(engine, services, client)
    s1 = world.accounts["school"]
    s2 = account(services, Role.SCHOOL, school_id=S2)
    assert client.get(f"/v1/persons/{C1}", headers=s1).status_code == 200
    _no_data_of(client.get(f"/v1/persons/{C1}", headers=s2), "CARD-C1", "person C1")
    assert client.get(f"/v1/persons/{C2}", headers=s2).status_code == 200
    _no_data_of(client.get(f"/v1/persons/{C2}", headers=s1), "CARD-C2", "person C2")
    # Not the pupils' guardians (enrolled at the agency), and not the other school.
    _no_data_of(client.get("/v1/persons/G1", headers=s1))
    assert client.get(f"/v1/schools/{S1}", headers=s1).status_code == 200
    _no_data_of(client.get(f"/v1/schools/{S2}", headers=s1), "School Two")
    _no_data_of(client.get(f"/v1/schools/{S2}/batches", headers=s1))
    listed = client.get("/v1/schools", headers=s1)
    assert [s["id"] for s in listed.json()] == [S1]
    # Nor their treatment: neither a settlement nor the year of them.
    _no_data_of(client.get(f"/v1/settlements/{world.settlement}", headers=s1))
    year = client.get(f"/v1/persons/{C1}/years/{YEAR}", headers=s1)
    assert year.status_code == 403, year.text
    _no_data_of(year, "explanation", "I1")


def test_staff_see_only_their_region(
    engine: Engine, services: Services, client: TestClient
) -> None:
    world = build(engine, services, client)
    for role in (Role.CLERK, Role.APPROVER):
        ours = world.accounts[role.value]
        theirs = account(services, role, region=COUNTY)
        for url in (
            f"/v1/persons/{C1}",
            f"/v1/persons/{C1}/years/{YEAR}",
            f"/v1/settlements/{world.settlement}",
            f"/v1/persons/{C1}/cards",
            f"/v1/referrals/{world.referral}",
        ):
            assert client.get(url, headers=ours).status_code == 200, (role, url)
            _no_data_of(client.get(url, headers=theirs), "CARD-C1", "person C1")
        _no_data_of(client.get(f"/v1/regions/{CITY}/premiums/{YEAR}", headers=theirs))
        _no_data_of(client.get(f"/v1/schools/{S1}", headers=theirs), "School One")
    county_clerk = account(services, Role.CLERK, region=COUNTY)
    reversal = client.post(
        f"/v1/settlements/{world.settlement}/reversal",
        json={"reason": "not ours"},
        headers=county_clerk,
    )
    _no_data_of(reversal)
    url = f"/v1/settlements/{world.settlement}"
    assert client.get(url, headers=world.accounts["clerk"]).json()["status"] == "settled"
