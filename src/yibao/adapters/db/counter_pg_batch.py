"""A group commit's card bills on PostgreSQL in two statements for the whole batch, not
two (and a savepoint) for each bill (service/settlement.py settle_batch):

- one read: every bill's facts (what counter_pg.py's read returns for one bill: its
  person's year, a stored answer to its key, the card, the holder, their enrolment and
  categories, the institution, the catalogue items, the settlement's id), the bills sent
  as one JSON parameter and read as rows; the person-years that exist are locked in one
  order (ORDER BY the person-year, FOR UPDATE: as the last committed transaction left
  them). A year not there yet is not inserted by the read: a bill the rules refuse then
  leaves nothing behind, without a savepoint to roll back to;
- one write: every settled bill's settlement, lines, fund ledger entries, year (updated,
  or inserted if the read found none), answer and movements between regions, each
  table's rows as one JSON array.

Each bill is looked up by its own keys (a LATERAL subquery a bill): the planner takes a
JSON function for 100 rows and would otherwise hash whole tables. A bill elsewhere (its
place of treatment in another region than its person's) also gets what the service reads
for it next (the place's region registered, the person's referrals and filings, the
place's catalogue, the movement's month cleared), handed to the transaction's Regions,
Registry and CatalogueRepo, which then need not ask.

A year inserted meanwhile by another transaction, a key another request took first, a
deadlock: the database refuses the write (or the read), and the caller rolls the batch
back and settles its bills as before, each on its own (service/group_commit.py). A key
taken meanwhile names its bill (KeyTakenError.keys) by the key the database reports
taken. (The answers went in ON CONFLICT DO NOTHING RETURNING their keys, to be counted:
a speculative insertion for every answer, an index probe before it and a WAL record
confirming it, and the keys sent back, for a race between a retry and its first attempt
that nearly never happens.)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import postgres, pq
from psycopg.adapt import Dumper
from sqlalchemy import Connection

from yibao.adapters.db.catalogue_repo import CatalogueRepo
from yibao.adapters.db.counter_pg import (
    _LEDGER_COLUMNS,
    _PERSON_COLUMNS,
    NEXT_ID,
    PgCounter,
    _card,
    _day,
    _enrolment,
    _institution,
    _items,
    _json,
    _loads,
    _person,
    facts_of,
    written_state,
)
from yibao.adapters.db.regions_repo import Regions
from yibao.adapters.db.repositories import Registry
from yibao.adapters.db.tables import idempotency_keys, settlements
from yibao.adapters.db.tables_clearing import region_ledger
from yibao.domain.model import Filing
from yibao.domain.registry import Card, Enrolment, Institution, PersonRecord, Referral
from yibao.service.ports import now
from yibao.service.ports.records import (
    BillKeys,
    CounterFacts,
    KeyTakenError,
    NewAnswer,
    SettlementRecord,
)

# The bills as rows, each its BillKeys as orjson writes a dataclass (its fields by name,
# its day as ISO text); n is the bill's place in the batch. A person is whose card it is
# when the bill names a card (pid, below).
_BILLS = """b AS (
    SELECT n, card_number AS card, person_id AS person, year, institution_id AS institution,
           codes, caller, key, day
    FROM ROWS FROM (json_to_recordset($1::json) AS (
        card_number varchar, person_id varchar, year smallint, institution_id varchar,
        codes varchar[], caller varchar, key varchar, day date))
    WITH ORDINALITY AS b(card_number, person_id, year, institution_id, codes, caller, key,
                         day, n)
)"""

# Each bill beside its card (if it names one) and whose year it settles (its card's
# holder, or the person its voucher names), and that year as it stands: the person-years
# that exist, locked one after the other in one order (the nested loop keeps its outer
# rows' order; a year two bills settle is locked once: the second lock is the first's).
# MATERIALIZED: computed once; the query below sorts it whole (by the bills' order)
# before it reads anything else.
#
# The bills' rows are read from here, each with its year, rather than the years being
# joined to the bills: a CTE has no index, and the planner, counting a JSON function as
# 100 rows, joined it inside each bill's subquery or by a nested loop, scanning all of
# it for every bill (the batch's size squared of rows compared, a thousand for 32
# bills). The card read here (by its key, a LATERAL subquery: joined, the cards would be
# hashed whole) is the one the bill's row shows: one probe of it a bill, not two.
_YEARS = """year AS MATERIALIZED (
    SELECT w.*, y.state, y.settled FROM (
        SELECT b.*, c.number, c.status AS card_status, c.issued_on, c.replaced_by,
               c.due_on, CASE WHEN b.card IS NULL THEN b.person ELSE c.person_id END AS pid
        FROM b LEFT JOIN LATERAL (
            SELECT * FROM cards c WHERE c.number = b.card OFFSET 0) c ON true
        ORDER BY pid, b.year, b.n) w
    LEFT JOIN LATERAL (
        SELECT y.state, y.settled FROM person_years y
        WHERE y.person_id = w.pid AND y.year = w.year
        FOR UPDATE) y ON true
)"""

# counter_pg's person and enrolment columns, as the holder's JSON array takes them.
_HOLDER_COLUMNS = _PERSON_COLUMNS.replace(" AS enrolment_status", "")

# Each bill's row looked up by its own keys, as counter_pg's read for one bill does: a
# LATERAL subquery per bill (OFFSET 0: kept apart, not joined to the others), so that
# each table is read by its index for the batch's few bills, never scanned whole (the
# planner takes a JSON function for 100 rows and would hash whole tables).
#
# The institution, and the card, holder and enrolment, come each as one JSON text (an
# array of the columns counter_pg's read returns, in their order), from which the bill's
# objects are taken as kept for that text (_institution_of, _holder_of): the same values
# are the same text. Loaded as 28 columns (their dates above all) they cost the driver
# twice what the rest of the row did, and their objects a keyed cache's call each.
_ROW = f"""
    SELECT k.request_hash, k.status_code, k.response,
           CASE WHEN i.id IS NOT NULL THEN json_build_array(
               i.id, i.region, i.name, i.level, i.kind, i.designated, i.pilot, i.type,
               i.province)::text END AS institution,
           CASE WHEN p.id IS NOT NULL THEN json_build_array(
               b.number, b.card_status, b.issued_on, b.replaced_by, b.due_on,
               {_HOLDER_COLUMNS})::text END AS holder,
           -- code by code, each by the catalogue's key: with the codes a parameter the
           -- planner takes `code = ANY(codes)` for ten codes and scans the whole table
           (SELECT json_agg(json_build_array(ci.code, ci.name, ci.cls, ci.unit_price_fen))
              FROM unnest(b.codes) AS q(code)
              CROSS JOIN LATERAL (
                  SELECT * FROM catalogue_items ci
                  WHERE ci.region = p.region AND ci.code = q.code OFFSET 0) ci)::text AS items,
           {NEXT_ID} AS next_id,
           (SELECT generation FROM catalogue_generation) AS catalogue_generation,
           (SELECT json_agg(json_build_array(pc.category, pc.valid_from, pc.valid_to)
                            ORDER BY pc.id)
              FROM person_categories pc WHERE pc.person_id = p.id)::text AS categories,
           -- a bill elsewhere: whether its place of treatment's region is registered
           -- here (Regions.known, asked twice by such a bill), read once with the rest
           CASE WHEN i.region <> p.region
                THEN EXISTS (SELECT FROM regions r WHERE r.code = i.region) END,
           -- and what the service then reads for it: the person's referrals and filings
           -- (SettlementService._insured), the codes in the place's catalogue
           CASE WHEN i.region <> p.region THEN coalesce(
               (SELECT json_agg(json_build_array(
                           rf.issued_by, rf.to_region, rf.valid_from, rf.valid_to) ORDER BY rf.id)
                  FROM referrals rf WHERE rf.person_id = p.id), '[]')::text END,
           CASE WHEN i.region <> p.region THEN coalesce(
               (SELECT json_agg(json_build_array(f.region, f.valid_from, f.valid_to) ORDER BY f.id)
                  FROM filings f WHERE f.person_id = p.id), '[]')::text END,
           CASE WHEN i.region <> p.region THEN coalesce(
               (SELECT json_agg(json_build_array(ci.code, ci.name, ci.cls, ci.unit_price_fen))
                  FROM unnest(b.codes) AS q(code)
                  CROSS JOIN LATERAL (
                      SELECT * FROM catalogue_items ci
                      WHERE ci.region = i.region AND ci.code = q.code OFFSET 0) ci), '[]')::text END,
           -- whether the month of its movement between the two regions is cleared
           -- already (service/clearing.py movement_month)
           CASE WHEN i.region <> p.region THEN EXISTS (
               SELECT FROM clearings cl WHERE cl.month = to_char(b.day, 'YYYY-MM') AND (
                   (cl.region_a = p.region AND cl.region_b = i.region)
                   OR (cl.region_a = i.region AND cl.region_b = p.region))) END
    FROM (SELECT 1) AS one
    LEFT JOIN persons p ON p.id = b.pid
    LEFT JOIN enrolments e ON e.person_id = p.id AND e.year = b.year
    LEFT JOIN institutions i ON i.id = b.institution
    LEFT JOIN idempotency_keys k ON k.caller = b.caller AND k.key = b.key
    OFFSET 0"""

# A row: 0-4 the year's state and settled, the stored answer's hash, status and
# response; 5 the institution's and 6 the holder's JSON text (_ROW); 7 the items, 8 the
# settlement's id, 9 the catalogue's generation, 10 the categories, as counter_pg._READ's;
# for a bill elsewhere (else NULL) 11 whether the place's region is registered, 12 the
# person's referrals, 13 their filings, 14 the codes in the place's catalogue (12-14 JSON
# as text, as _READ's), 15 whether the month of the movement between the regions is
# cleared.
READ_MANY = f"""
WITH {_BILLS}, {_YEARS}
SELECT b.state, b.settled, r.* FROM (SELECT * FROM year ORDER BY n) b
CROSS JOIN LATERAL ({_ROW}) r
ORDER BY b.n"""

_REGION_COLUMNS = ", ".join(c.name for c in region_ledger.c if c.name != "id")


class Texts(list[str | bytes]):
    """Texts sent as one text[] parameter in binary: each goes as its bytes (a text given
    as UTF-8 bytes, as they are), which the server takes as they are. The settlements' explanations (900 bytes a settlement) go
    so, beside their rows' JSON: as a JSON string, escaped here and unescaped there
    character by character, each cost PostgreSQL 7 us of the 14 us it took to read a
    settlement's row from the JSON; as a text[] sent as text, as much."""


class _TextsDumper(Dumper):
    """A Texts as PostgreSQL's binary text[] (array_recv): its header (one dimension, no
    NULL, of text), then each text's length and UTF-8 bytes. psycopg's own list dumper
    (ListBinaryDumper) first walks the list to choose its elements' dumper and measure its
    dimensions, then dumps each text through that dumper: some 40% more of the write's
    parameters' CPU for a batch's 32 explanations and its years' person ids."""

    format = pq.Format.BINARY
    oid = postgres.types["text"].array_oid

    def dump(self, obj: Texts) -> bytes:
        if not obj:
            return _EMPTY_TEXTS  # no dimension: an empty array
        data = [_TEXTS_HEAD.pack(1, 0, _TEXT_OID, len(obj), 1)]
        append, length = data.append, _LENGTH.pack
        for text in obj:
            encoded = text.encode() if isinstance(text, str) else text
            append(length(len(encoded)))
            append(encoded)
        return b"".join(data)


_TEXT_OID = postgres.types["text"].oid
_TEXTS_HEAD = struct.Struct("!iiIii")  # dimensions, has NULL, element type; size, lower bound
_EMPTY_TEXTS = struct.pack("!iiI", 0, 0, _TEXT_OID)
_LENGTH = struct.Struct("!i")

# psycopg takes the last dumper registered for a type, this one, for its parameters.
psycopg.adapters.register_dumper(Texts, _TextsDumper)

_SETTLEMENT_NAMES = [c.name for c in settlements.c]
_SETTLEMENT_COLUMNS = ", ".join(_SETTLEMENT_NAMES)
_SETTLEMENT_EXPLAINED = ", ".join(
    "explained" if name == "explanation" else name for name in _SETTLEMENT_NAMES
)
WRITE_MANY = f"""
WITH settlement AS (
    -- each row from the JSON beside its explanation, the nth with the nth
    INSERT INTO settlements ({_SETTLEMENT_COLUMNS})
    SELECT {_SETTLEMENT_EXPLAINED} FROM ROWS FROM (
        json_populate_recordset(NULL::settlements, $1::json), unnest($9::text[])
    ) AS s({_SETTLEMENT_COLUMNS}, explained)
), lines AS (
    INSERT INTO settlement_lines
    SELECT * FROM json_populate_recordset(NULL::settlement_lines, $2::json)
), ledger AS (
    INSERT INTO fund_ledger ({_LEDGER_COLUMNS})
    SELECT {_LEDGER_COLUMNS} FROM json_populate_recordset(NULL::fund_ledger, $3::json)
), kept AS (
    -- person_id = ANY($8): the years are found by their key's index. Joined to the JSON
    -- alone (taken for 100 rows) the planner hashes it and scans the whole table, a
    -- thousand rows read for every year written at a thousand persons.
    UPDATE person_years y SET state = v.state, settled = v.settled
    FROM json_populate_recordset(NULL::person_years, $4::json) v
    WHERE y.person_id = ANY ($8::varchar[]) AND y.person_id = v.person_id AND y.year = v.year
), made AS (
    INSERT INTO person_years
    SELECT * FROM json_populate_recordset(NULL::person_years, $5::json)
), moved AS (
    INSERT INTO region_ledger ({_REGION_COLUMNS})
    SELECT {_REGION_COLUMNS} FROM json_populate_recordset(NULL::region_ledger, $7::json)
)
-- each answer as orjson writes NewAnswer, all stamped with the batch's time
INSERT INTO idempotency_keys (caller, key, request_hash, status_code, response, created_at)
SELECT a.caller, a.key, a.request_hash, a.status, a.response, $10::timestamptz
FROM json_to_recordset($6::json) AS a(
    caller varchar, key varchar, request_hash varchar, status smallint, response text)"""


@dataclass
class Booked:
    """One settled bill of the batch, waiting for the batch's write."""

    sid: int
    record: SettlementRecord
    answer: NewAnswer | None
    new_year: bool  # the read found no year: the write inserts it
    moved: list[dict[str, Any]]  # its entries in the regions' books (a bill elsewhere)


@dataclass
class BatchRows:
    """A batch's rows, table by table, as the write's JSON parameters take them."""

    settlements: list[dict[str, Any]]  # without their explanations:
    explanations: list[bytes]  # theirs (UTF-8), in their order
    lines: list[dict[str, Any]]
    ledger: list[dict[str, Any]]
    kept: list[dict[str, Any]]
    made: list[dict[str, Any]]
    answers: list[NewAnswer]  # written as they are (orjson writes a dataclass)
    moved: list[dict[str, Any]]
    stamp: Any  # the batch's time: its ledger entries' and answers' created_at


def batch_rows(booked: list[Booked], stamp: Any) -> BatchRows:
    rows = BatchRows([], [], [], [], [], [], [], [], stamp)
    # The lists' methods looked up once a batch, not once a bill.
    explanations, settlements_, lines, ledger = (
        rows.explanations.append,
        rows.settlements.append,
        rows.lines.append,
        rows.ledger.append,
    )
    made, kept, answers = rows.made.append, rows.kept.append, rows.answers.append
    for bill in booked:
        sid, record = bill.sid, bill.record
        if bill.moved:
            rows.moved += bill.moved
        # The bill's own rows, written once, here: taken as they are, not copied (a
        # refused batch's bills are settled again, each making its record anew), its
        # lines too (the record's own: booking._line_rows).
        settlement = record.values
        settlement["id"] = sid
        explanations(settlement.pop("explanation"))
        settlements_(settlement)
        for line in record.lines:
            line["settlement_id"] = sid
            lines(line)
        for entry in record.ledger:  # its settlement_id (None) keeps its place
            entry["settlement_id"] = sid
            entry["created_at"] = stamp
            ledger(entry)
        year = {
            "person_id": record.person_id,
            "year": record.year.year,
            "state": written_state(record.year),
            "settled": record.settled,
        }
        (made if bill.new_year else kept)(year)
        if bill.answer is not None:
            answers(bill.answer)
    return rows


def write_many(cursor: psycopg.RawCursor[Any], rows: BatchRows, dumps: Any) -> None:
    """The batch's one write; KeyTakenError if a key was taken meanwhile (the caller
    rolls back the transaction, which the database aborted)."""
    params = [
        dumps(rows.settlements),
        dumps(rows.lines),
        dumps(rows.ledger),
        dumps(rows.kept),
        dumps(rows.made),
        dumps(rows.answers),
        dumps(rows.moved),
        Texts([year["person_id"] for year in rows.kept]),
        Texts(rows.explanations),
        rows.stamp,
    ]
    try:
        cursor.execute(WRITE_MANY, params, prepare=True)
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.table_name != idempotency_keys.name:
            raise
        taken = _taken(rows.answers, exc.diag.message_detail or "")
        raise KeyTakenError(f"idempotency key taken meanwhile: {sorted(taken)}", taken) from exc


def _taken(answers: list[NewAnswer], detail: str) -> frozenset[tuple[str, str]]:
    """The batch's key the database reports taken, from its detail "Key (caller,
    key)=(C, K) already exists." (the first one it found; words of the server's
    language, values as they are). Matched against the keys sent, so that a comma or a
    parenthesis in a key cannot mislead; none matched: the batch's bills settle one by
    one, and the taken key's bill fails there as its own."""
    return frozenset((a.caller, a.key) for a in answers if f"=({a.caller}, {a.key})" in detail)


class PgBatchCounter(PgCounter):
    """PgCounter that can also read a batch's bills at once (open_many) and write them at
    once (flush): each bill's open() then takes its facts from what was read, and what it
    books waits for the batch's write."""

    def __init__(
        self,
        conn: Connection,
        catalogue: CatalogueRepo | None = None,
        regions: Regions | None = None,
        registry: Registry | None = None,
    ) -> None:
        super().__init__(conn, catalogue)
        # Told what the batch read for its bills elsewhere (_seen_elsewhere).
        self.regions = regions
        self.registry = registry
        self.batched = False  # open_many() was called: bills are written by flush()
        # Each bill's facts, settlement id and whether its year is new, by the bill's keys'
        # id(): the service hands open() the very keys it gave open_many (Bill.keys keeps
        # them), and a frozen dataclass hashes all its fields in Python at every lookup.
        # Each entry holds its keys, so that no id is reused while it waits.
        self._read: dict[int, list[tuple[BillKeys, CounterFacts, int, bool]]] = {}
        self._new_year = False  # the bill under way found no year
        self._booked: list[Booked] = []

    def open_many(self, bills: list[BillKeys]) -> list[CounterFacts]:
        """The facts of every bill, in their order, in one statement; the person-years
        that exist stay locked until the transaction ends, and each bill's settlement id
        is drawn."""
        with psycopg.RawCursor(self._pg) as cursor:
            # The keys as they are (orjson writes a dataclass natively): a dict a bill
            # made for the JSON cost more than writing it.
            cursor.execute(READ_MANY, [_json(bills)], prepare=True)
            rows = cursor.fetchall()
        assert len(rows) == len(bills)  # FROM the bills: one row each, in their order
        self.batched = True
        if self.regions is not None:  # a bill's movements go with its write
            self.regions.deferred = []
        found = []
        for bill, row in zip(bills, rows, strict=True):
            facts = _batch_facts(row, bill.year)
            self._read.setdefault(id(bill), []).append((bill, facts, int(row[8]), row[0] is None))
            found.append(facts)
            if row[11] is not None:  # a bill elsewhere
                self._seen_elsewhere(bill, row, facts)
        if self.catalogue is not None and rows:
            self.catalogue.seen_generation(int(rows[0][9] or 0))
        return found

    def _seen_elsewhere(self, bill: BillKeys, row: Any, facts: CounterFacts) -> None:
        """What the batch read for a bill elsewhere, handed to the repositories that would
        read it again for that bill in this transaction (its institution and person are
        there: the read compares their regions)."""
        assert facts.institution is not None
        assert facts.person is not None
        person_id, region = facts.person.id, facts.institution.region
        if row[11] and self.regions is not None:
            self.regions.seen_known(region)
        if self.registry is not None:
            referrals = tuple(
                Referral(person_id, by, to, _on(start), _on(end))
                for by, to, start, end in _loads(row[12])
            )
            filings = tuple(Filing(at, _on(start), _on(end)) for at, start, end in _loads(row[13]))
            self.registry.seen_certificates(person_id, referrals, filings)
        if row[15] is False and self.regions is not None and bill.day is not None:
            a, b = sorted((facts.person.region, region))
            self.regions.seen_uncleared(_month(bill.day), a, b)
        if self.catalogue is not None:
            # Each item made once a process, as the read's items of the person's region
            # (counter_pg._item): not an Enum call and a Decimal an item a bill.
            self.catalogue.seen_items(region, bill.codes, dict(_items(row[14])))

    def open(self, bill: BillKeys, *, lock: bool = True) -> CounterFacts:
        waiting = self._waiting(bill) if lock else None
        if not waiting:
            return super().open(bill, lock=lock)
        _, facts, self._next_id, self._new_year = waiting.pop(0)
        self._record = self._answer = None  # the bill before, refused, left nothing
        self._moved()
        return facts

    def _waiting(self, bill: BillKeys) -> list[tuple[BillKeys, CounterFacts, int, bool]] | None:
        """What the batch read for these keys: the same object's, or else (keys made
        anew, equal) the first equal keys' still waiting."""
        waiting = self._read.get(id(bill))
        if waiting and waiting[0][0] is bill:
            return waiting
        for entries in self._read.values():
            if entries and entries[0][0] == bill:
                return entries
        return None

    def _moved(self) -> list[dict[str, Any]]:
        """The movements the bill under way booked in the regions' books (taken)."""
        if self.regions is None or not self.regions.deferred:
            return []
        moved, self.regions.deferred = self.regions.deferred, []
        return moved

    def bill_done(self) -> None:
        if not self.batched:
            super().bill_done()
        elif self._record is not None:
            (sid, record), answer = self._record, self._answer
            self._record = self._answer = None
            self._booked.append(Booked(sid, record, answer, self._new_year, self._moved()))

    def flush(self) -> None:
        """The batch's bills in one statement (a bill booked but not done was refused:
        it is left out), then whatever else waits, as PgCounter.flush."""
        if self.batched:
            self._record = self._answer = None
            self._moved()
            self._done()
        if self._booked:
            booked, self._booked = self._booked, []
            with psycopg.RawCursor(self._pg) as cursor:
                write_many(cursor, batch_rows(booked, now()), _json)
        super().flush()

    def discard(self) -> None:
        super().discard()
        self._booked = []
        self._read = {}
        self._done()

    def _done(self) -> None:
        """The batch is written or forgotten: what the unit of work does next is written
        as it is made."""
        self.batched = False
        if self.regions is not None:
            self.regions.deferred = None


def _batch_facts(row: Any, year: int) -> CounterFacts:
    """A bill's facts from its row of the batch's read (READ_MANY), as counter_pg._facts
    makes them from the read of one bill: the same objects for the same values."""
    holder = row[6]
    institution = None if row[5] is None else _institution_of(row[5])
    held = _NO_HOLDER if holder is None else _holder_of(holder, year)
    return facts_of(row, year, institution, held, row[7], row[10])


_NO_HOLDER: tuple[None, None, None] = (None, None, None)


# The institution and the holder (card, person, enrolment) of a JSON text of the read, by
# that text (and the bill's year, whose enrolment it is), kept as counter_pg keeps its
# objects (lru_cache, the same bounds): every column's value is in the text, so a changed
# row is another text, never the object kept before. Made by counter_pg's own keyed
# constructors, so that a bill read alone gets the same objects (the service keeps what it
# makes of them on them). A person whose id number is wrong raises every time (an
# exception is never kept).
@lru_cache(maxsize=4096)
def _institution_of(text: str) -> Institution:
    return _institution(*_loads(text))


@lru_cache(maxsize=1 << 16)
def _holder_of(text: str, year: int) -> tuple[Card | None, PersonRecord, Enrolment | None]:
    """The card (if the bill names one), the person and their enrolment of the year (if
    any) of a holder's columns: the card's 0-4, the person's 5-14, the enrolment's 15-18."""
    values = _loads(text)
    (number, status, issued_on, replaced_by, due_on, pid, id_number, name, birth_date, sex) = (
        values[:10]
    )
    person = _person(pid, id_number, name, _day(birth_date), sex, *values[10:15])
    card = None
    if number is not None:
        card = _card(number, status, _day(issued_on), replaced_by, _day(due_on), pid)
    scheme, enrolled, valid_from, valid_to = values[15:19]
    enrolment = None
    if scheme is not None:
        enrolment = _enrolment(pid, year, scheme, enrolled, _day(valid_from), _day(valid_to))
    return card, person, enrolment


def _month(day: date) -> str:
    """f"{day:%Y-%m}" without strftime (15,000 instructions: 1.2% of a batch's)."""
    return f"{day.year}-{day.month:02d}"


def _on(iso: str) -> date:
    return date.fromisoformat(iso)
