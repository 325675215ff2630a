"""Writing frames to tables for the batch load: COPY on PostgreSQL (in a thread beside
the settling), executemany elsewhere."""

from __future__ import annotations

import queue
import threading

import polars as pl
import psycopg
from sqlalchemy import Connection, Table, insert

from yibao.batch.load_common import LoadError


class Writer:
    """Bulk inserts in the load's transaction: COPY on PostgreSQL (psycopg, CSV made by
    Polars), executemany on SQLite (through SQLAlchemy, which stores dates and times as
    the rest of yibao's rows have them)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"

    def write(self, table: Table, frame: pl.DataFrame) -> None:
        if frame.is_empty():
            return
        unknown = [c for c in frame.columns if c not in table.c]
        assert not unknown, f"{table.name} has no columns {unknown}"
        if self.postgres:
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            raw = self.conn.connection.driver_connection
            assert raw is not None
            copy_sql = f'COPY "{table.name}" ({columns}) FROM STDIN (FORMAT csv)'
            try:
                with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
                    for part in frame.iter_slices(20_000):
                        copy.write(part.write_csv(include_header=False))
            except psycopg.Error as exc:
                reason = str(exc).strip().splitlines()[0]
                raise LoadError(
                    f"the database refused a row of {table.name}, nothing was loaded: {reason}"
                ) from None
        else:
            statement = insert(table)
            for part in frame.iter_slices(5_000):
                self.conn.execute(statement, part.to_dicts())


class Background:
    """A `Writer` in a thread of its own: `write` queues a frame (at most two wait) and
    returns; `close` waits for the last and raises what the thread met, if anything. The
    connection is the thread's alone until then."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.queue: queue.Queue[tuple[Table, pl.DataFrame] | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.abandoned = False
        self.thread = threading.Thread(target=self._run, name="yibao-load-copy", daemon=True)
        self.thread.start()

    def write(self, table: Table, frame: pl.DataFrame) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((table, frame))

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is None and not self.abandoned:
                try:
                    self.writer.write(*item)
                except BaseException as exc:  # handed to the caller by write() or close()
                    self.error = exc

    def close(self, *, abandon: bool = False) -> None:
        self.abandoned = abandon  # what is still queued is not written
        self.queue.put(None)
        self.thread.join()
        if self.error is not None and not abandon:
            error, self.error = self.error, None
            raise error
