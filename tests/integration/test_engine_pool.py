"""The connection pool on PostgreSQL: a connection idle for a while is pinged before use
and replaced if the server has dropped it; one in use a moment ago is not pinged (a ping
on every checkout was a round trip on every request)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from yibao.adapters.db import engine as engine_module
from yibao.adapters.db.engine import make_engine


@pytest.fixture
def pooled(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.2)
    db = make_engine(postgres_url, pool_size=1)
    yield db
    db.dispose()


def _backend(db: Engine) -> int:
    with db.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_dropped_by_the_server_while_idle_is_replaced(
    pooled: Engine, postgres_url: str
) -> None:
    first = _backend(pooled)
    with make_engine(postgres_url).connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    time.sleep(0.3)  # idle past the window: the next checkout pings, finds it dead
    second = _backend(pooled)
    assert second != first


def test_a_connection_used_a_moment_ago_is_not_pinged(pooled: Engine) -> None:
    pid = _backend(pooled)
    ping = pooled.dialect.do_ping
    calls: list[object] = []
    pooled.dialect.do_ping = lambda conn: calls.append(conn) or ping(conn)  # type: ignore[method-assign]
    assert _backend(pooled) == pid
    assert calls == []
    time.sleep(0.3)
    assert _backend(pooled) == pid
    assert len(calls) == 1
