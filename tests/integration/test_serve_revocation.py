"""Through `yibao serve --workers 2` (the real console script, in a subprocess): a token
revoked through one worker is refused at once by both, though each had it cached (the
supervisor's shared revocation epoch, entrypoints/api/health.py)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from integration.test_crash import serving_workers
from integration.test_serve_workers import _free_port, _serve
from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.domain.access import Role
from yibao.service.access import OPERATOR
from yibao.service.services import Services

pytestmark = pytest.mark.database  # an SQLite file, migrated by the server's start

CONNECTIONS = 12  # each a new connection: the kernel spreads them over both workers


def _me(base: str, token: str) -> list[int]:
    """/v1/me's status on each of CONNECTIONS new connections."""
    statuses = []
    for _ in range(CONNECTIONS):
        with httpx.Client(base_url=base, timeout=10) as fresh:
            me = fresh.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
            statuses.append(me.status_code)
    return statuses


def test_a_token_revoked_through_one_worker_is_refused_by_both_at_once(
    tmp_path: Path, policies: PolicyLoader
) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(tmp_path, port, 2)
    try:
        serving_workers(base, 2)
        engine = make_engine(f"sqlite:///{tmp_path / 'yibao.sqlite3'}")
        access = Services.build(lambda: UnitOfWork(engine), policies).access
        boss = access.create_account(OPERATOR, "boss", Role.CLERK, "Boss")["token"]
        zhao = access.create_account(OPERATOR, "zhao", Role.CLERK, "Zhao")["token"]
        engine.dispose()
        assert _me(base, zhao) == [200] * CONNECTIONS  # cached by both workers now
        with httpx.Client(base_url=base, timeout=10) as client:
            revoked = client.delete(
                "/v1/accounts/zhao/tokens", headers={"Authorization": f"Bearer {boss}"}
            )
        assert revoked.status_code == 200, revoked.text
        assert _me(base, zhao) == [401] * CONNECTIONS
        assert _me(base, boss) == [200] * CONNECTIONS  # read again, still good
    finally:
        server.terminate()
        server.wait(timeout=60)
