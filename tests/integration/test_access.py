"""Accounts, tokens and sign-in: what the API's callers and the web pages rely on."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from integration.auth import account
from yibao.adapters.db.tables import accounts, api_tokens, audit_log
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Role
from yibao.domain.registry import Institution, InstitutionKind
from yibao.service import access as access_module
from yibao.service.access import OPERATOR, token_hash
from yibao.service.errors import ServiceError
from yibao.service.services import Services
from yibao.service.throttle import FREE_FAILURES, SignInThrottle

ANON = {"X-Test-As": "anonymous"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_clerk_makes_an_account_whose_token_works_once_shown(
    engine: Engine, client: TestClient, services: Services
) -> None:
    with UnitOfWork(engine) as uow:
        uow.registry.add_institution(
            Institution("H1", "sample-city", "a hospital", 2, InstitutionKind.HOSPITAL, True)
        )
        uow.commit()
    clerk = account(services, Role.CLERK, region="sample-city")
    made = client.post(
        "/v1/accounts",
        headers=clerk,
        json={
            "id": "h1-counter",
            "role": "institution",
            "name": "一号医院",
            "institution_id": "H1",
        },
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    me = client.get("/v1/me", headers=bearer(token)).json()
    assert (me["role"], me["institution_id"]) == ("institution", "H1")
    # Only the token's hash is kept: the database does not hold a usable token.
    with engine.connect() as conn:
        stored = conn.execute(select(api_tokens.c.token_hash)).scalars().all()
        logged = (
            conn.execute(select(audit_log.c.action).where(audit_log.c.object_id == "h1-counter"))
            .scalars()
            .all()
        )
    assert token not in stored
    assert token_hash(token) in stored
    assert "account.create" in logged
    listed = client.get("/v1/accounts", headers=clerk, params={"role": "institution"}).json()
    assert [a["id"] for a in listed] == ["h1-counter"]
    assert "token" not in listed[0]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"id": "x-1", "role": "institution", "name": "n"}, "missing_subject"),
        (
            {"id": "x-2", "role": "institution", "name": "n", "institution_id": "NOPE"},
            "unknown_institution",
        ),
        ({"id": "x-3", "role": "insured", "name": "n", "person_id": "NOPE"}, "unknown_person"),
        ({"id": "x-4", "role": "clerk", "name": "n", "school_id": "S1"}, "invalid_subject"),
        (
            {"id": "x-5", "role": "guardian", "name": "n", "person_id": "P1", "password": "short"},
            "weak_password",
        ),
    ],
)
def test_accounts_that_cannot_be_made(
    engine: Engine, client: TestClient, services: Services, body: dict[str, str], code: str
) -> None:
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(accounts)).scalar_one()
    answer = client.post("/v1/accounts", headers=account(services, Role.CLERK), json=body)
    assert answer.status_code in (404, 422), answer.text
    assert answer.json()["code"] == code
    with engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(accounts)).scalar_one()
    assert after == before + 1  # only the clerk this test made


def test_a_clerk_of_one_region_cannot_make_staff_of_another(
    client: TestClient, services: Services
) -> None:
    clerk = account(services, Role.CLERK, region="sample-city")
    answer = client.post(
        "/v1/accounts",
        headers=clerk,
        json={"id": "county-clerk", "role": "clerk", "name": "n", "region": "hill-county"},
    )
    assert answer.status_code == 403, answer.text


def test_wrong_passwords_slow_down_their_source_never_lock_the_account(
    engine: Engine, client: TestClient, services: Services
) -> None:
    account(services, Role.CLERK, account_id="wang", password="right-password")
    good = {"account": "wang", "password": "right-password"}
    bad = {"account": "wang", "password": "wrong-password"}
    signed = client.post("/v1/auth/tokens", json=good, headers=ANON)
    assert signed.status_code == 201, signed.text
    assert client.get("/v1/me", headers=bearer(signed.json()["token"])).status_code == 200
    for _ in range(FREE_FAILURES):
        wrong = client.post("/v1/auth/tokens", json=bad, headers=ANON)
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "sign_in_failed"
    # This source now waits, even with the right password...
    for body in (bad, good):
        delayed = client.post("/v1/auth/tokens", json=body, headers=ANON)
        assert delayed.status_code == 429
        assert delayed.json()["code"] == "sign_in_delayed"
        assert int(delayed.headers["Retry-After"]) >= 1
    # ...but the account's owner, from their own desk, signs in at once: a stranger
    # cannot lock a clerk out.
    assert services.access.sign_in("wang", "right-password", source="10.0.0.9")["token"]
    # An unknown account answers like a wrong password: no hint of who exists.
    nobody = client.post(
        "/v1/auth/tokens", json={"account": "li", "password": "x" * 9}, headers=ANON
    )
    assert nobody.json() == wrong.json()
    # When the delay has passed, the right password works from here again.
    later = time.time() + 3600  # the throttle's clock is the wall clock (shared by workers)
    services.access.throttle.clock = lambda: later
    assert client.post("/v1/auth/tokens", json=good, headers=ANON).status_code == 201


def test_each_further_failure_doubles_the_wait_up_to_15_minutes() -> None:
    moment = [0.0]
    throttle = SignInThrottle(lambda: moment[0])
    waits = []
    for _ in range(FREE_FAILURES + 12):
        throttle.failed("a", "1.2.3.4")
        waits.append(throttle.wait("a", "1.2.3.4"))
    assert waits[: FREE_FAILURES - 1] == [0] * (FREE_FAILURES - 1)
    assert waits[FREE_FAILURES - 1 : FREE_FAILURES + 3] == [2, 4, 8, 16]
    assert waits[-1] == 900
    assert throttle.wait("a", "5.6.7.8") == 0
    assert throttle.wait("b", "1.2.3.4") == 0
    throttle.succeeded("a", "1.2.3.4")
    assert throttle.wait("a", "1.2.3.4") == 0


def test_known_and_unknown_accounts_take_the_same_time_and_no_transaction_waits_for_the_hash(
    engine: Engine, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    account(services, Role.CLERK, account_id="chen", password="right-password")
    open_units = [0]
    during_hash: list[int] = []
    made = services.access.uow

    class Counted:
        def __enter__(self) -> UnitOfWork:
            open_units[0] += 1
            self.uow = made()
            return self.uow.__enter__()

        def __exit__(self, *exc: object) -> None:
            open_units[0] -= 1
            self.uow.__exit__(*exc)

    real = access_module._hasher

    class Spy:
        """The hasher, noting how many units of work are open when a hash is checked."""

        def verify(self, stored: str, password: str) -> bool:
            during_hash.append(open_units[0])
            return bool(real.verify(stored, password))

        def hash(self, password: str) -> str:
            return real.hash(password)

    monkeypatch.setattr(services.access, "uow", Counted)
    monkeypatch.setattr(access_module, "_hasher", Spy())

    def timed(account_id: str) -> float:
        start = time.perf_counter()
        with pytest.raises(ServiceError):
            services.access.sign_in(account_id, "wrong-password", source=account_id)
        return time.perf_counter() - start

    timed("nobody")  # the dummy hash is made on first use
    known = sorted(timed("chen") for _ in range(3))[1]
    unknown = sorted(timed("nobody") for _ in range(3))[1]
    assert 0.5 < unknown / known < 2, (known, unknown)
    assert services.access.sign_in("chen", "right-password")["token"]
    assert during_hash
    assert set(during_hash) == {0}  # never inside a transaction


def test_tokens_made_for_an_account_expire(engine: Engine, services: Services) -> None:
    made = services.access.create_account(OPERATOR, "sun", Role.CLERK, "孙")
    further = services.access.issue_token(OPERATOR, "sun")
    with engine.connect() as conn:
        expiries = (
            conn.execute(select(api_tokens.c.expires_at).where(api_tokens.c.account_id == "sun"))
            .scalars()
            .all()
        )
    assert len(expiries) == 2
    assert all(e is not None for e in expiries)
    assert made["token"] != further


def test_revoked_and_expired_tokens_stop_working(
    engine: Engine, client: TestClient, services: Services
) -> None:
    made = services.access.create_account(OPERATOR, "zhao", Role.CLERK, "赵")
    token = made["token"]
    assert services.access.authenticate(token) is not None
    assert services.access.revoke_tokens(OPERATOR, "zhao") == 1
    # The revocation clears this server's cache: the next request is refused at once.
    refused = client.get("/v1/me", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"
    fresh = services.access.issue_token(OPERATOR, "zhao")
    with engine.begin() as conn:
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.token_hash == token_hash(fresh))
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert services.access.authenticate(fresh) is None


def test_only_a_clerk_manages_accounts(services: Services) -> None:
    approver = services.access.create_account(OPERATOR, "ap", Role.APPROVER, "审批")
    who = services.access.authenticate(approver["token"])
    assert who is not None
    with pytest.raises(ServiceError) as refused:
        services.access.create_account(who, "new", Role.CLERK, "n")
    assert refused.value.status == 403
