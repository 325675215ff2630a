"""Becoming a child's guardian online needs proof: a one-time code sent by SMS to the
phone the child was registered with. Knowing that phone number is not enough, and
nothing of the child is visible before the proof."""

from __future__ import annotations

import logging
import re
import time
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from integration.roles_world import build_registry
from yibao.adapters.db.tables import audit_log
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Principal, Role
from yibao.domain.ids import make_resident_id, parse_resident_id
from yibao.domain.registry import PersonRecord
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.web.session import SESSION_COOKIE
from yibao.service.errors import ServiceError
from yibao.service.member import SignUp
from yibao.service.services import Services
from yibao.service.sms import WINDOW_SECONDS, LogSms, code_matches, one_time_code

PHONE = "13812345678"  # the phone the school's class list gave for child K1
ADULT = make_resident_id("990100", date(1980, 5, 6), 41)


def _code(sms: LogSms) -> str:
    return str(re.findall(r"\d{6}", sms.sent[-1][1])[0])


@pytest.fixture
def stranger(engine: Engine, services: Services) -> Principal:
    """An adult who signed up giving the child's guardian phone as their own."""
    build_registry(engine)
    kid = make_resident_id("990100", date(2016, 3, 3), 52)
    with UnitOfWork(engine) as uow:
        for pid, number, born in (("K1", kid, date(2016, 3, 3)), ("A1", ADULT, date(1980, 5, 6))):
            uow.registry.add_person(
                PersonRecord(
                    pid, number, f"person {pid}", born, parse_resident_id(number).sex,
                    "sample-city", phone=PHONE if pid == "K1" else None,
                )
            )  # fmt: skip
        uow.commit()
    made = services.member.sign_up(
        SignUp("person A1", ADULT, date(1980, 5, 6), PHONE, "correct-horse")
    )
    return Principal(account=made["id"], role=Role(made["role"]), person_id="A1")


def test_without_the_code_sent_to_the_phone_no_child_is_linked_or_shown(
    services: Services, stranger: Principal
) -> None:
    found = services.member.linkable_children(stranger)
    assert found == {"count": 1, "phone": "138****5678"}  # a count, no name, no ID number
    assert "K1" not in str(services.member.coverage(stranger))
    for guess in ("", "000000", "123456"):
        with pytest.raises(ServiceError) as refused:
            services.member.link_children(stranger, guess)
        assert refused.value.code == "invalid_code"
    with pytest.raises(ServiceError) as hidden:  # the child's year: not found, as for anyone
        services.member.year(stranger, "K1", 2026)
    assert hidden.value.status == 404


def test_the_code_sent_to_the_phone_on_file_links_the_child(
    engine: Engine, services: Services, stranger: Principal, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="yibao.sms"):
        sent = services.member.send_guardian_code(stranger)
    assert sent == {"phone": "138****5678"}
    sms = services.member.sms
    assert isinstance(sms, LogSms)
    assert sms.sent[-1][0] == PHONE  # to the phone on file
    code = _code(sms)
    assert code in caplog.text  # the development gateway writes it to the log
    linked = services.member.link_children(stranger, code)
    assert [c["id"] for c in linked] == ["K1"]
    assert "K1" in str(services.member.coverage(stranger))
    with engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action)).scalars().all()
    assert {"guardian.code_sent", "guardian.link"} <= set(actions)


def test_wrong_codes_slow_down_and_codes_expire(services: Services, stranger: Principal) -> None:
    for _ in range(5):
        with pytest.raises(ServiceError):
            services.member.link_children(stranger, "999999")
    with pytest.raises(ServiceError) as delayed:
        services.member.link_children(stranger, "999999")
    assert delayed.value.status == 429
    secret, account = services.secret, stranger.account
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    fresh = one_time_code(secret, "guardian", account, PHONE, window)
    assert code_matches(secret, "guardian", account, PHONE, fresh, now)
    assert code_matches(secret, "guardian", account, PHONE, fresh, now + WINDOW_SECONDS)
    assert not code_matches(secret, "guardian", account, PHONE, fresh, now + 2 * WINDOW_SECONDS)
    assert not code_matches(secret, "guardian", account, "13900000000", fresh, now)
    assert not code_matches(secret, "guardian", "someone-else", PHONE, fresh, now)


def test_the_member_app_asks_for_the_code(services: Services, stranger: Principal) -> None:
    token = services.access.issue_token(Principal("operator", Role.CLERK), stranger.account, "test")
    web = TestClient(create_app(services), cookies={SESSION_COOKIE: token}, follow_redirects=False)

    def csrf(path: str) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', web.get(path).text)
        assert found
        return found.group(1)

    assert "person K1" not in web.get("/app").text
    sent = web.post("/app/children/code", data={"csrf": csrf("/app")})
    assert sent.headers["location"] == "/app?code=sent"
    page = web.get("/app?code=sent").text
    assert "138****5678" in page
    assert 'name="code"' in page
    wrong = web.post("/app/children", data={"csrf": csrf("/app"), "code": "000000"})
    assert wrong.headers["location"] == "/app?code=wrong"
    code = _code(services.member.sms)  # type: ignore[arg-type]
    right = web.post("/app/children", data={"csrf": csrf("/app"), "code": code})
    assert right.headers["location"] == "/app?linked=1"
    assert "person K1" in web.get("/app").text
