"""The counter: what a card settlement reads and writes, in the caller's unit of work.

A settlement at a designated institution is the hot path of the whole system, so its
reads and writes are their own port (ports.stores.Counter) with two implementations:

- `StoreCounter` (here), over the registry and the ledger ports, one call at a time: the
  SQLite unit of work and the in-memory fakes use it;
- `PgCounter` (adapters/db/counter_pg.py), for PostgreSQL: one statement reads everything
  a bill needs with the person's year locked, and one statement writes everything it
  moves, just before the COMMIT: four commands a settlement instead of fourteen.

Both also read a group commit's bills at once (`open_many`, for settle_batch): PgCounter's
batch subclass in one statement (adapters/db/counter_pg_batch.py), StoreCounter bill by
bill without a lock, locking each year when the bill books.

Both answer `open()` with the same `CounterFacts`, and write the same `SettlementRecord`
(made once, by service.booking), so what is stored does not depend on the database.
"""

from __future__ import annotations

from yibao.domain.accumulators import YearAccumulators
from yibao.domain.registry import Card
from yibao.service.ports.records import (
    BillKeys,
    CounterFacts,
    DuplicateError,
    KeyTakenError,
    NewAnswer,
    SettlementRecord,
    StoredAnswer,
)
from yibao.service.ports.stores import Ledger, Registry


class YearMovedError(Exception):
    """A batch's person-year changed between its read and the bill's write (another
    transaction settled or reversed in it): the batch is settled again, bill by bill."""


class StoreCounter:
    """The counter over the registry and the ledger (one call at a time)."""

    def __init__(self, registry: Registry, ledger: Ledger) -> None:
        self.registry = registry
        self.ledger = ledger
        self._read: dict[BillKeys, list[CounterFacts]] = {}
        self._expected: tuple[str, int, YearAccumulators, int] | None = None

    def open_many(self, bills: list[BillKeys]) -> list[CounterFacts]:
        """Each bill read as a quote reads it, nothing written, nothing locked (SQLite
        takes its one write lock at the first write): the year is locked when a bill
        books, and a year found changed by then (YearMovedError) fails the batch."""
        found = [self.open(bill, lock=False) for bill in bills]
        for bill, facts in zip(bills, found, strict=True):
            self._read.setdefault(bill, []).append(facts)
        return found

    def open(self, bill: BillKeys, *, lock: bool = True) -> CounterFacts:
        waiting = self._read.get(bill) if lock else None
        if waiting:
            facts = waiting.pop(0)
            self._expected = (
                None
                if facts.person is None
                else (facts.person.id, bill.year, facts.year, facts.settled)
            )
            return facts
        self._expected = None
        return self._open(bill, lock=lock)

    def _open(self, bill: BillKeys, *, lock: bool) -> CounterFacts:
        reg = self.registry
        card: Card | None = None
        if bill.person_id is not None:
            person = reg.person(bill.person_id)
            enrolment = None if person is None else reg.enrolment(person.id, bill.year)
        else:
            assert bill.card_number is not None
            found = reg.holder(bill.card_number, bill.year)
            card, person, enrolment = found if found is not None else (None, None, None)
        institution = reg.institution(bill.institution_id)
        items = {} if person is None else reg.catalogue_items(person.region, bill.codes)
        year, settled = YearAccumulators(year=bill.year), 0
        if person is not None and lock:
            year, settled = self.ledger.lock_person_year(person.id, bill.year)
        elif person is not None:
            year = self.ledger.read_person_year(person.id, bill.year)
        answer = None
        if bill.key is not None and bill.caller is not None:
            # After the lock: a retry that waited for its first attempt finds its answer.
            stored = self.ledger.idempotent_answer(bill.caller, bill.key)
            answer = None if stored is None else StoredAnswer(*stored)
        return CounterFacts(answer, institution, card, person, enrolment, items, year, settled)

    def book(self, record: SettlementRecord) -> int:
        if self._expected is not None:  # read by open_many: lock the year now
            person_id, year, acc, settled = self._expected
            self._expected = None
            if self.ledger.lock_person_year(person_id, year) != (acc, settled):
                raise YearMovedError(f"the year {year} of {person_id} changed meanwhile")
        return self.ledger.book(record)

    def remember(self, answer: NewAnswer) -> None:
        try:
            self.ledger.remember_answer(
                answer.caller, answer.key, answer.request_hash, answer.status, answer.response
            )
        except DuplicateError as exc:
            raise KeyTakenError() from exc

    def flush(self) -> None:
        """Nothing waits: every write went out when it was made."""

    def bill_done(self) -> None:
        """Nothing waits: every write went out when it was made."""

    def flush_bill(self) -> None:
        """Nothing waits (a group commit's bill, as PgCounter.flush_bill)."""

    def discard_bill(self) -> None:
        """Nothing waits."""

    def discard(self) -> None:
        """Nothing waits; what open_many read is forgotten."""
        self._read = {}
        self._expected = None
