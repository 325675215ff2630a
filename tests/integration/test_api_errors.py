"""Every bad request gets a 4xx with a machine-readable `code` and a clear `message`, and
writes nothing: the row count of every table and the person-years' accumulators are the
same before and after. On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from integration.auth import account
from integration.world import register
from yibao.adapters.db.tables import audit_log, metadata, person_years
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import load_region, search_path
from yibao.adapters.scenario_files import load_scenario
from yibao.domain.access import Role
from yibao.domain.ids import make_resident_id, parse_resident_id
from yibao.domain.model import LineClass, Scheme
from yibao.domain.registry import (
    Card,
    CardStatus,
    CatalogueItem,
    Enrolment,
    PersonRecord,
)
from yibao.entrypoints.api.routers import claims as claims_api
from yibao.entrypoints.api.routers import persons as persons_api
from yibao.entrypoints.api.routers import settlements as settlements_api
from yibao.entrypoints.api.schemas import BillIn
from yibao.service.services import Services

TESTS = Path(__file__).resolve().parent.parent
POLICY_PATH = search_path([TESTS / "regions"])
SCENARIO = TESTS.parent / "examples" / "student-outpatient-cap.yaml"

# The world: sample-city, 2026. P2 (a student) holds CARD-P2; C1 is a designated level-1
# clinic, X9 a clinic that is not designated.
REGION = "sample-city"
PERSON = "P2"
CARD = "CARD-P2"
CLINIC = "C1"
NOT_DESIGNATED = "X9"
DAY = "2026-06-01"
FIXED_CODE, FIXED_PRICE = "FIX-1", Decimal("25.00")
LOST_CARD = "LOST-P2"
OLD_CARD = "OLD-P2"
# Holders whose enrolment does not cover DAY.
NO_ENROLMENT = "CARD-NOENROL"
OTHER_YEAR = "CARD-2025"
PENDING = "CARD-PENDING"
CANCELLED = "CARD-CANCELLED"
LATER_START = "CARD-LATER"


@dataclass(frozen=True)
class World:
    settlement: int  # P2's card settlement at C1
    submitted_claim: int
    approved_claim: int
    rejected_claim: int


def _add_holder(
    uow: UnitOfWork, admdvs: str, seq: int, card: str, enrolment: tuple[int, str, date] | None
) -> str:
    reg = uow.registry
    person_id = f"Q{seq}"
    birth = date(1980, 1, seq)
    reg.add_person(
        PersonRecord(
            person_id,
            make_resident_id(admdvs, birth, seq),
            f"person {person_id}",
            birth,
            parse_resident_id(make_resident_id(admdvs, birth, seq)).sex,
            REGION,
        )
    )
    if enrolment is not None:
        year, status, start = enrolment
        reg.add_enrolment(
            Enrolment(person_id, year, Scheme.RESIDENT, status, start, date(year, 12, 31))
        )
    reg.add_card(Card(card, person_id, CardStatus.ACTIVE, date(2025, 1, 1)))
    return person_id


def bill(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "card_number": CARD,
        "kind": "outpatient",
        "date": DAY,
        "lines": [{"code": "TEST-A", "quantity": "1", "unit_price": "100.00"}],
    }
    body.update(changes)
    return body


def line(**changes: Any) -> dict[str, Any]:
    return {"code": "TEST-A", "quantity": "1", "unit_price": "100.00", **changes}


def claim(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "person_id": PERSON,
        "reason": "other",
        "kind": "outpatient",
        "date": "2026-06-02",
        "hospital_name": "a clinic in the next street",
        "hospital_level": 1,
        "hospital_region": REGION,
        "hospital_designated": False,
        "lines": [{"class": "A", "amount": "80.00"}],
    }
    body.update(changes)
    return body


AT_CLINIC = {"X-Institution": CLINIC}


@pytest.fixture
def world(engine: Engine, client: TestClient) -> World:
    """P2 registered as the scenario has them, other holders, and a year already under
    way: one settlement, and claims submitted, approved and rejected."""
    scenario = load_scenario(SCENARIO)
    admdvs = load_region(REGION, POLICY_PATH).admdvs
    with UnitOfWork(engine) as uow:
        who = register(uow, scenario, POLICY_PATH)
        assert (who.person_id, who.card_number) == (PERSON, CARD)
        reg = uow.registry
        reg.add_catalogue_items(
            REGION, [CatalogueItem(FIXED_CODE, "a fixed-price item", LineClass.A, FIXED_PRICE)]
        )
        reg.add_card(Card(LOST_CARD, PERSON, CardStatus.LOST, date(2025, 1, 1)))
        reg.add_card(Card(OLD_CARD, PERSON, CardStatus.REPLACED, date(2020, 1, 1), CARD))
        _add_holder(uow, admdvs, 1, NO_ENROLMENT, None)
        _add_holder(uow, admdvs, 2, OTHER_YEAR, (2025, "active", date(2025, 1, 1)))
        _add_holder(uow, admdvs, 3, PENDING, (2026, "pending", date(2026, 1, 1)))
        _add_holder(uow, admdvs, 4, CANCELLED, (2026, "cancelled", date(2026, 1, 1)))
        _add_holder(uow, admdvs, 5, LATER_START, (2026, "active", date(2026, 9, 1)))
        uow.commit()
    settled = client.post("/v1/settlements", json=bill(date="2026-02-03"), headers=AT_CLINIC)
    assert settled.status_code == 201, settled.text
    ids = []
    for _ in range(3):
        submitted = client.post("/v1/claims", json=claim())
        assert submitted.status_code == 201, submitted.text
        ids.append(submitted.json()["id"])
    approved = client.post(f"/v1/claims/{ids[1]}/approval")
    assert approved.status_code == 200, approved.text
    rejected = client.post(f"/v1/claims/{ids[2]}/rejection", json={"reason": "no receipt"})
    assert rejected.status_code == 200, rejected.text
    return World(settled.json()["id"], ids[0], ids[1], ids[2])


# --- writes nothing ---------------------------------------------------------------------


def snapshot(engine: Engine) -> dict[str, Any]:
    """Rows in every table, and every person-year's accumulators."""
    with engine.connect() as conn:
        # The test client makes the accounts it signs as on first use: not the request's doing.
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
            if t.name not in ("accounts", "api_tokens")
        }
        counts["audit_log"] = conn.execute(
            select(func.count()).select_from(audit_log).where(audit_log.c.object_type != "account")
        ).scalar_one()
        c = person_years.c
        years = [
            (r.person_id, r.year, json.loads(r.state), r.settled)
            for r in conn.execute(select(person_years).order_by(c.person_id, c.year))
        ]
    return {"rows": counts, "person_years": years}


@contextmanager
def writes_nothing(engine: Engine) -> Iterator[None]:
    before = snapshot(engine)
    assert before["person_years"], "the world has a year under way"
    yield
    after = snapshot(engine)
    assert after["rows"] == before["rows"], "a refused request wrote rows"
    assert after["person_years"] == before["person_years"], "the accumulators moved"


def refused(answer: httpx.Response, status: int, code: str, *words: str) -> dict[str, Any]:
    """The answer is the error `code` with `status`, and its message names `words`."""
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert body["code"] == code, body
    message = body["message"]
    assert isinstance(message, str), body
    assert len(message) > 10, body
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"
    return body


# --- settlements: the registry says no -----------------------------------------------------


def test_unknown_card(engine: Engine, client: TestClient, world: World) -> None:
    with writes_nothing(engine):
        answer = client.post("/v1/settlements", json=bill(card_number="NO-SUCH"), headers=AT_CLINIC)
    refused(answer, 422, "unknown_card", "NO-SUCH")


def test_lost_card_points_to_manual_reimbursement(
    engine: Engine, client: TestClient, world: World
) -> None:
    with writes_nothing(engine):
        answer = client.post("/v1/settlements", json=bill(card_number=LOST_CARD), headers=AT_CLINIC)
    refused(answer, 422, "card_lost", LOST_CARD, "lost", "manual reimbursement")


def test_replaced_card_names_the_new_card(engine: Engine, client: TestClient, world: World) -> None:
    with writes_nothing(engine):
        answer = client.post("/v1/settlements", json=bill(card_number=OLD_CARD), headers=AT_CLINIC)
    refused(answer, 422, "card_replaced", OLD_CARD, "replaced", CARD)


@pytest.mark.parametrize(
    "card",
    [NO_ENROLMENT, OTHER_YEAR, PENDING, CANCELLED, LATER_START],
    ids=["no-enrolment", "enrolled-another-year", "pending", "cancelled", "starts-later"],
)
def test_not_enrolled_on_the_day(
    engine: Engine, client: TestClient, world: World, card: str
) -> None:
    with writes_nothing(engine):
        answer = client.post("/v1/settlements", json=bill(card_number=card), headers=AT_CLINIC)
    refused(answer, 422, "not_enrolled", "enrolled", DAY)


def test_unknown_catalogue_codes_are_listed(
    engine: Engine, client: TestClient, world: World
) -> None:
    lines = [line(), line(code="NOPE-2"), line(code="NOPE-1"), line(code="NOPE-2")]
    with writes_nothing(engine):
        answer = client.post("/v1/settlements", json=bill(lines=lines), headers=AT_CLINIC)
    body = refused(answer, 422, "unknown_catalogue_code", "NOPE-1", "NOPE-2", "catalogue")
    assert body["details"] == {"codes": ["NOPE-1", "NOPE-2"]}


def test_a_price_above_the_cap_is_over_limit_self_pay_not_refused(
    engine: Engine, client: TestClient, world: World
) -> None:
    """Reference §1a: the catalogue's price is a cap; the excess is the patient's."""
    lines = [line(code=FIXED_CODE, quantity="3", unit_price="26.005")]
    with writes_nothing(engine):
        answer = client.post("/v1/quotes", json=bill(lines=lines), headers=AT_CLINIC)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # 3 x 26.005 = 78.015 -> 78.02; (26.005 - 25.00) x 3 = 3.015 -> 3.02 over the cap
    assert (body["total"], body["over_limit"], body["eligible"]) == ("78.02", "3.02", "75.00")
    (only,) = body["lines"]
    assert (only["cap"], only["over_limit"], only["eligible"], only["unit_price"]) == (
        "25.00",
        "3.02",
        "75.00",
        "26.005",
    )
    over = next(s for s in body["explanation"] if s["rule"] == "line_over_limit")
    assert over["result"] == "3.02"


def test_fixed_price_matched_is_accepted_by_a_quote(
    engine: Engine, client: TestClient, world: World
) -> None:
    lines = [line(code=FIXED_CODE, quantity="2", unit_price="25.00")]
    with writes_nothing(engine):
        answer = client.post("/v1/quotes", json=bill(lines=lines), headers=AT_CLINIC)
    assert answer.status_code == 200, answer.text
    assert answer.json()["total"] == "50.00"


def test_not_designated_institution(engine: Engine, client: TestClient, world: World) -> None:
    with writes_nothing(engine):
        answer = client.post(
            "/v1/settlements", json=bill(), headers={"X-Institution": NOT_DESIGNATED}
        )
    refused(answer, 422, "not_designated", NOT_DESIGNATED, "designated", "manual reimbursement")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer yb_nobody-issued-this", "Bearer ", "Basic dXNlcjpwYXNz", "yb_no-scheme"],
    ids=["unknown-token", "empty-token", "basic-auth", "no-scheme"],
)
def test_a_token_no_one_issued(
    engine: Engine, client: TestClient, world: World, authorization: str
) -> None:
    with writes_nothing(engine):
        answer = client.post(
            "/v1/settlements", json=bill(), headers={"Authorization": authorization}
        )
    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] in ("invalid_token", "not_signed_in")


@pytest.mark.parametrize("path", ["/v1/settlements", "/v1/quotes", "/v1/settlements/1/reversal"])
def test_institution_routes_need_a_signed_in_caller(
    engine: Engine, client: TestClient, world: World, path: str
) -> None:
    body = {"reason": "refund"} if path.endswith("reversal") else bill()
    with writes_nothing(engine):
        answer = client.post(path, json=body, headers={"X-Test-As": "anonymous"})
    refused(answer, 401, "not_signed_in", "Authorization: Bearer")


def test_unknown_institution(engine: Engine, client: TestClient, world: World) -> None:
    """An institution account whose institution is not (or no longer) registered."""
    with writes_nothing(engine):
        answer = client.post("/v1/settlements", json=bill(), headers={"X-Institution": "NOWHERE"})
    refused(answer, 422, "unknown_institution", "NOWHERE", "registered")


@pytest.mark.parametrize("path", ["/v1/settlements", "/v1/quotes"])
@pytest.mark.parametrize("role", ["clerk", "approver", "insured", "guardian", "school"])
def test_only_an_institution_settles(
    engine: Engine, client: TestClient, services: Services, world: World, path: str, role: str
) -> None:
    member = role in ("insured", "guardian")
    headers = account(
        services,
        Role(role),
        person_id=PERSON if member else None,
        school_id="S1" if role == "school" else None,
    )
    with writes_nothing(engine):
        answer = client.post(path, json=bill(), headers=headers)
    refused(answer, 403, "forbidden", role, "institution")


@pytest.mark.parametrize("disease", [None, ""], ids=["absent", "empty"])
def test_special_outpatient_without_disease(
    engine: Engine, client: TestClient, world: World, disease: str | None
) -> None:
    body = bill(kind="special_outpatient")
    if disease is not None:
        body["disease"] = disease
    with writes_nothing(engine):
        answer = client.post("/v1/settlements", json=body, headers=AT_CLINIC)
    refused(answer, 422, "missing_disease", "special_outpatient", "disease")


# --- settlements: amounts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("unit_price", "-1.00", ("lines.0.unit_price", "negative")),
        ("unit_price", -1, ("lines.0.unit_price", "negative")),
        ("unit_price", "1.0000005", ("lines.0.unit_price", "decimal places")),
        ("unit_price", 0.1 + 0.2, ("lines.0.unit_price", "0.30000000000000004")),
        ("unit_price", "1e3", ("lines.0.unit_price", "decimal")),
        ("unit_price", "", ("lines.0.unit_price", "decimal")),
        ("unit_price", True, ("lines.0.unit_price", "decimal")),
        ("unit_price", None, ("lines.0.unit_price",)),
        ("quantity", "0", ("lines.0.quantity", "above 0")),
        ("quantity", 0, ("lines.0.quantity", "above 0")),
        ("quantity", "-1", ("lines.0.quantity", "above 0")),
        ("quantity", "0.00001", ("lines.0.quantity", "decimal places")),
        ("quantity", 0.1 + 0.2, ("lines.0.quantity", "decimal places")),
        ("quantity", "one", ("lines.0.quantity", "decimal")),
        ("code", "", ("lines.0.code",)),
        ("code", "X" * 65, ("lines.0.code",)),
    ],
    ids=[
        "negative-price-text",
        "negative-price-number",
        "price-7-decimals",
        "price-inexact-float",
        "price-exponent",
        "price-empty",
        "price-bool",
        "price-null",
        "quantity-zero-text",
        "quantity-zero-number",
        "quantity-negative",
        "quantity-5-decimals",
        "quantity-inexact-float",
        "quantity-word",
        "code-empty",
        "code-too-long",
    ],
)
def test_bad_line_values(
    engine: Engine,
    client: TestClient,
    world: World,
    field: str,
    value: object,
    words: tuple[str, ...],
) -> None:
    with writes_nothing(engine):
        answer = client.post(
            "/v1/settlements", json=bill(lines=[line(**{field: value})]), headers=AT_CLINIC
        )
    body = refused(answer, 422, "invalid_request", *words)
    assert body["details"]["errors"], body


def test_exact_json_numbers_are_accepted(engine: Engine, client: TestClient, world: World) -> None:
    """The other side of the float rule: 0.1 and 12.5 are exactly what the client wrote."""
    lines = [line(quantity=2, unit_price=0.1), line(quantity=0.5, unit_price=12.5)]
    with writes_nothing(engine):
        answer = client.post("/v1/quotes", json=bill(lines=lines), headers=AT_CLINIC)
    assert answer.status_code == 200, answer.text
    assert answer.json()["total"] == "6.45"


@pytest.mark.parametrize(
    "lines",
    [
        [line(unit_price="10000000.01")],
        [line(unit_price="6000000.00"), line(unit_price="4000000.01")],
        [line(quantity="1000", unit_price="10000.01")],
    ],
    ids=["one-line", "two-lines", "quantity-times-price"],
)
def test_a_bill_above_ten_million(
    engine: Engine, client: TestClient, world: World, lines: list[dict[str, Any]]
) -> None:
    with writes_nothing(engine):
        answer = client.post("/v1/settlements", json=bill(lines=lines), headers=AT_CLINIC)
    refused(answer, 422, "amount_too_large", "10000000.00")


def test_a_bill_of_exactly_ten_million_is_not_too_large(
    engine: Engine, client: TestClient, world: World
) -> None:
    with writes_nothing(engine):
        answer = client.post(
            "/v1/quotes", json=bill(lines=[line(unit_price="10000000.00")]), headers=AT_CLINIC
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["total"] == "10000000.00"


def test_an_absurd_price_is_too_large_not_a_crash(
    engine: Engine, client: TestClient, world: World
) -> None:
    """Beyond the 28 digits of the decimal context: still refused as too large."""
    with writes_nothing(engine):
        answer = client.post(
            "/v1/settlements",
            json=bill(lines=[line(quantity="1", unit_price="1" + "0" * 30)]),
            headers=AT_CLINIC,
        )
    refused(answer, 422, "amount_too_large", "line 1", "10000000.00")


@pytest.mark.parametrize(
    "changes",
    [
        {"quantity": "1" + "0" * 30, "unit_price": "1.00"},
        {"quantity": "9" * 40, "unit_price": "9" * 40},
    ],
    ids=["huge-quantity", "huge-both"],
)
def test_an_absurd_quantity_is_refused_naming_it_not_a_crash(
    engine: Engine, client: TestClient, world: World, changes: dict[str, str]
) -> None:
    """A quantity is at most 1,000,000: refused at the edge, before any arithmetic."""
    with writes_nothing(engine):
        answer = client.post(
            "/v1/settlements", json=bill(lines=[line(**changes)]), headers=AT_CLINIC
        )
    refused(answer, 422, "invalid_request", "quantity", "1,000,000")


def test_a_huge_quantity_of_a_free_item_is_refused_not_a_crash(
    engine: Engine, client: TestClient, world: World
) -> None:
    """A quantity with more digits than the stored quantity column holds."""
    with writes_nothing(engine):
        answer = client.post(
            "/v1/settlements",
            json=bill(lines=[line(quantity="1" + "0" * 30, unit_price="0.00")]),
            headers=AT_CLINIC,
        )
    refused(answer, 422, "invalid_request", "quantity")


# --- settlements: the shape of the request ---------------------------------------------


def _without(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(body: dict[str, Any]) -> dict[str, Any]:
        del body[key]
        return body

    return change


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda b: {**b, "lines": []}, ("lines", "at least 1")),
        (lambda b: {**b, "lines": [line()] * 1001}, ("lines", "at most 1000")),
        (lambda b: {**b, "kind": "dental"}, ("kind",)),
        (lambda b: {**b, "date": "2026-02-30"}, ("date",)),
        (lambda b: {**b, "date": "01/06/2026"}, ("date",)),
        (lambda b: {**b, "surprise": 1}, ("surprise", "not permitted")),
        (lambda b: {**b, "lines": [{**line(), "class": "A"}]}, ("lines.0.class", "not permitted")),
        (lambda b: {**b, "card_number": ""}, ("card_number",)),
        (lambda b: {**b, "card_number": "C" * 33}, ("card_number",)),
        (lambda b: {**b, "diagnosis": "D" * 17}, ("diagnosis",)),
        (lambda b: {**b, "lines": "TEST-A"}, ("lines",)),
        (_without("card_number"), ("card_number", "voucher", "exactly one")),
        (_without("lines"), ("lines", "required")),
    ],
    ids=[
        "no-lines",
        "too-many-lines",
        "unknown-kind",
        "february-30",
        "not-iso-date",
        "unknown-field",
        "unknown-line-field",
        "empty-card",
        "long-card",
        "long-diagnosis",
        "lines-not-a-list",
        "no-card",
        "no-lines-field",
    ],
)
def test_malformed_bill(
    engine: Engine,
    client: TestClient,
    world: World,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    words: tuple[str, ...],
) -> None:
    with writes_nothing(engine):
        answer = client.post("/v1/settlements", json=change(bill()), headers=AT_CLINIC)
    refused(answer, 422, "invalid_request", *words)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"card_number": "CARD-P2", "kind": "outpat', ("not valid json",)),
        ("", ("body", "required")),
        (json.dumps([bill()]), ("body", "object")),
        ('"a bill"', ("body", "object")),
        ("null", ("body", "object")),
    ],
    ids=["truncated-json", "empty-body", "json-list", "json-string", "json-null"],
)
def test_a_body_that_is_not_a_bill(
    engine: Engine, client: TestClient, world: World, content: str, words: tuple[str, ...]
) -> None:
    with writes_nothing(engine):
        answer = client.post(
            "/v1/settlements",
            content=content,
            headers={**AT_CLINIC, "Content-Type": "application/json"},
        )
    refused(answer, 422, "invalid_request", *words)


def test_too_long_headers(engine: Engine, client: TestClient, world: World) -> None:
    with writes_nothing(engine):
        long_token = client.post(
            "/v1/settlements", json=bill(), headers={"Authorization": "Bearer " + "t" * 300}
        )
        long_key = client.post(
            "/v1/settlements", json=bill(), headers={**AT_CLINIC, "Idempotency-Key": "k" * 201}
        )
    refused(long_token, 422, "invalid_request", "authorization")
    refused(long_key, 422, "invalid_request", "idempotency-key")


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("POST", "/v1/settlements", bill(card_number="CARD\x00P2"), "unknown_card"),
        ("POST", "/v1/settlements", bill(diagnosis="K35\x008"), "invalid_request"),
        ("POST", "/v1/claims", claim(person_id="P\x002"), "unknown_person"),
        ("POST", "/v1/claims", claim(hospital_name="clinic\x00"), "invalid_request"),
        ("GET", "/v1/persons/P%002/years/2026", None, "unknown_person"),
    ],
    ids=[
        "settlement-card",
        "settlement-diagnosis",
        "claim-person",
        "claim-hospital-name",
        "person-year-path",
    ],
)
def test_a_nul_character_is_refused_not_a_crash(
    engine: Engine,
    client: TestClient,
    world: World,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    expected: str,
) -> None:
    """PostgreSQL text cannot hold NUL: refused (as the value not found, or as invalid)
    before it gets there, the same on both databases."""
    with writes_nothing(engine):
        headers = AT_CLINIC if "settlements" in path else {}  # claims and persons: a clerk
        answer = client.request(method, path, json=body, headers=headers)
    assert answer.status_code in {404, 422}, answer.text
    assert answer.json()["code"] in {expected, "invalid_request"}, answer.text


@pytest.mark.parametrize("settlement_id", [999_999, 2**63, 10**30])
def test_unknown_settlement(
    engine: Engine, client: TestClient, world: World, settlement_id: int
) -> None:
    with writes_nothing(engine):
        got = client.get(f"/v1/settlements/{settlement_id}", headers=AT_CLINIC)
        reversed_ = client.post(
            f"/v1/settlements/{settlement_id}/reversal", json={"reason": "x"}, headers=AT_CLINIC
        )
    for answer in (got, reversed_):
        assert (answer.status_code, answer.json()["code"]) in {
            (404, "unknown_settlement"),
            (422, "invalid_request"),
        }, answer.text


def test_reversal_by_another_institution(engine: Engine, client: TestClient, world: World) -> None:
    """An institution sees only its own settlements: someone else's is not found."""
    path = f"/v1/settlements/{world.settlement}"
    with writes_nothing(engine):
        got = client.get(path, headers={"X-Institution": NOT_DESIGNATED})
        reversed_ = client.post(
            f"{path}/reversal", json={"reason": "refund"}, headers={"X-Institution": NOT_DESIGNATED}
        )
    refused(got, 404, "unknown_settlement", str(world.settlement))
    refused(reversed_, 404, "unknown_settlement", str(world.settlement))
    assert client.get(path, headers=AT_CLINIC).json()["status"] == "settled"


def test_reversing_twice(engine: Engine, client: TestClient, world: World) -> None:
    path = f"/v1/settlements/{world.settlement}/reversal"
    first = client.post(path, json={"reason": "refund"}, headers=AT_CLINIC)
    assert first.status_code == 200, first.text
    with writes_nothing(engine):
        second = client.post(path, json={"reason": "refund"}, headers=AT_CLINIC)
    refused(second, 409, "already_reversed", str(world.settlement), "reversed")


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "x" * 501}])
def test_reversal_without_a_reason(
    engine: Engine, client: TestClient, world: World, body: dict[str, str]
) -> None:
    with writes_nothing(engine):
        answer = client.post(
            f"/v1/settlements/{world.settlement}/reversal", json=body, headers=AT_CLINIC
        )
    refused(answer, 422, "invalid_request", "reason")


def test_person_year_errors(engine: Engine, client: TestClient, world: World) -> None:
    with writes_nothing(engine):
        unknown = client.get("/v1/persons/NOBODY/years/2026")
        too_early = client.get(f"/v1/persons/{PERSON}/years/1999")
        not_a_year = client.get(f"/v1/persons/{PERSON}/years/last")
    refused(unknown, 404, "unknown_person", "NOBODY")
    refused(too_early, 422, "invalid_request", "year")
    refused(not_a_year, 422, "invalid_request", "year")


# --- idempotency and quotes ------------------------------------------------------------


def test_an_idempotency_key_reused_for_another_bill(
    engine: Engine, client: TestClient, world: World
) -> None:
    key = {**AT_CLINIC, "Idempotency-Key": "visit-42"}
    first = client.post("/v1/settlements", json=bill(), headers=key)
    assert first.status_code == 201, first.text
    with writes_nothing(engine):
        other = client.post(
            "/v1/settlements", json=bill(lines=[line(unit_price="100.01")]), headers=key
        )
        other_day = client.post("/v1/settlements", json=bill(date="2026-06-02"), headers=key)
        again = client.post("/v1/settlements", json=bill(), headers=key)
    refused(other, 409, "idempotency_key_reused", "visit-42", "different request")
    refused(other_day, 409, "idempotency_key_reused", "visit-42")
    assert again.status_code == 201, again.text
    assert again.json() == first.json()


def test_a_refused_bill_does_not_use_up_its_key(
    engine: Engine, client: TestClient, world: World
) -> None:
    key = {**AT_CLINIC, "Idempotency-Key": "visit-43"}
    with writes_nothing(engine):
        bad = client.post("/v1/settlements", json=bill(card_number="NO-SUCH"), headers=key)
    refused(bad, 422, "unknown_card")
    good = client.post("/v1/settlements", json=bill(), headers=key)
    assert good.status_code == 201, good.text


def test_a_quote_writes_nothing(engine: Engine, client: TestClient, world: World) -> None:
    with writes_nothing(engine):
        quoted = client.post("/v1/quotes", json=bill(), headers=AT_CLINIC)
        quoted_again = client.post("/v1/quotes", json=bill(), headers=AT_CLINIC)
        # A holder with no stored year yet: the quote does not create one.
        fresh = client.post(
            "/v1/quotes", json=bill(date="2026-10-01", card_number=LATER_START), headers=AT_CLINIC
        )
    assert quoted.status_code == 200, quoted.text
    assert quoted.json()["status"] == "quote"
    assert quoted.json()["id"] is None
    assert quoted.json() == quoted_again.json()
    assert fresh.status_code == 200, fresh.text
    settled = client.post("/v1/settlements", json=bill(), headers=AT_CLINIC)
    assert settled.status_code == 201, settled.text
    for field in ("total", "basic", "assistance", "institution", "personal"):
        assert settled.json()[field] == quoted.json()[field]


@pytest.mark.parametrize(
    ("card", "code"),
    [("NO-SUCH", "unknown_card"), (LOST_CARD, "card_lost"), (PENDING, "not_enrolled")],
)
def test_a_refused_quote_writes_nothing(
    engine: Engine, client: TestClient, world: World, card: str, code: str
) -> None:
    with writes_nothing(engine):
        answer = client.post("/v1/quotes", json=bill(card_number=card), headers=AT_CLINIC)
    refused(answer, 422, code, card)


# --- claims -----------------------------------------------------------------------------


def test_claim_for_an_unknown_person(engine: Engine, client: TestClient, world: World) -> None:
    with writes_nothing(engine):
        answer = client.post("/v1/claims", json=claim(person_id="NOBODY"))
    refused(answer, 404, "unknown_person", "NOBODY", "not known")


@pytest.mark.parametrize(
    "person_id", ["Q1", "Q2", "Q3", "Q4"], ids=["no-enrolment", "2025", "pending", "cancelled"]
)
def test_claim_of_a_person_not_enrolled(
    engine: Engine, client: TestClient, world: World, person_id: str
) -> None:
    with writes_nothing(engine):
        answer = client.post("/v1/claims", json=claim(person_id=person_id))
    refused(answer, 422, "not_enrolled", person_id, "2026-06-02")


def test_claim_line_with_neither_class_nor_code(
    engine: Engine, client: TestClient, world: World
) -> None:
    lines = [{"class": "A", "amount": "10.00"}, {"amount": "20.00"}]
    with writes_nothing(engine):
        answer = client.post("/v1/claims", json=claim(lines=lines))
    refused(answer, 422, "unclassified_line", "line 2", "class")


def test_claim_with_an_unknown_catalogue_code(
    engine: Engine, client: TestClient, world: World
) -> None:
    lines = [{"code": "TEST-A", "amount": "10.00"}, {"code": "NOPE-9", "amount": "20.00"}]
    with writes_nothing(engine):
        answer = client.post("/v1/claims", json=claim(lines=lines))
    refused(answer, 422, "unknown_catalogue_code", "line 2", "NOPE-9", "catalogue")


def test_claim_above_ten_million(engine: Engine, client: TestClient, world: World) -> None:
    lines = [{"class": "A", "amount": "6000000.00"}, {"class": "B", "amount": "4000000.01"}]
    with writes_nothing(engine):
        answer = client.post("/v1/claims", json=claim(lines=lines))
    refused(answer, 422, "amount_too_large", "10000000.00")


def test_special_outpatient_claim_without_disease(
    engine: Engine, client: TestClient, world: World
) -> None:
    """As at the counter: refused up front, and no claim is stored."""
    with writes_nothing(engine):
        answer = client.post("/v1/claims", json=claim(kind="special_outpatient"))
    refused(answer, 422, "missing_disease", "special_outpatient", "disease")


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"lines": [{"class": "A", "amount": "-5.00"}]}, ("lines.0.amount", "negative")),
        ({"lines": [{"class": "A", "amount": 0.1 + 0.2}]}, ("lines.0.amount", "decimal places")),
        ({"lines": [{"class": "C", "amount": "5.00"}]}, ("lines.0.class",)),
        ({"lines": []}, ("lines", "at least 1")),
        ({"reason": "because"}, ("reason",)),
        ({"hospital_level": 4}, ("hospital_level",)),
        ({"date": "2026-02-30"}, ("date",)),
        ({"hospital_name": ""}, ("hospital_name",)),
        ({"surprise": True}, ("surprise", "not permitted")),
    ],
    ids=[
        "negative-amount",
        "inexact-float",
        "unknown-class",
        "no-lines",
        "unknown-reason",
        "level-4",
        "february-30",
        "no-hospital-name",
        "unknown-field",
    ],
)
def test_malformed_claim(
    engine: Engine,
    client: TestClient,
    world: World,
    changes: dict[str, Any],
    words: tuple[str, ...],
) -> None:
    with writes_nothing(engine):
        answer = client.post("/v1/claims", json=claim(**changes))
    refused(answer, 422, "invalid_request", *words)


def test_approving_twice(engine: Engine, client: TestClient, world: World) -> None:
    with writes_nothing(engine):
        answer = client.post(f"/v1/claims/{world.approved_claim}/approval")
    refused(answer, 409, "claim_status", str(world.approved_claim), "approved", "submitted")


def test_rejecting_an_approved_claim(engine: Engine, client: TestClient, world: World) -> None:
    with writes_nothing(engine):
        answer = client.post(
            f"/v1/claims/{world.approved_claim}/rejection",
            json={"reason": "late"},
        )
    refused(answer, 409, "claim_status", "approved", "reject")
    assert client.get(f"/v1/claims/{world.approved_claim}").json()["status"] == "approved"


def test_paying_a_submitted_claim(engine: Engine, client: TestClient, world: World) -> None:
    with writes_nothing(engine):
        answer = client.post(f"/v1/claims/{world.submitted_claim}/payment")
    refused(answer, 409, "claim_status", "submitted", "pay")
    assert client.get(f"/v1/claims/{world.submitted_claim}").json()["status"] == "submitted"


def test_paying_or_approving_a_rejected_claim(
    engine: Engine, client: TestClient, world: World
) -> None:
    with writes_nothing(engine):
        paid = client.post(f"/v1/claims/{world.rejected_claim}/payment")
        approved = client.post(f"/v1/claims/{world.rejected_claim}/approval")
    refused(paid, 409, "claim_status", "rejected")
    refused(approved, 409, "claim_status", "rejected")


def test_paying_twice(engine: Engine, client: TestClient, world: World) -> None:
    first = client.post(f"/v1/claims/{world.approved_claim}/payment")
    assert first.status_code == 200, first.text
    with writes_nothing(engine):
        second = client.post(f"/v1/claims/{world.approved_claim}/payment")
    refused(second, 409, "claim_status", "paid")


@pytest.mark.parametrize("body", [{}, {"reason": ""}], ids=["no-reason", "empty-reason"])
def test_rejecting_without_a_reason(
    engine: Engine, client: TestClient, world: World, body: dict[str, str]
) -> None:
    with writes_nothing(engine):
        answer = client.post(f"/v1/claims/{world.submitted_claim}/rejection", json=body)
    refused(answer, 422, "invalid_request", "reason")
    assert client.get(f"/v1/claims/{world.submitted_claim}").json()["status"] == "submitted"


def test_the_reviewer_is_the_signed_in_clerk(client: TestClient, world: World) -> None:
    """Nobody types a reviewer's name: the claim records the account that decided."""
    answer = client.post(f"/v1/claims/{world.submitted_claim}/approval")
    assert answer.status_code == 200, answer.text
    assert answer.json()["reviewer"] == "test-clerk-all"


@pytest.mark.parametrize("claim_id", [999_999, -1, 2**63, 10**30])
def test_unknown_claim(engine: Engine, client: TestClient, world: World, claim_id: int) -> None:
    with writes_nothing(engine):
        answers = [
            client.get(f"/v1/claims/{claim_id}"),
            client.post(f"/v1/claims/{claim_id}/approval"),
            client.post(f"/v1/claims/{claim_id}/rejection", json={"reason": "x"}),
            client.post(f"/v1/claims/{claim_id}/payment"),
        ]
    for answer in answers:
        if abs(claim_id) < 2**31:
            refused(answer, 404, "unknown_claim", str(claim_id))
        else:  # beyond any stored id: not found, or refused as out of range; never a crash
            assert (answer.status_code, answer.json()["code"]) in {
                (404, "unknown_claim"),
                (422, "invalid_request"),
            }, answer.text


def test_claim_id_that_is_not_a_number(engine: Engine, client: TestClient, world: World) -> None:
    with writes_nothing(engine):
        answer = client.post("/v1/claims/abc/payment")
    refused(answer, 422, "invalid_request", "claim_id")


@pytest.mark.parametrize("status", ["bogus", "SUBMITTED", ""])
def test_claims_by_an_unknown_status(
    engine: Engine, client: TestClient, world: World, status: str
) -> None:
    answer = client.get("/v1/claims", params={"status": status})
    refused(answer, 422, "invalid_request", "status")


def test_claims_by_a_known_status(engine: Engine, client: TestClient, world: World) -> None:
    answer = client.get("/v1/claims", params={"status": "submitted"})
    assert answer.status_code == 200, answer.text
    assert [c["id"] for c in answer.json()] == [world.submitted_claim]


# --- the OpenAPI document ---------------------------------------------------------------


def _v1_routes() -> list[tuple[str, str, bool]]:
    """(path, method, has a body) of the routers the app includes: all of them under /v1."""
    routes = [r for m in (settlements_api, claims_api, persons_api) for r in m.router.routes]
    assert all(isinstance(r, APIRoute) for r in routes)
    return [
        # A route that reads its own body (the settlement hot path) declares it in openapi_extra.
        (r.path, method, r.body_field is not None or "requestBody" in (r.openapi_extra or {}))
        for r in routes
        if isinstance(r, APIRoute) and r.path.startswith("/v1")
        for method in r.methods or ()
    ]


def test_openapi_lists_every_v1_route(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = {(path, method) for path, method, _ in _v1_routes()}
    assert served, "the app serves /v1 routes"
    assert served <= documented
    assert {
        ("/v1/settlements", "POST"),
        ("/v1/settlements/{settlement_id}", "GET"),
        ("/v1/settlements/{settlement_id}/reversal", "POST"),
        ("/v1/quotes", "POST"),
        ("/v1/claims", "POST"),
        ("/v1/claims", "GET"),
        ("/v1/claims/{claim_id}", "GET"),
        ("/v1/claims/{claim_id}/approval", "POST"),
        ("/v1/claims/{claim_id}/rejection", "POST"),
        ("/v1/claims/{claim_id}/payment", "POST"),
        ("/v1/persons/{person_id}/years/{year}", "GET"),
    } <= documented


def test_openapi_has_a_request_schema_for_each_post_with_a_body(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    posts = {path: body for path, method, body in _v1_routes() if method == "POST"}
    with_body = [path for path, body in posts.items() if body]
    assert set(with_body) >= {
        "/v1/settlements",
        "/v1/quotes",
        "/v1/claims",
        "/v1/settlements/{settlement_id}/reversal",
        "/v1/claims/{claim_id}/rejection",
    }
    for path in with_body:
        op = doc["paths"][path]["post"]
        assert op["requestBody"]["required"] is True, path
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        name = ref.rsplit("/", 1)[-1]
        assert schemas[name]["properties"], path
    assert "/v1/claims/{claim_id}/payment" in posts
    assert "/v1/claims/{claim_id}/approval" in posts  # the reviewer is who signed in
    for path, body in posts.items():
        if not body:
            assert "requestBody" not in doc["paths"][path]["post"], path


def test_openapi_documents_errors_with_the_error_schema(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    error = doc["components"]["schemas"]["ErrorOut"]
    assert {"code", "message"} <= set(error["required"])
    assert "details" in error["properties"]
    for path, method, _ in _v1_routes():
        responses = doc["paths"][path][method.lower()]["responses"]
        assert "422" in responses, (path, method)
        schema = responses["422"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (path, method)
        assert responses["422"]["description"], (path, method)


def test_openapi_documents_the_sign_in_errors(client: TestClient) -> None:
    """Routes that need a signed-in caller answer 401 without one and 403 for a role that
    may not call them: documented."""
    doc = client.get("/openapi.json").json()
    institution_routes = [
        ("/v1/settlements", "post"),
        ("/v1/quotes", "post"),
        ("/v1/settlements/{settlement_id}", "get"),
        ("/v1/settlements/{settlement_id}/reversal", "post"),
    ]
    for path, method in institution_routes:
        op = doc["paths"][path][method]
        headers = {p["name"].lower() for p in op["parameters"] if p["in"] == "header"}
        assert "authorization" in headers, path
        for status in ("401", "403"):
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (path, method)


def test_openapi_has_a_valid_example_of_a_settlement_request(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/v1/settlements"]["post"]
    body = op["requestBody"]["content"]["application/json"]
    name = body["schema"]["$ref"].rsplit("/", 1)[-1]
    schema = doc["components"]["schemas"][name]
    examples = list(schema.get("examples", []))
    examples += [e["value"] for e in body.get("examples", {}).values()]
    if "example" in body:
        examples.append(body["example"])
    assert examples, "the settlement request has no example"
    for example in examples:
        BillIn.model_validate(example)  # each example is a valid request
    assert "Idempotency-Key".lower() in {
        p["name"].lower() for p in op["parameters"] if p["in"] == "header"
    }
