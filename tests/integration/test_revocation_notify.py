"""A revocation made by another process reaches a server on PostgreSQL at once, through
LISTEN/NOTIFY (adapters/db/revocations.py), instead of after the token cache's 30 s."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from integration.conftest import make_test_engine
from integration.test_crash import serving_workers
from integration.test_serve_revocation import CONNECTIONS, _me
from integration.test_serve_workers import YIBAO, _free_port, _serve
from yibao.adapters.db.revocations import CHANNEL, RevocationListener, announce, listening_dsn
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.domain.access import Role
from yibao.service.access import OPERATOR, AccessService
from yibao.service.services import Services

pytestmark = pytest.mark.database


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self.changed = threading.Condition()

    def __call__(self) -> None:
        with self.changed:
            self.calls += 1
            self.changed.notify_all()

    def reaches(self, calls: int, seconds: float = 10.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.calls >= calls, timeout=seconds)


def _wait(done: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.05)


def _listeners(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = :name "
                    "AND datname = current_database()"
                ),
                {"name": CHANNEL},
            ).scalars()
        )


@pytest.fixture
def pg(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    return make_test_engine("postgresql", request, tmp_path)


def _access(engine: Engine, policies: PolicyLoader) -> AccessService:
    return Services.build(lambda: UnitOfWork(engine), policies).access


def test_the_listener_hears_committed_revocations_only_and_comes_back_after_a_drop(
    pg: Engine, policies: PolicyLoader
) -> None:
    dsn = listening_dsn(pg)
    assert dsn is not None
    heard = Counter()
    listener = RevocationListener(dsn, heard).start()
    try:
        assert listener.listening.wait(10)
        assert heard.reaches(1)  # once at connecting: whatever was missed before
        access = _access(pg, policies)
        access.create_account(OPERATOR, "zhao", Role.CLERK, "Zhao")
        access.revoke_tokens(OPERATOR, "zhao")
        assert heard.reaches(2)

        with pg.connect() as conn:  # announced, then rolled back: nothing is told
            announce(conn)
            conn.rollback()
        time.sleep(1.5)
        assert heard.calls == 2

        # The listening connection dropped (a database restart, a network cut): it
        # connects again and forgets once more, for what it may have missed meanwhile.
        listener.listening.clear()
        with pg.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": CHANNEL},
            )
            conn.commit()
        assert listener.listening.wait(10)
        assert heard.reaches(3)
        access.revoke_tokens(OPERATOR, "zhao")
        assert heard.reaches(4)
    finally:
        listener.stop()


def test_a_token_revoked_on_the_command_line_is_refused_by_every_worker_at_once(
    pg: Engine, policies: PolicyLoader, tmp_path: Path
) -> None:
    url = pg.url.render_as_string(hide_password=False)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(tmp_path, port, 2, YIBAO_DATABASE_URL=url)
    try:
        serving_workers(base, 2)
        _wait(lambda: len(_listeners(pg)) == 2)  # each worker listens
        access = _access(pg, policies)
        zhao = access.create_account(OPERATOR, "zhao", Role.CLERK, "Zhao")["token"]
        wang = access.create_account(OPERATOR, "wang", Role.CLERK, "Wang")["token"]
        assert _me(base, zhao) == [200] * CONNECTIONS  # cached by both workers now
        assert _me(base, wang) == [200] * CONNECTIONS

        revoked = subprocess.run(
            [YIBAO, "account", "revoke", "zhao"],
            env={**os.environ, "YIBAO_DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert revoked.returncode == 0, revoked.stderr
        started = time.monotonic()
        # Within a few seconds, far below the 30 s the cache would keep it otherwise.
        _wait(lambda: _me(base, zhao) == [401] * CONNECTIONS, seconds=5)
        assert time.monotonic() - started < 5
        assert _me(base, wang) == [200] * CONNECTIONS  # read again, still good
    finally:
        server.terminate()
        server.wait(timeout=60)
