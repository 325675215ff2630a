"""The security state every worker of a server shares, in the database (service/ports/
guards.py): x-tif nonces seen, and failed sign-ins counted per account and source.

Each call is a short transaction of its own, outside any unit of work: a failure must be
counted even when the request that made it is refused and its unit of work rolled back,
and a nonce is spent whether or not its message goes on. Both checks are one statement
that the database makes exact under concurrency: the nonce an INSERT that its primary key
refuses the second time (ON CONFLICT DO NOTHING RETURNING: no row, a replay), the failure an UPSERT
adding one to the count. PostgreSQL and SQLite both take that syntax.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, create_engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from yibao.adapters.db.tables import fsi_nonces, sign_in_failures
from yibao.service.guards import NONCE_SECONDS

# How often a process deletes the nonces too old to matter (one DELETE of every row older
# than NONCE_SECONDS, whatever process wrote it): a table of ten minutes of messages.
PURGE_EVERY_SECONDS = 60.0

_FAILURES = select(sign_in_failures.c["count"], sign_in_failures.c.last_failed_at).where(
    sign_in_failures.c.account == bindparam("account"),
    sign_in_failures.c.source == bindparam("source"),
)
_CLEAR = delete(sign_in_failures).where(
    sign_in_failures.c.account == bindparam("account"),
    sign_in_failures.c.source == bindparam("source"),
)
_PURGE = delete(fsi_nonces).where(fsi_nonces.c.seen_at < bindparam("horizon"))


def _moment(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def _seconds(moment: datetime) -> float:
    """SQLite returns naive datetimes for timezone columns; they were stored as UTC."""
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


class DbGuards:
    # Its nonces are the rows of fsi_nonces, which a national-interface message's own
    # transaction may write instead (fsi/auth.py FsiAuth.deferred, fsi_repo.opening): in
    # the message's first statement, no second connection and round trip.
    nonces_in_transaction = True

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect: Any = postgresql if engine.dialect.name == "postgresql" else sqlite
        # A row back: added; none: the key was there (rowcount says -1 through psycopg).
        nonces = dialect.insert(fsi_nonces)
        self._nonce = nonces.on_conflict_do_nothing().returning(nonces.table.c.paasid)
        counted = dialect.insert(sign_in_failures)
        self._failed = counted.on_conflict_do_update(
            index_elements=["account", "source"],
            set_={
                "count": sign_in_failures.c["count"] + 1,
                "last_failed_at": counted.excluded.last_failed_at,
            },
        )
        self._purged = time.monotonic()
        # PostgreSQL: a small pool of its own, each statement committed on its own and
        # without waiting for the WAL's flush (synchronous_commit off): a nonce's INSERT
        # waited 3-5 ms for the disk on a loaded machine, for every x-tif message. Other
        # workers see the row at once all the same; a crash of the database server may
        # forget the last fraction of a second of nonces and failures (the WAL writer
        # flushes every 200 ms), which a replay would have to follow within that window.
        self._autocommit: Engine | None = None
        if engine.dialect.name == "postgresql":
            self._autocommit = create_engine(
                engine.url,
                pool_size=2,
                max_overflow=8,
                isolation_level="AUTOCOMMIT",
                connect_args={"options": "-c synchronous_commit=off"},
            )

    def _alone(self) -> Any:
        """A connection whose statements each commit on their own: on PostgreSQL no BEGIN
        and COMMIT round trips around the one statement (SQLite: one transaction)."""
        if self._autocommit is None:
            return self.engine.begin()
        return self._autocommit.connect()

    def fresh_nonce(self, paasid: str, nonce: str, at: float) -> bool:
        seen = _moment(at)
        with self._alone() as conn:
            values = {"paasid": paasid, "nonce": nonce, "seen_at": seen}
            added = conn.execute(self._nonce, values).first() is not None
            if time.monotonic() - self._purged > PURGE_EVERY_SECONDS:
                self._purged = time.monotonic()
                conn.execute(_PURGE, {"horizon": seen - timedelta(seconds=NONCE_SECONDS)})
        return added

    def purge_due(self) -> bool:
        """Whether the next `fresh_nonce` deletes the old nonces (then it should be the
        one that records a nonce: the messages' transactions never delete them)."""
        return time.monotonic() - self._purged > PURGE_EVERY_SECONDS

    def failures(self, account: str, source: str) -> tuple[int, float] | None:
        with self.engine.connect() as conn:
            row = conn.execute(_FAILURES, _key(account, source)).first()
        return None if row is None else (int(row[0]), _seconds(row[1]))

    def failed(self, account: str, source: str, at: float) -> None:
        with self._alone() as conn:
            values = {**_key(account, source), "count": 1, "last_failed_at": _moment(at)}
            conn.execute(self._failed, values)

    def succeeded(self, account: str, source: str) -> None:
        with self._alone() as conn:
            conn.execute(_CLEAR, _key(account, source))


def _key(account: str, source: str) -> dict[str, str]:
    return {"account": account[:64], "source": source[:100]}
