"""The member app's service (sign-up, guardians, vouchers, estimates, claims with receipts)
and the settlement API's electronic voucher, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from integration.roles_world import bill, build_registry
from yibao.adapters.db.tables import audit_log
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Principal, Role
from yibao.domain.ids import make_resident_id, parse_resident_id
from yibao.domain.model import Kind
from yibao.domain.registry import PersonRecord
from yibao.service.errors import ServiceError
from yibao.service.member import ClaimForm, SignUp
from yibao.service.services import Services
from yibao.service.vouchers import read_voucher, sign_voucher

G1_NUMBER = make_resident_id("990100", date(1985, 7, 8), 11)
PHONE = "13800138000"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def sign_up(services: Services, **changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "name": "person G1",
        "id_number": G1_NUMBER,
        "birth_date": date(1985, 7, 8),
        "phone": PHONE,
        "password": "correct-horse",
    }
    values.update(changes)
    return services.member.sign_up(SignUp(**values))  # type: ignore[arg-type]


def test_sign_up_ties_the_account_to_the_person_only_on_a_real_name_match(
    engine: Engine, services: Services
) -> None:
    build_registry(engine)
    with pytest.raises(ServiceError) as bad:
        sign_up(services, name="someone else")
    assert bad.value.code == "real_name_mismatch"
    for field, value, code in (
        ("id_number", G1_NUMBER[:-1] + ("0" if G1_NUMBER[-1] != "0" else "1"), "invalid_id_number"),
        ("birth_date", date(1985, 7, 9), "birth_date_mismatch"),
        ("phone", "2380013800", "invalid_phone"),
        ("password", "short", "weak_password"),
    ):
        with pytest.raises(ServiceError) as refused:
            sign_up(services, **{field: value})
        assert (refused.value.code, refused.value.details.get("field")) == (code, field)
    made = sign_up(services)
    assert (made["id"], made["role"], made["person_id"]) == (G1_NUMBER, "guardian", "G1")
    token = services.access.sign_in(G1_NUMBER, "correct-horse")["token"]
    who = services.access.authenticate(token)
    assert who is not None
    assert who.person_id == "G1"
    with pytest.raises(ServiceError) as twice:
        sign_up(services)
    assert twice.value.code == "account_exists"
    with engine.connect() as conn:
        actions = [r.action for r in conn.execute(select(audit_log.c.action))]
    assert "account.sign_up" in actions


def test_an_insured_links_the_children_registered_with_their_phone(
    engine: Engine, services: Services
) -> None:
    build_registry(engine)
    kid_number = make_resident_id("990100", date(2016, 3, 3), 52)
    with UnitOfWork(engine) as uow:
        uow.registry.add_person(
            PersonRecord(
                "K1",
                kid_number,
                "kid",
                date(2016, 3, 3),
                parse_resident_id(kid_number).sex,
                "sample-city",
                phone=PHONE,
            )
        )
        uow.commit()
    number = make_resident_id("990100", date(1986, 2, 3), 31)  # G2: child C2, other phone
    made = services.member.sign_up(
        SignUp("person G2", number, date(1986, 2, 3), "13900000000", "correct-horse")
    )
    assert made["role"] == "guardian"  # C2 is linked already
    me = Principal(account=number, role=Role.GUARDIAN, person_id="G2")
    assert services.member.linkable_children(me)["count"] == 0
    with UnitOfWork(engine) as uow:
        uow.accounts.update(number, phone=PHONE)
        uow.commit()
    assert services.member.linkable_children(me)["count"] == 1
    services.member.send_guardian_code(me)  # proof of the phone: tests/…/test_guardians.py
    code = re.findall(r"\d{6}", services.member.sms.sent[-1][1])[0]  # type: ignore[attr-defined]
    assert [c["id"] for c in services.member.link_children(me, code)] == ["K1"]
    assert services.member.link_children(me, code) == []  # once
    ids = [p["id"] for p in services.member.coverage(me)["persons"]]
    assert ids == ["G2", "C2", "K1"]


def test_a_voucher_names_its_person_until_it_expires(services: Services) -> None:
    token = sign_voucher(b"k", "C1", 1000)
    assert read_voucher(b"k", token, 999) == "C1"
    for bad in (token[:-1] + ("0" if token[-1] != "0" else "1"), token.replace("C1", "C2"), "x"):
        with pytest.raises(ServiceError) as refused:
            read_voucher(b"k", bad, 999)
        assert refused.value.code == "invalid_voucher"
    with pytest.raises(ServiceError) as late:
        read_voucher(b"k", token, 1000)
    assert late.value.code == "voucher_expired"
    with pytest.raises(ServiceError):
        read_voucher(b"other key", token, 999)


def _voucher_bill(voucher: str) -> dict[str, object]:
    body = bill("C1")
    del body["card_number"]
    return {**body, "voucher": voucher}


def test_the_settlement_api_settles_by_voucher(
    engine: Engine, services: Services, client: TestClient
) -> None:
    build_registry(engine)
    me = Principal(account="g", role=Role.GUARDIAN, person_id="G1")
    voucher = services.member.voucher(me, "C1")["token"]
    h = {"X-Institution": "I1"}
    quote = client.post("/v1/quotes", json=_voucher_bill(voucher), headers=h)
    assert quote.status_code == 200, quote.text
    made = client.post(
        "/v1/settlements", json=_voucher_bill(voucher), headers={**h, "Idempotency-Key": "v-1"}
    )
    assert made.status_code == 201, made.text
    assert made.json()["person_id"] == "C1"
    assert made.json()["insured_pays"] == quote.json()["insured_pays"]
    again = client.post(
        "/v1/settlements", json=_voucher_bill(voucher), headers={**h, "Idempotency-Key": "v-1"}
    )
    assert again.status_code == 201
    assert again.json()["id"] == made.json()["id"]
    # The card is not needed: a voucher settles even with the card reported lost.
    with UnitOfWork(engine) as uow:
        from yibao.domain.registry import CardStatus

        uow.registry.set_card_status("CARD-C1", CardStatus.LOST)
        uow.commit()
    assert client.post("/v1/settlements", json=_voucher_bill(voucher), headers=h).status_code == 201
    assert client.post("/v1/settlements", json=bill("C1"), headers=h).json()["code"] == "card_lost"


def test_the_settlement_api_refuses_bad_vouchers(
    engine: Engine, services: Services, client: TestClient
) -> None:
    build_registry(engine)
    h = {"X-Institution": "I1"}
    expired = sign_voucher(services.secret, "C1", int(time.time()) - 1)
    answer = client.post("/v1/settlements", json=_voucher_bill(expired), headers=h)
    assert (answer.status_code, answer.json()["code"]) == (422, "voucher_expired")
    good = sign_voucher(services.secret, "C1", int(time.time()) + 300)
    tampered = good.replace("C1", "C2")
    answer = client.post("/v1/settlements", json=_voucher_bill(tampered), headers=h)
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_voucher")
    both = {**bill("C1"), "voucher": good}
    assert client.post("/v1/settlements", json=both, headers=h).status_code == 422
    neither = {k: v for k, v in bill("C1").items() if k != "card_number"}
    assert client.post("/v1/settlements", json=neither, headers=h).status_code == 422


def test_an_estimate_is_the_engine_on_the_stored_year(engine: Engine, services: Services) -> None:
    build_registry(engine)
    me = Principal(account="g", role=Role.GUARDIAN, person_id="G1")
    answer = services.member.estimate(
        me, "C1", Kind.INPATIENT, 3, Decimal("12000.00"), date(2026, 10, 15)
    )
    assert answer["status"] == "quote"
    assert Decimal(answer["insured_pays"]) + Decimal(answer["fund_owes_institution"]) == Decimal(
        "12000.00"
    )
    assert Decimal(answer["fund_owes_institution"]) > 0
    other = Principal(account="g2", role=Role.GUARDIAN, person_id="G2")
    with pytest.raises(ServiceError) as hidden:
        services.member.estimate(other, "C1", Kind.INPATIENT, 3, Decimal(1), date(2026, 10, 15))
    assert hidden.value.code == "unknown_person"


def test_a_claim_keeps_its_receipts_checked_by_their_first_bytes(
    engine: Engine, services: Services, tmp_path: Path
) -> None:
    build_registry(engine)
    member = type(services.member)(
        services.member.uow, services.member.policies, services.member.clock, b"k", tmp_path / "up"
    )
    me = Principal(account="g", role=Role.GUARDIAN, person_id="G1")
    form = ClaimForm(
        "C1",
        "emergency_elsewhere",
        Kind.EMERGENCY,
        date(2026, 7, 2),
        "外地医院",
        2,
        "hill-county",
        False,
        (("急诊诊查费", Decimal("20.00")), ("头孢克肟片", Decimal("480.00"))),
    )
    for files, code in (
        ([], "missing_receipts"),
        ([b"GIF89a..."], "receipt_type"),
        ([PNG] * 6, "too_many_receipts"),
        ([b"%PDF-" + b"x" * (5 * 1024 * 1024)], "receipt_too_large"),
    ):
        with pytest.raises(ServiceError) as refused:
            member.submit_claim(me, form, files)
        assert refused.value.code == code
    assert not list((tmp_path / "up").rglob("*.*"))
    made = member.submit_claim(me, form, [PNG, b"\xff\xd8\xff\xe0jpeg"])
    assert made["status"] == "submitted"
    assert len(made["receipts"]) == 2
    # The lines as printed, not classed yet: no proposal until a clerk classes them.
    assert [(ln["name"], ln["cls"], ln["amount"]) for ln in made["lines"]] == [
        ("急诊诊查费", "", "20.00"),
        ("头孢克肟片", "", "480.00"),
    ]
    assert made["unclassified"] == 2
    assert "proposal" not in made
    # The same bill again is refused as a duplicate, naming the first claim; confirmed, kept.
    with pytest.raises(ServiceError) as twice:
        member.submit_claim(me, form, [PNG])
    assert twice.value.code == "duplicate_claim"
    assert twice.value.details["claim_id"] == made["id"]
    again = member.submit_claim(
        me, ClaimForm(**{**form.__dict__, "confirm_duplicate": True}), [PNG]
    )
    assert again["id"] != made["id"]
    for ref in made["receipts"]:
        assert (tmp_path / "up" / ref).is_file()
    listed = member.claims(me)
    assert [(c["id"], c["name"]) for c in listed] == [
        (again["id"], "person C1"),
        (made["id"], "person C1"),
    ]
    # A claim the service refuses leaves no new file.
    late = ClaimForm(**{**form.__dict__, "day": date(2025, 1, 1)})
    with pytest.raises(ServiceError):
        member.submit_claim(me, late, [b"%PDF-other"])
    assert len(list((tmp_path / "up").rglob("*.*"))) == 2
    # A clerk classes the lines (a class, or a catalogue code), then the proposal is there
    # and the claim can be approved; the family sees what is paid back.
    clerk = Principal(account="c", role=Role.CLERK, region="sample-city")
    claims = services.claims
    with pytest.raises(ServiceError) as early:
        claims.approve(clerk, made["id"])
    assert early.value.code == "unclassified_line"
    classed = claims.classify(clerk, made["id"], ["A", "TEST-B"])
    assert [ln["cls"] for ln in classed["lines"]] == ["A", "B"]
    assert classed["unclassified"] == 0
    assert classed["proposal"]["total"] == "500.00"
    settled = claims.approve(clerk, made["id"])["settlement"]
    back = Decimal(settled["basic"]) + Decimal(settled["assistance"])
    mine = next(c for c in member.claims(me) if c["id"] == made["id"])
    assert mine["status"] == "approved"
    assert Decimal(mine["refund"]) == back
    # The receipts are shown again: to the family and to a clerk reviewing the claim.
    path, kind = member.claim_receipt(me, made["id"], 1)
    assert (path.read_bytes(), kind) == (PNG, "image/png")
    assert member.claim_receipt(clerk, made["id"], 2)[1] == "image/jpeg"
    stranger = Principal(account="s", role=Role.GUARDIAN, person_id="G2")
    for who, n in ((stranger, 1), (me, 3), (me, 0)):
        with pytest.raises(ServiceError) as hidden:
            member.claim_receipt(who, made["id"], n)
        assert hidden.value.status == 404
