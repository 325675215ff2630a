"""Create a SQLAlchemy engine for SQLite (embedded) or PostgreSQL (production)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError


def make_engine(url: str, *, pool_size: int = 8) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _sqlite_serialised_writes(engine)
        return engine
    # The pool holds at least as many connections as a server process runs requests at
    # once (its thread pool): a connection opened beyond the pool is closed on return, and
    # a new PostgreSQL backend per request costs more than the settlement itself.
    # json_deserializer: psycopg parses the JSON a query returns (the counter's reads
    # return a bill's catalogue items and categories as json_agg) with orjson, not the
    # standard library's json (which also guesses each value's encoding first).
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=10, json_deserializer=orjson.loads
    )
    _ping_after_idle(engine)
    return engine


# A connection back from the pool is pinged only when it has been idle this long: one
# in use a moment ago is alive, and a ping on every checkout was a round trip on every
# request (the rule HikariCP keeps with its 500 ms "alive bypass window").
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_after_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, as pool_pre_ping, but only for idle connections:
    a dead one is replaced before the request uses it (DisconnectionError makes the pool
    retry with a new connection)."""

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:  # closed, reset, server gone
            raise DisconnectionError(str(exc)) from exc


def _sqlite_serialised_writes(engine: Engine) -> None:
    """SQLite has no row locks: each transaction takes the write lock at BEGIN
    (BEGIN IMMEDIATE), so two settlements of one person never interleave. WAL lets
    readers go on meanwhile."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
