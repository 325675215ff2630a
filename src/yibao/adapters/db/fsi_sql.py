"""The national interface's hot statements on PostgreSQL (fsi_repo.FsiStore uses them
there): fixed SQL with PostgreSQL's own $n placeholders, sent by the unit of work's
psycopg connection as prepared statements (prepared.Driver, as counter_pg.py sends the card
settlement's), and rows read into named tuples of the table's columns, which FsiStore
returns where SQLAlchemy's rows were (attribute access by column name).

A write the database refuses for a key (a copy of the message, or of a fee line, that
another transaction wrote first) is DuplicateError, as UnitOfWork turns SQLAlchemy's
IntegrityError into one: the gateway answers such a message with its first answer.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Table

from yibao.adapters.db import prepared
from yibao.adapters.db import tables_fsi as f


def _columns(table: Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.c)


VISIT_COLUMNS = _columns(f.fsi_visits)
LINE_COLUMNS = _columns(f.fsi_fee_lines)
SETTLEMENT_COLUMNS = _columns(f.fsi_settlements)
FILE_COLUMNS = _columns(f.fsi_files)
# Rows as SQLAlchemy returned them for `select(table)`: the table's columns, in its order
# (named from the table, which mypy cannot follow).
Visit: Any = namedtuple("Visit", VISIT_COLUMNS)  # type: ignore[misc]
Line: Any = namedtuple("Line", LINE_COLUMNS)  # type: ignore[misc]
Settlement: Any = namedtuple("Settlement", SETTLEMENT_COLUMNS)  # type: ignore[misc]
File: Any = namedtuple("File", FILE_COLUMNS)  # type: ignore[misc]

_SIGN_IN = "s.sign_no, s.fixmedins_code, s.opter, s.signed_at, s.signed_out_at"
# A message's first answer and the sign-in it runs under, in one read (FsiStore.envelope).
ENVELOPE = f"""SELECT m.infno, m.request_hash, m.response, {_SIGN_IN}
FROM (SELECT 1) AS one
LEFT JOIN fsi_messages m ON m.fixmedins_code = $1 AND m.msgid = $2
LEFT JOIN fsi_sign_ins s ON s.sign_no = $3"""
ENVELOPE_CURRENT = f"""SELECT m.infno, m.request_hash, m.response, {_SIGN_IN}
FROM (SELECT 1) AS one
LEFT JOIN fsi_messages m ON m.fixmedins_code = $1 AND m.msgid = $2
LEFT JOIN fsi_sign_ins s ON s.sign_no = (
    SELECT sign_no FROM fsi_sign_ins
    WHERE fixmedins_code = $1 AND signed_out_at IS NULL
    ORDER BY signed_at DESC LIMIT 1)"""


def _opening(current: bool, nonce: bool) -> str:
    """ENVELOPE (or, `current`, ENVELOPE_CURRENT), the institutions' generation, and,
    with `nonce`, the x-tif nonce recorded as seen in the message's own transaction: its
    paasid, nonce and moment are the parameters after the envelope's, and the last column
    is 1 where it was added, 0 where the key was there (a replay; an INSERT of a key
    another transaction holds uncommitted waits for that one's end, as the primary key
    makes it)."""
    select = ENVELOPE_CURRENT if current else ENVELOPE
    head, _, tail = select.partition("\nFROM (SELECT 1) AS one")
    # Then the institutions' generation (fsi_institutions.py), NULL if its row is gone.
    head += ", (SELECT generation FROM institutions_generation) AS institutions"
    if not nonce:
        return f"{head}\nFROM (SELECT 1) AS one{tail}"
    n = 3 if current else 4
    return f"""WITH seen AS (
    INSERT INTO fsi_nonces (paasid, nonce, seen_at) VALUES (${n}, ${n + 1}, ${n + 2})
    ON CONFLICT DO NOTHING RETURNING 1)
{head}, (SELECT count(*) FROM seen) AS fresh
FROM (SELECT 1) AS one{tail}"""


# By (the institution's current sign-in, a nonce to record).
OPENING = {
    (current, nonce): _opening(current, nonce)
    for current in (False, True)
    for nonce in (False, True)
}
MESSAGE = (
    "SELECT infno, request_hash, response FROM fsi_messages "
    "WHERE fixmedins_code = $1 AND msgid = $2"
)
ADD_MESSAGE = (
    "INSERT INTO fsi_messages (fixmedins_code, msgid, infno, request_hash, response, "
    "created_at) VALUES ($1, $2, $3, $4, $5, $6)"
)
VISIT = f"SELECT {', '.join(VISIT_COLUMNS)} FROM fsi_visits WHERE mdtrt_id = $1"
VISIT_LOCKED = VISIT + " FOR UPDATE"
LINES = f"SELECT {', '.join(LINE_COLUMNS)} FROM fsi_fee_lines WHERE mdtrt_id = $1 ORDER BY seq"
SETTLEMENT = f"SELECT {', '.join(SETTLEMENT_COLUMNS)} FROM fsi_settlements WHERE setl_id = $1"
SETTLEMENT_COUNT = "SELECT count(*) FROM fsi_settlements WHERE mdtrt_id = $1"
# The day's (or period's) statements: 9001 / 9002, 3201 / 3202, 9101 / 9102.
SIGN_IN = f"SELECT {_SIGN_IN} FROM fsi_sign_ins s WHERE s.sign_no = $1"
SIGN_OUT = "UPDATE fsi_sign_ins SET signed_out_at = $2 WHERE sign_no = $1"
SETTLEMENTS_BETWEEN = (
    f"SELECT {', '.join(SETTLEMENT_COLUMNS)} FROM fsi_settlements WHERE fixmedins_code = $1 "
    "AND (setl_date BETWEEN $2 AND $3 OR cancel_date BETWEEN $2 AND $3) ORDER BY setl_id"
)
FILE = f"SELECT {', '.join(FILE_COLUMNS)} FROM fsi_files WHERE file_qury_no = $1"
# The cancellations: 2205 / 2302 (fee lines), 2208 / 2305 (a settlement).
DELETE_LINES = "DELETE FROM fsi_fee_lines WHERE mdtrt_id = $1"
DELETE_SOME_LINES = (
    "DELETE FROM fsi_fee_lines WHERE mdtrt_id = $1 AND feedetl_sn = ANY($2::varchar[])"
)
LATER_SETTLEMENT = (
    f"SELECT {', '.join(SETTLEMENT_COLUMNS)} FROM fsi_settlements "
    "WHERE mdtrt_id = $1 AND status = 'settled' AND setl_id > $2 LIMIT 1"
)
CANCEL_SETTLEMENT = (
    "UPDATE fsi_settlements SET status = 'cancelled', reversal_id = $2, cancel_date = $3 "
    "WHERE setl_id = $1"
)
RELEASE_LINES = "UPDATE fsi_fee_lines SET setl_id = NULL WHERE setl_id = $1"

# Statements written from a row's column names (which vary by message), once each.
_WRITES: dict[tuple[str, ...], str] = {}


def _checked(table: Table, names: Sequence[str]) -> None:
    """Only the table's own columns are ever written into the SQL (as SQLAlchemy refuses
    an unknown one)."""
    unknown = [n for n in names if n not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column {unknown[0]!r}")


def _insert_sql(table: Table, names: tuple[str, ...]) -> str:
    key = ("insert", table.name, *names)
    found = _WRITES.get(key)
    if found is None:
        _checked(table, names)
        places = ", ".join(f"${n + 1}" for n in range(len(names)))
        found = _WRITES[key] = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({places})"
    return found


def _insert_rows_sql(table: Table, names: tuple[str, ...]) -> str:
    """Rows of the table in one statement: $1 is a JSON array of objects with these names,
    each read into the table's own row type (json_populate_recordset), so that what is
    written follows the table's definition as a row of parameters would."""
    key = ("rows", table.name, *names)
    found = _WRITES.get(key)
    if found is None:
        _checked(table, names)
        columns = ", ".join(names)
        found = _WRITES[key] = (
            f"INSERT INTO {table.name} ({columns}) SELECT {columns} "
            f"FROM json_populate_recordset(NULL::{table.name}, $1::json)"
        )
    return found


def _update_visit_sql(names: tuple[str, ...]) -> str:
    """UPDATE fsi_visits SET each name = $2, $3 ... WHERE mdtrt_id = $1."""
    key = ("update", *names)
    found = _WRITES.get(key)
    if found is None:
        _checked(f.fsi_visits, names)
        sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
        found = _WRITES[key] = f"UPDATE fsi_visits SET {sets} WHERE mdtrt_id = $1"
    return found


def _settled_sql(settlement: tuple[str, ...], visit: tuple[str, ...]) -> str:
    """A settlement, the visit's lines it takes and the visit, in one statement (as
    FsiStore.settled): the settlement's values are $1 ..., the visit's follow them; the
    lines are taken by the settlement's own setl_id and mdtrt_id."""
    key = ("settled", *settlement, "|", *visit)
    found = _WRITES.get(key)
    if found is None:
        _checked(f.fsi_settlements, settlement)
        _checked(f.fsi_visits, visit)
        n = len(settlement)
        setl_id = f"${settlement.index('setl_id') + 1}"
        mdtrt_id = f"${settlement.index('mdtrt_id') + 1}"
        places = ", ".join(f"${i + 1}" for i in range(n))
        sets = ", ".join(f"{name} = ${n + i + 1}" for i, name in enumerate(visit))
        found = _WRITES[key] = f"""WITH added AS (
    INSERT INTO fsi_settlements ({", ".join(settlement)}) VALUES ({places})
), taken AS (
    UPDATE fsi_fee_lines SET setl_id = {setl_id}
    WHERE mdtrt_id = {mdtrt_id} AND setl_id IS NULL
)
UPDATE fsi_visits SET {sets} WHERE mdtrt_id = {mdtrt_id}"""
    return found


class Driver(prepared.Driver):
    """The unit of work's psycopg connection (prepared.py), with the writes whose SQL is
    written from a row's column names."""

    def insert(self, table: Table, values: dict[str, Any]) -> None:
        names = tuple(values)
        self.run(_insert_sql(table, names), list(values.values()))

    def insert_many(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Rows with the same names, as one prepared statement: psycopg's executemany of a
        2204's three or four lines (a pipeline of a statement each) cost the server about
        as much as the rest of the message's statements."""
        sql = _insert_rows_sql(table, tuple(rows[0]))
        self.run(sql, (orjson.dumps(rows).decode(),))

    def update_visit(self, mdtrt_id: str, values: dict[str, Any]) -> None:
        if values:
            self.run(_update_visit_sql(tuple(values)), [mdtrt_id, *values.values()])

    def settled(self, settlement: dict[str, Any], visit: dict[str, Any]) -> None:
        sql = _settled_sql(tuple(settlement), tuple(visit))
        self.run(sql, [*settlement.values(), *visit.values()])
