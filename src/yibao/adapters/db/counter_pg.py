"""The counter on PostgreSQL: a card settlement in four commands,

    BEGIN,
    one statement that locks the person's year and reads everything the bill needs (the
    year, a stored answer to its idempotency key, the card, the holder, their enrolment
    and categories, the institution, the catalogue items and the catalogue's generation,
    the settlement's id),
    one statement that writes everything it moves (the settlement, its lines, the year,
    the fund ledger entries, the answer),
    COMMIT,

as prepared statements, in the unit of work's own connection and transaction. On this
path the work of a statement (the client's and the server's) costs more than the round
trip: the fourteen commands a settlement issued through SQLAlchemy took about three
times the CPU. (psycopg's pipeline mode, sending BEGIN with the read and the write with
the COMMIT, saved two round trips but cost more CPU than it saved on one machine; with
the database across a network it may be worth measuring again.)

The write sends each row as one JSON parameter read into the table's own row type, so
what the hot path writes follows tables.py and is what `Ledger.book` writes.

Reading everything in the locking statement means the other reads use the snapshot the
statement started with, before the lock was granted: a retry that waited behind its first
attempt may not see the first attempt's answer. It then settles again, and its answer's
INSERT fails on the key, which rolls the whole transaction back (KeyTakenError): the
service reads the answer then. Nothing is paid twice; the year itself is always read as
the last committed transaction left it (ON CONFLICT DO UPDATE locks and returns the
newest row).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

import orjson
import psycopg
import psycopg.errors
from psycopg.adapt import Dumper
from sqlalchemy import Connection

from yibao.adapters.db import tables as t
from yibao.adapters.db.catalogue_repo import CatalogueRepo
from yibao.adapters.db.ledger_repo import year_state
from yibao.adapters.db.written_years import written_state as written_state
from yibao.adapters.db.written_years import year_of
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.model import CategorySpan, LineClass, Scheme
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
from yibao.service.ports import now
from yibao.service.ports.records import (
    BillKeys,
    CounterFacts,
    KeyTakenError,
    NewAnswer,
    SettlementRecord,
    StoredAnswer,
    explanation_text,
)


class _Numbered:
    """SQL with PostgreSQL's own $1 placeholders, written with names: `sql % numbered`
    numbers each name once (a name used twice is one parameter), and `values(params)`
    lists the values in that order. The statements go by a RawCursor, which sends them
    as they are instead of parsing %(name)s placeholders on every call (psycopg caches
    that parsing only for short statements with few parameters)."""

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

# A settlement locks the year's row with SELECT ... FOR UPDATE, which returns the row as
# the last committed transaction left it: a lock, not a new version of the row with its
# whole state (the no-op ON CONFLICT update it did before wrote the state to the table
# and the WAL once more a settlement). A year not there yet is inserted; one inserted
# meanwhile by another transaction is locked by ON CONFLICT DO UPDATE, which returns its
# newest row (as Ledger.lock_person_year). A quote reads the year as it stands, locking
# nothing.
_LOCK_YEAR = """locked AS (
    SELECT state, settled FROM person_years
    WHERE person_id = (SELECT {column} FROM {source}) AND year = %(year)s
    FOR UPDATE
), made AS (
    INSERT INTO person_years (person_id, year, state, settled)
    SELECT {column}, %(year)s, %(empty)s, 0 FROM {source}
    AND NOT EXISTS (SELECT FROM locked)
    ON CONFLICT (person_id, year) DO UPDATE SET settled = person_years.settled
    RETURNING state, settled
), year AS (SELECT state, settled FROM locked UNION ALL SELECT state, settled FROM made)"""
_READ_YEAR = """year AS (
    SELECT state, settled FROM person_years
    WHERE person_id = (SELECT {column} FROM {source}) AND year = %(year)s)"""

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

# The items code by code, each by the catalogue's key: PostgreSQL's generic plan for the
# prepared read (after five runs) takes `code = ANY($n)` for ten codes and scans the whole
# catalogue, once a bill. The JSON columns come as text, parsed by orjson (_loads): psycopg's
# json loader calls json.loads, some 4,000 instructions more a bill.
_READ = """
WITH {year}, holder AS ({holder})
SELECT y.state, y.settled,
       k.request_hash, k.status_code, k.response,
       i.id, i.region, i.name, i.level, i.kind, i.designated, i.pilot,
       h.*,
       (SELECT json_agg(json_build_array(ci.code, ci.name, ci.cls, ci.unit_price_fen))
          FROM unnest(%(codes)s::varchar[]) AS q(code)
          CROSS JOIN LATERAL (
              SELECT * FROM catalogue_items ci
              WHERE ci.region = h.region AND ci.code = q.code OFFSET 0) ci)::text AS items,
       {next_id} AS next_id,
       (SELECT generation FROM catalogue_generation) AS catalogue_generation,
       (SELECT json_agg(json_build_array(pc.category, pc.valid_from, pc.valid_to) ORDER BY pc.id)
          FROM person_categories pc WHERE pc.person_id = h.id)::text AS categories,
       i.type AS inst_type, i.province AS inst_province
FROM (SELECT 1) AS one
LEFT JOIN year y ON true
LEFT JOIN holder h ON true
LEFT JOIN institutions i ON i.id = %(institution)s
LEFT JOIN idempotency_keys k ON k.caller = %(caller)s AND k.key = %(key)s"""

# The settlement's id from its column's sequence, found once a statement (an InitPlan,
# not correlated to any row): pg_get_serial_sequence looks the sequence up in pg_depend,
# some 5 us of the server's CPU, which it spent for every bill of a batch's read.
NEXT_ID = "nextval((SELECT pg_get_serial_sequence('settlements', 'id')::regclass))"


def _read_sql(by_card: bool, lock: bool) -> str:
    person = _BY_CARD if by_card else _BY_PERSON
    return _READ.format(
        year=(_LOCK_YEAR if lock else _READ_YEAR).format(**person),
        holder=_HOLDER_BY_CARD if by_card else _HOLDER_BY_PERSON,
        next_id=NEXT_ID if lock else "NULL::bigint",
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
        found = _EMPTY_YEAR[year] = year_state(YearAccumulators(year=year))
    return found


# --- the write ----------------------------------------------------------------------

# Each row goes as one JSON parameter, read into the table's own row type: what is
# written follows the table's definition, and the driver adapts a few strings instead
# of fifty parameters and fifteen arrays. The parts run as one statement (atomically;
# the foreign keys are checked at its end).
_LEDGER_COLUMNS = ", ".join(c.name for c in t.fund_ledger.c if c.name != "id")
_WRITE = f"""
WITH settlement AS (
    INSERT INTO settlements SELECT * FROM json_populate_record(NULL::settlements, $1::json)
), lines AS (
    INSERT INTO settlement_lines
    SELECT * FROM json_populate_recordset(NULL::settlement_lines, $2::json)
), ledger AS (
    INSERT INTO fund_ledger ({_LEDGER_COLUMNS})
    SELECT {_LEDGER_COLUMNS} FROM json_populate_recordset(NULL::fund_ledger, $3::json)
), year AS (
    UPDATE person_years SET state = $4, settled = $5 WHERE person_id = $6 AND year = $7
)
"""
_WRITE_ALONE = _WRITE + "SELECT 1"
_WRITE_WITH_ANSWER = (
    _WRITE + "INSERT INTO idempotency_keys "
    "SELECT * FROM json_populate_record(NULL::idempotency_keys, $8::json)"
)

# A bill of a group commit (UnitOfWork.savepoint) writes, in its savepoint, the rows the
# database may refuse or that a later bill reads: the settlement (its person's sequence
# number, the sum it must conserve), the year, and the answer (its key may have been taken
# meanwhile). Its lines and fund ledger entries, which nothing can refuse once the
# settlement's row is in (their keys are the new settlement's id and a line's number),
# wait for the batch's commit and go in one multi-row statement for all its bills: two
# fewer parts in every bill's statement, and one for the batch.
_BILL = """
WITH settlement AS (
    INSERT INTO settlements SELECT * FROM json_populate_record(NULL::settlements, $1::json)
), year AS (
    UPDATE person_years SET state = $2, settled = $3 WHERE person_id = $4 AND year = $5
)
"""
_BILL_WRITES = {
    False: _BILL + "SELECT 1",
    True: _BILL
    + "INSERT INTO idempotency_keys "
    + "SELECT * FROM json_populate_record(NULL::idempotency_keys, $6::json)",
}
_ROWS = f"""
WITH lines AS (
    INSERT INTO settlement_lines
    SELECT * FROM json_populate_recordset(NULL::settlement_lines, $1::json)
)
INSERT INTO fund_ledger ({_LEDGER_COLUMNS})
SELECT {_LEDGER_COLUMNS} FROM json_populate_recordset(NULL::fund_ledger, $2::json)
"""


# The enums by their stored values: a dict lookup costs a tenth of an Enum's call, and a
# bill's facts make four or more.
_CARD_STATUS = {m.value: m for m in CardStatus}
_SCHEME = {m.value: m for m in Scheme}
_INSTITUTION_KIND = {m.value: m for m in InstitutionKind}
_LINE_CLASS = {m.value: m for m in LineClass}


def _facts(row: Any, year: int) -> CounterFacts:
    """The facts of a bill from the row the counter's read returns."""
    person = None if row[17] is None else _person(*row[17:27])
    card = None
    if row[12] is not None and person is not None:
        card = _card(*row[12:17], person.id)
    enrolment = (
        None if person is None or row[27] is None else _enrolment(person.id, year, *row[27:31])
    )
    institution = None if row[5] is None else _institution(*row[5:12], row[35], row[36])
    return facts_of(row, year, institution, (card, person, enrolment), row[31], row[34])


def facts_of(
    row: Any,
    year: int,
    institution: Institution | None,
    holder: tuple[Card | None, PersonRecord | None, Enrolment | None],
    items: str | None,
    categories: str | None,
) -> CounterFacts:
    """A bill's facts from what both reads return alike (the year's state, its settled
    count, the kept answer in the row's first five columns; the items and categories as
    JSON) and what each makes its own way (the institution, the holder)."""
    state, settled, k_hash = row[0], row[1], row[2]
    card, person, enrolment = holder
    # Positionally: CounterFacts' fields in their order (fast_init takes keywords dearer).
    return CounterFacts(
        None if k_hash is None else StoredAnswer(k_hash, row[3], row[4]),
        institution,
        card,
        person,
        enrolment,
        {} if items is None else dict(_items(items)),
        YearAccumulators(year=year) if state is None else _year_of(state),
        0 if settled is None else int(settled),
        # No categories (most persons: NULL, no JSON) without a generator over none.
        None
        if person is None
        else ()
        if categories is None
        else tuple(
            CategorySpan(category, _day(valid_from), _day(valid_to))
            for category, valid_from, valid_to in _loads(categories)
        ),
    )


# An institution and a person as a read returns them, one (frozen) object for every bill
# whose row has the same values: a batch's bills share a few institutions, and a process
# settles its persons' bills again and again. Kept by every column's value, so a changed
# row (another name, a new level, a new phone) is another key, never the old object; the
# person's id number is checked (PersonRecord.__post_init__) when first made, and a wrong
# one raises every time (an exception is never kept).
@lru_cache(maxsize=4096)
def _institution(
    iid: str,
    region: str,
    name: str,
    level: int,
    kind: str,
    designated: bool,
    pilot: bool,
    itype: str,
    province: str | None,
) -> Institution:
    return Institution(
        iid, region, name, level, _INSTITUTION_KIND[kind], designated, pilot, itype, province
    )


_person = lru_cache(maxsize=1 << 16)(PersonRecord)


# A card and an enrolment as a read returns them, kept as the person is (by every value
# the read returned: a card blocked or replaced, an enrolment cancelled or another
# scheme's, is another key and another object, never the one kept before).
@lru_cache(maxsize=1 << 16)
def _card(
    number: str,
    status: str,
    issued_on: date | None,
    replaced_by: str | None,
    due_on: date | None,
    person_id: str,
) -> Card:
    return Card(number, person_id, _CARD_STATUS[status], issued_on, replaced_by, None, due_on)


@lru_cache(maxsize=1 << 16)
def _enrolment(
    person_id: str, year: int, scheme: str, status: str, valid_from: date, valid_to: date
) -> Enrolment:
    return Enrolment(person_id, year, _SCHEME[scheme], status, valid_from, valid_to)


@lru_cache(maxsize=50_000)  # items come from catalogues: never an unbounded memory
def _item(code: str, name: str, cls: str, fen: int | None) -> CatalogueItem:
    """A base item as a read returns it, one object for every bill that bills it (frozen):
    its price's Decimal is made once, and its hash, which a Decimal keeps, computed once
    (CatalogueRepo keeps the item's entry by it)."""
    return CatalogueItem(code, name, _LINE_CLASS[cls], None if fen is None else from_fen(fen))


@lru_cache(maxsize=8192)
def _items(text: str) -> dict[str, CatalogueItem]:
    """A bill's items by code from the read's JSON text of them: the same text (every
    item's code, name, class and price) is the same items, parsed once. The caller takes
    a copy (the kept dict is never handed out)."""
    return {item[0]: _item(*item) for item in _loads(text)}


_loads = orjson.loads
_year_of = year_of  # the accumulators kept by their text (written_years.py)


def _day(iso: str | None) -> date | None:
    return None if iso is None else date.fromisoformat(iso)


class PgCounter:
    """The counter on PostgreSQL, in the unit of work's own connection and transaction."""

    def __init__(self, conn: Connection, catalogue: CatalogueRepo | None = None) -> None:
        self.conn = conn
        # The catalogue's generation comes with the read: the catalogue's lookups in this
        # transaction need not read it again (catalogue_cache.py).
        self.catalogue = catalogue
        self._next_id: int | None = None
        self._record: tuple[int, SettlementRecord] | None = None
        self._answer: NewAnswer | None = None
        self.in_batch = False  # a group commit's bills (UnitOfWork.savepoint)
        self._in_bill = False  # one of them under way, in its savepoint
        # A group commit's lines and ledger entries, written at its commit (flush), and
        # those of its bill under way, until its savepoint ends well (flush_bill).
        self._lines: list[dict[str, Any]] = []
        self._ledger: list[dict[str, Any]] = []
        self._bill_rows: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])

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
        with psycopg.RawCursor(pg) as cursor:
            cursor.execute(sql, numbered.values(params), prepare=True)
            row = cursor.fetchone()
        assert row is not None  # FROM (SELECT 1): always one row
        next_id = row[32]
        self._next_id = None if next_id is None else int(next_id)
        if self.catalogue is not None:
            self.catalogue.seen_generation(int(row[33] or 0))
        return _facts(row, bill.year)

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

    def flush(self) -> None:
        """Write what is pending just before the unit of work commits: the booked
        settlement (and its answer) in one statement, and the lines and ledger entries the
        batch's bills left (flush_bill) in one more. A key another request committed first
        is KeyTakenError; the unit of work then rolls back."""
        if self._record is not None:
            (sid, record), answer = self._record, self._answer
            self._record = self._answer = None
            self._execute(*_write(sid, record, answer))
        # The batch's rows once no bill is under way: a caller that flushes inside a
        # bill's savepoint (service/desk.py) must not put the earlier bills' rows there,
        # where the bill's rollback would take them along.
        if (self._lines or self._ledger) and not self._in_bill:
            lines, ledger = self._lines, self._ledger
            self._lines, self._ledger = [], []
            self._execute(_ROWS, [_json(lines), _json(ledger)])

    def begin_bill(self) -> None:
        """A group commit's bill begins (UnitOfWork.savepoint): from now on each bill is
        written at its end (bill_done), its lines and ledger entries at the commit."""
        self.in_batch = self._in_bill = True

    def bill_done(self) -> None:
        """The settlement service made the bill's last write (SettlementService.settle_in):
        in a group commit's savepoint (`in_batch`, set by UnitOfWork.savepoint) the bill
        is written now, so that a key taken meanwhile fails the bill inside settle_in, as
        its own error, before the committer takes its answer. A bill alone is written with
        the commit, in one statement (flush)."""
        if self.in_batch:
            self._write_bill()

    def flush_bill(self) -> None:
        """The bill's savepoint ends well: what it left unwritten is written, and its lines
        and ledger entries join the batch's, for the commit (flush). Until then they are
        the bill's own: a bill rolled back to its savepoint after its write (any error
        later in it) takes them along (discard_bill)."""
        self._write_bill()
        lines, ledger = self._bill_rows
        self._lines += lines
        self._ledger += ledger
        self._bill_rows = ([], [])
        self._in_bill = False

    def _write_bill(self) -> None:
        """The rows of the booked bill the database may refuse, now (the bill alone fails
        and is rolled back to its savepoint); its lines and ledger entries are kept."""
        if self._record is None:
            return
        (sid, record), answer = self._record, self._answer
        self._record = self._answer = None
        stamp = now()
        values: list[Any] = [
            _json(settlement_row(sid, record)),
            written_state(record.year),
            record.settled,
            record.person_id,
            record.year.year,
        ]
        if answer is not None:
            values.append(_json(answer_row(answer, stamp)))
        self._execute(_BILL_WRITES[answer is not None], values)
        self._bill_rows = (line_rows(sid, record), ledger_rows(sid, record, stamp))

    def _execute(self, sql: str, values: list[Any]) -> None:
        try:
            with psycopg.RawCursor(self._pg) as cursor:
                cursor.execute(sql, values, prepare=True)
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.table_name == t.idempotency_keys.name:
                raise KeyTakenError() from exc
            raise

    def discard_bill(self) -> None:
        """Forget the bill under way (rolled back to its savepoint); the batch's earlier
        bills keep what they left for the commit."""
        self._next_id = None
        self._record = self._answer = None
        self._bill_rows = ([], [])
        self._in_bill = False

    def discard(self) -> None:
        """Forget everything pending: the transaction rolls back."""
        self.discard_bill()
        self._lines, self._ledger = [], []


class JsonText(bytes):
    """JSON as orjson wrote it, UTF-8, for a statement's parameter: sent as a str is, as
    text of an unknown type that the statement's cast reads (`$1::json`). Bytes would go
    as bytea; a str made of them (decode) was encoded back to the same bytes by the
    driver: two passes over a settlement's 2 kB of rows, its names and words in Chinese
    (UCS-2 in a str), some 1% of a group commit's instructions."""


class _JsonTextDumper(Dumper):
    oid = 0  # unknown, as psycopg sends a str: the same prepared statements and plans

    def dump(self, obj: JsonText) -> bytes:
        return obj


psycopg.adapters.register_dumper(JsonText, _JsonTextDumper)


def _json(value: Any) -> JsonText:
    return JsonText(orjson.dumps(value))


# A booked settlement's rows as the tables take them (json_populate_record[set]): one
# shape for the bill alone, the group commit's bill (_write_bill) and the batch's write
# (counter_pg_batch.py).
def settlement_row(sid: int, record: SettlementRecord) -> dict[str, Any]:
    return {"id": sid, **explanation_text(record.values)}


def line_rows(sid: int, record: SettlementRecord) -> list[dict[str, Any]]:
    return [{"settlement_id": sid, **ln} for ln in record.lines]


def ledger_rows(sid: int, record: SettlementRecord, stamp: Any) -> list[dict[str, Any]]:
    return [{**e, "settlement_id": sid, "created_at": stamp} for e in record.ledger]


def answer_row(answer: NewAnswer, stamp: Any) -> dict[str, Any]:
    return {
        "caller": answer.caller,
        "key": answer.key,
        "request_hash": answer.request_hash,
        "status_code": answer.status,
        "response": answer.response,
        "created_at": stamp,
    }


def _write(sid: int, record: SettlementRecord, answer: NewAnswer | None) -> tuple[str, list[Any]]:
    stamp = now()
    values: list[Any] = [
        _json(settlement_row(sid, record)),
        _json(line_rows(sid, record)),
        _json(ledger_rows(sid, record, stamp)),
        written_state(record.year),
        record.settled,
        record.person_id,
        record.year.year,
    ]
    if answer is None:
        return _WRITE_ALONE, values
    values.append(_json(answer_row(answer, stamp)))
    return _WRITE_WITH_ANSWER, values
