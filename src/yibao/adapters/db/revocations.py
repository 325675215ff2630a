"""Revocations told to every server on the database, on PostgreSQL.

A server keeps the tokens it has checked for 30 s (service/access.py), and its workers
forget them together when one of them revokes a token (the supervisor's revocation
epoch). A revocation made elsewhere — `yibao account revoke` on the command line, or
another server on the same database — reaches the server through PostgreSQL's
LISTEN/NOTIFY instead of the 30 s the cache would keep a revoked token working:

- the revoking transaction sends a notification on CHANNEL (`announce`), which
  PostgreSQL delivers only when it commits, and never if it rolls back;
- each worker keeps one connection that LISTENs to it (`RevocationListener`) and, at each
  notification, calls its callback (the token cache's `forget_tokens`), within
  milliseconds of the commit.

While the listening connection is down, notifications are lost: at every (re)connection
the callback runs once too, so anything revoked meanwhile is forgotten then, and until
then the 30 s cache time still bounds it. On SQLite (one process, the demo) there is no
such channel, and a revocation from the command line waits for the cache time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

CHANNEL = "yibao_revocations"
RETRY_SECONDS = 1.0  # between attempts to connect again
POLL_SECONDS = 1.0  # how often the thread looks whether it should stop

log = logging.getLogger(__name__)


def announce(conn: Connection) -> None:
    """Tell every listening server, when this transaction commits, that a token was
    revoked (nothing on a database without notifications)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


def listening_dsn(engine: Engine) -> str | None:
    """libpq's address of the engine's PostgreSQL database, or None for another database."""
    if engine.dialect.name != "postgresql":
        return None
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class RevocationListener:
    """A daemon thread that calls `revoked` at every revocation committed on the database
    (and once at each connection, for what it may have missed)."""

    def __init__(self, dsn: str, revoked: Callable[[], None]) -> None:
        self.dsn = dsn
        self.revoked = revoked
        self.listening = threading.Event()  # set while connected and listening
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="yibao-revocations", daemon=True)

    def start(self) -> RevocationListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except psycopg.Error as exc:
                log.warning("revocation listener: %s; connecting again", exc)
            self.listening.clear()
            self._stop.wait(RETRY_SECONDS)

    def _listen(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True, application_name=CHANNEL) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            # Whatever was revoked while no connection listened is forgotten now.
            self.revoked()
            self.listening.set()
            while not self._stop.is_set():
                for _ in conn.notifies(timeout=POLL_SECONDS):
                    self.revoked()


def listen_for_revocations(
    engine: Engine, revoked: Callable[[], None]
) -> RevocationListener | None:
    """Start listening on the engine's database, if it is PostgreSQL."""
    dsn = listening_dsn(engine)
    return None if dsn is None else RevocationListener(dsn, revoked).start()
