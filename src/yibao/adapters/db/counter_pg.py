"""The counter on PostgreSQL: a card settlement in four commands.

    BEGIN + one statement that locks the person's year and reads everything the bill needs
    (the year, a stored answer to its idempotency key, the card, the holder and their
    enrolment, the institution, the catalogue items, the settlement's id), then
    one statement that writes everything it moves (the settlement, its lines, the year,
    the fund ledger entries, the answer) + COMMIT,

each pair sent together (psycopg's pipeline mode), as prepared statements, beside the
unit of work's SQLAlchemy connection and inside its transaction. On this path the work of
a statement (the client's and the server's) costs more than the network: fourteen
statements a settlement took about three times the CPU of these four.

The statements are made from the table definitions (tables.py) and the columns of the
`SettlementRecord`, so the hot path writes exactly what `Ledger.book` writes.

Reading everything in the locking statement means the other reads use the snapshot the
statement started with, before the lock was granted: a retry that waited behind its first
attempt may not see the first attempt's answer. It then settles again, and its answer's
INSERT fails on the key, which rolls the whole transaction back (KeyTakenError): the
service reads the answer then. Nothing is paid twice; the year itself is always read as
the last committed transaction left it (ON CONFLICT DO UPDATE locks and returns the
newest row).
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
import psycopg.errors
from sqlalchemy import Column, Connection, Table
from sqlalchemy.dialects import postgresql

from yibao.adapters.db import tables as t
from yibao.adapters.db.counter import (
    BillKeys,
    CounterFacts,
    KeyTakenError,
    NewAnswer,
    StoredAnswer,
)
from yibao.adapters.db.repositories import SettlementRecord, now
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.model import LineClass, Scheme
from yibao.domain.money import from_fen
from yibao.domain.registry import (
    Card,
    CardStatus,
    CatalogueItem,
    Enrolment,
    Institution,
    InstitutionKind,
    PersonRecord,
)


class _Numbered:
    """SQL with PostgreSQL's own $1 placeholders, written with names: `sql % numbered`
    numbers each name once (a name used twice is one parameter), and `values(params)`
    lists the values in that order. The statements are sent by a RawCursor, which skips
    psycopg's parsing of %(name)s placeholders: that parsing is cached only for short
    statements with few parameters, and the write has more than fifty."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __getitem__(self, name: str) -> str:
        if name not in self.names:
            self.names.append(name)
        return f"${self.names.index(name) + 1}"

    def values(self, params: dict[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


def _numbered(template: str) -> tuple[str, _Numbered]:
    numbered = _Numbered()
    return template % numbered, numbered


# --- the read -----------------------------------------------------------------------

# The person of the bill, by card or by person id (an electronic voucher).
_BY_CARD = {"column": "person_id", "source": "cards WHERE number = %(card)s"}
_BY_PERSON = {"column": "id", "source": "persons WHERE id = %(person)s"}

# A settlement inserts the year if it is new, otherwise makes a no-op update that takes
# the row lock and returns the row as the last committed transaction left it (as
# Ledger.lock_person_year). A quote reads the year as it stands, locking nothing.
_LOCK_YEAR = """
    INSERT INTO person_years (person_id, year, state, settled)
    SELECT {column}, %(year)s, %(empty)s, 0 FROM {source}
    ON CONFLICT (person_id, year) DO UPDATE SET settled = person_years.settled
    RETURNING state, settled"""
_READ_YEAR = """
    SELECT state, settled FROM person_years
    WHERE person_id = (SELECT {column} FROM {source}) AND year = %(year)s"""

_PERSON_COLUMNS = (
    "p.id, p.id_number, p.name, p.birth_date, p.sex, p.region, p.phone, p.assistance, "
    "p.retired, p.contribution_years, "
    "e.scheme, e.status AS enrolment_status, e.valid_from, e.valid_to"
)
_HOLDER_BY_CARD = f"""
    SELECT c.number, c.status AS card_status, c.issued_on, c.replaced_by, c.due_on,
           {_PERSON_COLUMNS}
    FROM cards c JOIN persons p ON p.id = c.person_id
    LEFT JOIN enrolments e ON e.person_id = p.id AND e.year = %(year)s
    WHERE c.number = %(card)s"""
_HOLDER_BY_PERSON = f"""
    SELECT NULL::text AS number, NULL::text AS card_status, NULL::date AS issued_on,
           NULL::text AS replaced_by, NULL::date AS due_on, {_PERSON_COLUMNS}
    FROM persons p LEFT JOIN enrolments e ON e.person_id = p.id AND e.year = %(year)s
    WHERE p.id = %(person)s"""

_READ = """
WITH year AS ({year}), holder AS ({holder})
SELECT y.state, y.settled,
       k.request_hash, k.status_code, k.response,
       i.id, i.region, i.name, i.level, i.kind, i.designated, i.pilot,
       h.*,
       (SELECT json_agg(json_build_array(ci.code, ci.name, ci.cls, ci.unit_price_fen))
          FROM catalogue_items ci
          WHERE ci.region = h.region AND ci.code = ANY(%(codes)s::varchar[])) AS items,
       {next_id} AS next_id
FROM (SELECT 1) AS one
LEFT JOIN year y ON true
LEFT JOIN holder h ON true
LEFT JOIN institutions i ON i.id = %(institution)s
LEFT JOIN idempotency_keys k ON k.caller = %(caller)s AND k.key = %(key)s"""

_NEXT_ID = "nextval(pg_get_serial_sequence('settlements', 'id'))"


def _read_sql(by_card: bool, lock: bool) -> str:
    person = _BY_CARD if by_card else _BY_PERSON
    return _READ.format(
        year=(_LOCK_YEAR if lock else _READ_YEAR).format(**person),
        holder=_HOLDER_BY_CARD if by_card else _HOLDER_BY_PERSON,
        next_id=_NEXT_ID if lock else "NULL::bigint",
    )


_READS = {
    (by_card, lock): _numbered(_read_sql(by_card, lock))
    for by_card in (True, False)
    for lock in (True, False)
}

_EMPTY_YEAR: dict[int, str] = {}


def _empty_year(year: int) -> str:
    found = _EMPTY_YEAR.get(year)
    if found is None:
        found = _EMPTY_YEAR[year] = json.dumps(YearAccumulators(year=year).to_dict())
    return found


# --- the write ----------------------------------------------------------------------

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def _column(table: Table, name: str) -> Column[Any]:
    if name not in table.c:
        raise KeyError(f"{table.name} has no column {name!r}")
    return table.c[name]


def _array_of(table: Table, name: str, param: str) -> str:
    """A parameter sent as an array of the column's type (for unnest)."""
    return f"%({param})s::{_column(table, name).type.compile(dialect=_DIALECT)}[]"


def _write_sql(
    settlement: tuple[str, ...], lines: tuple[str, ...], ledger: tuple[str, ...], answer: bool
) -> str:
    """One statement for a settled encounter: each part a data-modifying WITH query (they
    run as one statement, atomically; the foreign keys are checked at its end)."""
    for name in settlement:
        _column(t.settlements, name)
    line_arrays = ", ".join(_array_of(t.settlement_lines, c, f"l_{c}") for c in lines)
    ledger_arrays = ", ".join(_array_of(t.fund_ledger, c, f"f_{c}") for c in ledger)
    parts = [
        f"settlement AS (INSERT INTO settlements (id, {', '.join(settlement)}) "
        f"VALUES (%(id)s, {', '.join(f'%(s_{c})s' for c in settlement)}))",
        f"lines AS (INSERT INTO settlement_lines (settlement_id, {', '.join(lines)}) "
        f"SELECT %(id)s, * FROM unnest({line_arrays}))",
        "year AS (UPDATE person_years SET state = %(y_state)s, settled = %(y_settled)s "
        "WHERE person_id = %(y_person)s AND year = %(y_year)s)",
        f"ledger AS (INSERT INTO fund_ledger (settlement_id, created_at, {', '.join(ledger)}) "
        f"SELECT %(id)s, %(created_at)s, * FROM unnest({ledger_arrays}))",
    ]
    main = (
        "INSERT INTO idempotency_keys (caller, key, request_hash, status_code, response, "
        "created_at) VALUES (%(k_caller)s, %(k_key)s, %(k_hash)s, %(k_status)s, "
        "%(k_response)s, %(created_at)s)"
        if answer
        else "SELECT 1"
    )
    return f"WITH {', '.join(parts)}\n{main}"


_WRITES: dict[
    tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], bool], tuple[str, _Numbered]
] = {}

# The columns of a line and of a ledger entry as service.booking makes them: a record
# without lines or entries still needs its (empty) arrays.
_LINE_COLUMNS = tuple(c.name for c in t.settlement_lines.c if c.name != "settlement_id")
_LEDGER_COLUMNS = tuple(
    c.name for c in t.fund_ledger.c if c.name not in ("id", "settlement_id", "created_at")
)


class PgCounter:
    """The counter on PostgreSQL, in the unit of work's own connection and transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._next_id: int | None = None
        self._record: tuple[int, SettlementRecord] | None = None
        self._answer: NewAnswer | None = None

    @property
    def _pg(self) -> psycopg.Connection[Any]:
        driver: psycopg.Connection[Any] = self.conn.connection.driver_connection  # type: ignore[assignment]
        return driver

    def open(self, bill: BillKeys, *, lock: bool = True) -> CounterFacts:
        """The bill's facts in one statement. With `lock` (a settlement), the person's year
        stays locked until the transaction ends, and the settlement's id is drawn."""
        pg = self._pg
        params = {
            "card": bill.card_number,
            "person": bill.person_id,
            "year": bill.year,
            "empty": _empty_year(bill.year),
            "institution": bill.institution_id,
            "codes": list(bill.codes),
            "caller": bill.caller,
            "key": bill.key,
        }
        sql, numbered = _READS[(bill.card_number is not None, lock)]
        with pg.pipeline(), psycopg.RawCursor(pg) as cursor:  # BEGIN and the read: one round trip
            cursor.execute(sql, numbered.values(params), prepare=True)
            row = cursor.fetchone()
        assert row is not None  # FROM (SELECT 1): always one row
        (state, settled, k_hash, k_status, k_response) = row[0:5]
        inst = row[5:12]
        card_row, person_row, enrolment_row = row[12:17], row[17:27], row[27:31]
        items, next_id = row[31], row[32]
        self._next_id = None if next_id is None else int(next_id)

        person = None if person_row[0] is None else PersonRecord(*person_row)
        card = None
        if card_row[0] is not None and person is not None:
            number, status, issued_on, replaced_by, due_on = card_row
            card = Card(
                number, person.id, CardStatus(status), issued_on, replaced_by, due_on=due_on
            )
        scheme, enrolment_status, valid_from, valid_to = enrolment_row
        enrolment = (
            None
            if person is None or scheme is None
            else Enrolment(
                person.id, bill.year, Scheme(scheme), enrolment_status, valid_from, valid_to
            )
        )
        return CounterFacts(
            answer=None if k_hash is None else StoredAnswer(k_hash, k_status, k_response),
            institution=None
            if inst[0] is None
            else Institution(
                inst[0], inst[1], inst[2], inst[3], InstitutionKind(inst[4]), inst[5], inst[6]
            ),
            card=card,
            person=person,
            enrolment=enrolment,
            items={
                code: CatalogueItem(
                    code, name, LineClass(cls), None if fen is None else from_fen(fen)
                )
                for code, name, cls, fen in items or ()
            },
            year=YearAccumulators(year=bill.year)
            if state is None
            else YearAccumulators.from_dict(json.loads(state)),
            settled=0 if settled is None else int(settled),
        )

    def book(self, record: SettlementRecord) -> int:
        """Keep the record for the write that goes out with the COMMIT; its id was drawn by
        open()."""
        assert self._next_id is not None, "open() the counter with lock before booking"
        sid, self._next_id = self._next_id, None
        self._record = (sid, record)
        return sid

    def remember(self, answer: NewAnswer) -> None:
        assert self._record is not None, "book() before remembering the answer"
        self._answer = answer

    def flush(self, *, commit: bool) -> None:
        """Write the booked settlement (and its answer) in one statement, sent with the
        COMMIT. A key another request committed first is KeyTakenError; the unit of work
        then rolls back."""
        if self._record is None:
            return
        (sid, record), answer = self._record, self._answer
        self._record = self._answer = None
        sql, values = _write(sid, record, answer)
        pg = self._pg
        try:
            with pg.pipeline(), psycopg.RawCursor(pg) as cursor:
                cursor.execute(sql, values, prepare=True)
                if commit:
                    pg.commit()
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.table_name == t.idempotency_keys.name:
                raise KeyTakenError() from exc
            raise

    def discard(self) -> None:
        self._next_id = None
        self._record = self._answer = None


def _write(sid: int, record: SettlementRecord, answer: NewAnswer | None) -> tuple[str, list[Any]]:
    settlement = tuple(record.values)
    shape = (settlement, _LINE_COLUMNS, _LEDGER_COLUMNS, answer is not None)
    found = _WRITES.get(shape)
    if found is None:
        found = _WRITES[shape] = _numbered(_write_sql(*shape))
    sql, numbered = found
    params: dict[str, Any] = {"id": sid, "created_at": now()}
    params.update((f"s_{c}", v) for c, v in record.values.items())
    params.update((f"l_{c}", [ln[c] for ln in record.lines]) for c in _LINE_COLUMNS)
    params.update((f"f_{c}", [e[c] for e in record.ledger]) for c in _LEDGER_COLUMNS)
    params.update(
        y_state=record.year_state(),
        y_settled=record.settled,
        y_person=record.person_id,
        y_year=record.year.year,
    )
    if answer is not None:
        params.update(
            k_caller=answer.caller,
            k_key=answer.key,
            k_hash=answer.request_hash,
            k_status=answer.status,
            k_response=answer.response,
        )
    return sql, numbered.values(params)
