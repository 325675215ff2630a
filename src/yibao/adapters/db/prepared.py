"""Fixed SQL sent by the unit of work's own psycopg connection as prepared statements:
the reads and writes a message at the counter or the national interface sends every time
(fsi_sql.py, registry_sql.py). Built, compiled and read back through SQLAlchemy, a
one-row read costs the server several times the CPU of the driver's own work; a
RawCursor sends PostgreSQL's own $n placeholders as they are (no parsing of %(name)s on
every call), and psycopg prepares a statement on its connection once it has run it a few
times, so PostgreSQL plans it once too.

A write the database refuses for a key is DuplicateError, as UnitOfWork turns
SQLAlchemy's IntegrityError into one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
import psycopg.errors
from sqlalchemy import Connection

from yibao.service.ports.records import DuplicateError


class Driver:
    """The unit of work's psycopg connection, in its transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._driver: psycopg.Connection[Any] | None = None

    @property
    def _pg(self) -> psycopg.Connection[Any]:
        # The unit of work holds one pooled connection from its start to its end: found
        # once (SQLAlchemy's Connection.connection checks its state on every call, some
        # 10 us of a message's five or six statements each).
        driver = self._driver
        if driver is None:
            driver = self._driver = self.conn.connection.driver_connection
        assert driver is not None
        return driver

    def one(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        with psycopg.RawCursor(self._pg) as cursor:
            cursor.execute(sql, params, prepare=True)
            return cursor.fetchone()

    def all(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with psycopg.RawCursor(self._pg) as cursor:
            cursor.execute(sql, params, prepare=True)
            return cursor.fetchall()

    def run(self, sql: str, params: Sequence[Any]) -> None:
        try:
            with psycopg.RawCursor(self._pg) as cursor:
                cursor.execute(sql, params, prepare=True)
        except psycopg.errors.IntegrityError as exc:
            raise DuplicateError(str(exc).strip().splitlines()[0]) from exc

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            with psycopg.RawCursor(self._pg) as cursor:
                cursor.executemany(sql, rows)
        except psycopg.errors.IntegrityError as exc:
            raise DuplicateError(str(exc).strip().splitlines()[0]) from exc
