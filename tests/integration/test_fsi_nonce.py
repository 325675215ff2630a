"""An x-tif nonce recorded by its message's own transaction (fsi_repo.opening), on a server
whose guards are the database's: one statement less, on no second connection, and the
same guarantee as when it was recorded apart first (test_shared_guards.py) — a nonce seen
once is refused by every worker and after a restart, whether its first message
succeeded, was refused before its transaction, or failed and rolled back."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from integration.conftest import FakeClock
from integration.test_fsi_auth import SECRET, audit, sign_in, two_hospitals
from integration.test_shared_guards import worker
from yibao.adapters.db.guards_repo import DbGuards
from yibao.adapters.db.tables import fsi_nonces
from yibao.bootstrap import PolicyLoader
from yibao.domain.access import Role
from yibao.entrypoints.api.app import create_app
from yibao.fsi.auth import issue_credential, tif_headers
from yibao.service.access import OPERATOR
from yibao.service.services import Services

URL = "/fsi/api/callService"


@pytest.fixture
def services(engine: Engine, policies: PolicyLoader, clock: FakeClock) -> Services:
    return worker(engine, policies, clock)


@pytest.fixture
def credential(engine: Engine, services: Services) -> dict[str, Any]:
    two_hospitals(engine)
    services.access.create_account(OPERATOR, "h1", Role.INSTITUTION, "H1", institution_id="H1")
    return issue_credential(services.access, SECRET, OPERATOR, "h1")


@pytest.fixture
def client(services: Services, credential: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as c:
        # The first message reads the credential (its nonce recorded first, apart); the
        # next ones find it cached, and their transactions record their nonces.
        assert post(c, signed(credential))["infcode"] == 0
        yield c


@pytest.fixture
def apart(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The nonces recorded apart (DbGuards.fresh_nonce), from now on."""
    seen: list[str] = []
    fresh = DbGuards.fresh_nonce

    def counted(self: DbGuards, paasid: str, nonce: str, at: float) -> bool:
        seen.append(nonce)
        return fresh(self, paasid, nonce, at)

    monkeypatch.setattr(DbGuards, "fresh_nonce", counted)
    return seen


def signed(credential: dict[str, Any]) -> dict[str, str]:
    return tif_headers(credential["paasid"], credential["paas_token"])


def post(client: TestClient, headers: dict[str, str], body: bytes | None = None) -> Any:
    answer = client.post(URL, content=body or sign_in(), headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def person_info(sign_no: str) -> bytes:
    """A 1101 that fails in its transaction, after its nonce: `sign_no` is no sign-in."""
    return json.dumps(
        {
            "infno": "1101",
            "msgid": f"H1{time.time_ns()}",
            "mdtrtarea_admvs": "990100",
            "opter_type": "1",
            "opter": "001",
            "opter_name": "收费员",
            "inf_time": "2026-06-01 09:00:00",
            "fixmedins_code": "H1",
            "sign_no": sign_no,
            "input": {
                "data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "x", "psn_cert_type": "01"}
            },
        }
    ).encode()


def nonces(engine: Engine, nonce: str) -> int:
    with engine.connect() as conn:
        found = select(func.count()).select_from(fsi_nonces).where(fsi_nonces.c.nonce == nonce)
        return int(conn.execute(found).scalar_one())


def test_a_message_records_its_nonce_in_its_own_transaction(
    engine: Engine,
    policies: PolicyLoader,
    clock: FakeClock,
    client: TestClient,
    credential: dict[str, Any],
    apart: list[str],
) -> None:
    headers = signed(credential)
    assert post(client, headers)["infcode"] == 0
    assert apart == []  # not apart: by the 9001's transaction, which committed
    assert nonces(engine, headers["x-tif-nonce"]) == 1
    refused = len(audit(engine, "fsi.refused"))
    assert "重放" in post(client, headers)["err_msg"]
    assert len(audit(engine, "fsi.refused")) == refused + 1  # logged, as before
    other = worker(engine, policies, clock)  # another worker, or this one restarted
    with TestClient(create_app(other)) as second:
        assert "重放" in post(second, headers)["err_msg"]
        assert post(second, signed(credential))["infcode"] == 0


def test_a_rolled_back_message_still_leaves_its_nonce(
    engine: Engine,
    policies: PolicyLoader,
    clock: FakeClock,
    client: TestClient,
    credential: dict[str, Any],
    apart: list[str],
) -> None:
    headers = signed(credential)
    failed = post(client, headers, person_info("no-such-sign-in"))
    assert failed["infcode"] == -1
    assert "签到" in failed["err_msg"]  # refused in its transaction, after the nonce
    # Its transaction rolled back, the nonce with it: recorded apart then.
    assert apart == [headers["x-tif-nonce"]]
    assert nonces(engine, headers["x-tif-nonce"]) == 1
    assert "重放" in post(client, headers)["err_msg"]  # a good message under it: a replay
    other = worker(engine, policies, clock)
    with TestClient(create_app(other)) as second:
        assert "重放" in post(second, headers)["err_msg"]
    assert post(client, signed(credential))["infcode"] == 0  # a fresh nonce goes on


@pytest.mark.parametrize("body", [b"{not json", None])
def test_a_message_refused_before_its_transaction_spends_its_nonce_apart(
    engine: Engine,
    client: TestClient,
    credential: dict[str, Any],
    apart: list[str],
    body: bytes | None,
) -> None:
    """Refused before its transaction: not JSON, or another institution's (H2's) message."""
    headers = signed(credential)
    first = post(client, headers, body or sign_in("H2"))
    assert first["infcode"] == -1
    assert "重放" not in first["err_msg"]
    assert apart == [headers["x-tif-nonce"]]
    assert "重放" in post(client, headers)["err_msg"]
    # The replay is refused as a replay, whatever its message (another institution's too).
    assert "重放" in post(client, headers, sign_in("H2"))["err_msg"]
    assert nonces(engine, headers["x-tif-nonce"]) == 1


def test_the_same_nonce_at_once_on_two_workers_is_answered_once(
    engine: Engine,
    policies: PolicyLoader,
    clock: FakeClock,
    client: TestClient,
    credential: dict[str, Any],
) -> None:
    """Copies of one request at the same moment, each a message of its own: the first
    transaction to commit its nonce answers; the others wait for it, then are replays."""
    headers = signed(credential)
    other = worker(engine, policies, clock)
    with TestClient(create_app(other)) as second:
        assert post(second, signed(credential))["infcode"] == 0  # its credential cached
        answers: list[Any] = []
        barrier = threading.Barrier(4)

        def send(c: TestClient) -> None:
            barrier.wait()
            answers.append(post(c, headers))

        threads = [threading.Thread(target=send, args=(c,)) for c in (client, second) * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(a["infcode"] for a in answers) == [-1, -1, -1, 0]
    assert all("重放" in a["err_msg"] for a in answers if a["infcode"] == -1)
    assert nonces(engine, headers["x-tif-nonce"]) == 1
