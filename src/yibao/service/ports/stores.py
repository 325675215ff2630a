"""What the settlement side of the service layer needs from its stores: the registry of
people, cards and institutions, the ledger of settlements and the fund, claims, history,
the year's batch payments, and the counter (a card settlement's reads and writes).

The database adapters (adapters/db) implement these over SQLAlchemy; the fakes
(tests/fakes) in memory. Rows handed back as `Any` are read by attribute name, with the
column names of adapters/db/tables.py."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from yibao.domain.accumulators import YearAccumulators
from yibao.domain.model import Approval, CategorySpan, Filing
from yibao.domain.registry import (
    Card,
    CardStatus,
    CatalogueItem,
    Enrolment,
    Institution,
    PersonRecord,
    Referral,
)
from yibao.service.ports.records import (
    BillKeys,
    CounterFacts,
    NewAnswer,
    SettlementRecord,
)


class Registry(Protocol):
    def institution(self, institution_id: str) -> Institution | None: ...

    def catalogue_items(self, region: str, codes: Iterable[str]) -> dict[str, CatalogueItem]: ...

    def card(self, number: str) -> Card | None: ...

    def holder(
        self, card_number: str, year: int
    ) -> tuple[Card, PersonRecord, Enrolment | None] | None:
        """A card, its holder and the holder's enrolment for the year, in one query."""

    def person(self, person_id: str) -> PersonRecord | None: ...

    def person_by_id_number(self, id_number: str) -> PersonRecord | None: ...

    def enrolment(self, person_id: str, year: int) -> Enrolment | None: ...

    def enrolments_of(self, person_id: str) -> list[Enrolment]: ...

    def cards_of(self, person_id: str) -> list[Card]: ...

    def children_of(self, guardian_id: str) -> list[str]: ...

    def guardians_of(self, child_id: str) -> list[str]: ...

    def premium_totals(self, region: str, year: int) -> list[Any]:
        """Per scheme and status: persons, exempt persons and the premium's parts in fen."""

    def persons_by_id_number(self, numbers: Iterable[str]) -> dict[str, PersonRecord]:
        """Registered persons by ID number, a thousand numbers a query."""

    def enrolled_in(self, year: int, person_ids: Iterable[str]) -> set[str]:
        """Which of these persons have an enrolment for the year (any status)."""

    def add_persons(self, records: Sequence[PersonRecord]) -> None: ...

    def add_enrolments(self, enrolments: Sequence[Enrolment]) -> None: ...

    def add_guardians(self, pairs: Sequence[tuple[str, str]]) -> None:
        """(child, guardian) links; a link already there stays as it is."""

    def add_guardian(self, child_id: str, guardian_id: str) -> None: ...

    def approvals(self, person_id: str) -> tuple[Approval, ...]: ...

    def filings(self, person_id: str) -> tuple[Filing, ...]: ...

    def categories(self, person_id: str) -> tuple[CategorySpan, ...]:
        """The person's categories over dates (domain/model.Person.categories)."""

    def referrals(self, person_id: str) -> tuple[Referral, ...]: ...

    def has_persons(self, region: str) -> bool: ...

    def active_cards(
        self, region: str, year: int | None = None, limit: int | None = None
    ) -> list[tuple[str, str]]:
        """(card number, person id) of the region's persons' active cards, by person id:
        with `year`, only of persons whose enrolment for it is active; at most `limit`."""

    def add_region(self, code: str, name_zh: str, name_en: str, admdvs: str) -> None: ...

    def add_institution(self, inst: Institution) -> None: ...

    def update_institution(self, inst: Institution) -> None:
        """The institution's name, level, designation, type and province as `inst` has them."""

    def add_catalogue_items(self, region: str, items: Sequence[CatalogueItem]) -> None: ...

    def add_person(self, p: PersonRecord) -> None: ...

    def add_enrolment(self, e: Enrolment) -> None: ...

    def add_card(self, card: Card) -> None: ...

    def add_cards(self, cards: Sequence[Card]) -> None: ...

    def set_card_status(self, number: str, status: CardStatus) -> None: ...

    def add_approval(self, person_id: str, a: Approval) -> None: ...

    def add_filing(self, person_id: str, f: Filing) -> None: ...

    def add_category(
        self, person_id: str, span: CategorySpan, who: str | None = None, at: datetime | None = None
    ) -> None: ...

    def end_category(self, person_id: str, span: CategorySpan, valid_to: date) -> None:
        """The person's span `span` (as `categories` gave it) ends on `valid_to`."""

    def add_referral(self, r: Referral) -> None: ...


class Ledger(Protocol):
    """Person-years, settlements, the fund ledger and idempotency keys."""

    def lock_person_year(self, person_id: str, year: int) -> tuple[YearAccumulators, int]:
        """The year's accumulators and the number of settlements so far, locked until the
        transaction ends. One statement: insert the year if it is new, otherwise a no-op
        update, which takes the row lock on PostgreSQL (SQLite's write lock is already
        held) and returns the row as the last committed transaction left it."""

    def read_person_year(self, person_id: str, year: int) -> YearAccumulators: ...

    def save_person_year(self, person_id: str, acc: YearAccumulators, settled: int) -> None: ...

    def book(self, record: SettlementRecord) -> int:
        """Write a settled encounter (row, lines, accumulators, ledger entries); its id."""

    def add_settlement(self, values: dict[str, Any], lines: list[dict[str, Any]]) -> int: ...

    def add_ledger_entries(self, entries: list[dict[str, Any]]) -> None: ...

    def settlements_of(self, person_id: str, year: int) -> list[Any]: ...

    def settlement(self, settlement_id: int) -> Any | None: ...

    def ledger_sum(self, **where: Any) -> Decimal: ...

    def statement(self, institution_id: str, month: str) -> list[Any]: ...

    def idempotent_answer(self, caller: str, key: str) -> tuple[str, int, str] | None: ...

    def remember_answer(
        self, caller: str, key: str, request_hash: str, status_code: int, response: str
    ) -> None:
        """DuplicateError when the caller's key is taken."""


class Claims(Protocol):
    """Manual reimbursement claims."""

    def add(self, values: dict[str, Any]) -> int: ...

    def get(self, claim_id: int, *, lock: bool = False) -> Any | None: ...

    def update(self, claim_id: int, **values: Any) -> None: ...

    def by_status(self, status: str | None, limit: int = 200) -> list[Any]: ...


class History(Protocol):
    """A person-year's stored settlements, with their lines and latest adjustments."""

    def settlements(self, person_id: str, year: int) -> list[Any]: ...

    def lines(self, settlement_ids: Sequence[int]) -> dict[int, list[Any]]: ...

    def latest_adjustments(self, settlement_ids: Sequence[int]) -> dict[int, Any]: ...

    def add_reversal(self, settlement_id: int, reason: str) -> int: ...

    def add_adjustment(self, values: dict[str, Any]) -> int: ...

    def ledger_by_settlement(self, settlement_ids: Sequence[int]) -> dict[tuple[int, str], int]: ...

    def person_years(
        self, year: int, region: str | None = None, after: str = "", limit: int = 1000
    ) -> list[str]:
        """Person ids with a stored year, in id order, after `after` (for chunked runs)."""

    def years(self) -> list[int]: ...

    def count_person_years(self, year: int, region: str | None = None) -> int: ...


class Yearly(Protocol):
    """The yearly serious-illness layer's stored payments."""

    def get(self, person_id: str, year: int) -> Any | None: ...

    def put(self, values: dict[str, Any]) -> None: ...


class Regions(Protocol):
    """The regions, and the money between them: both books' receivables and payables
    (adapters/db/regions_repo.py, tables_clearing.py) and the monthly clearings."""

    def known(self, code: str) -> bool:
        """Whether the region is registered here (its catalogue is the one to bill by)."""

    def all(self) -> list[Any]: ...

    def book(
        self, settlement_id: int, insured: str, treated: str, entry: str, month: str, fen: int
    ) -> None:
        """One movement: the place of treatment's receivable and the insured place's payable."""

    def moved(self, settlement_id: int) -> bool: ...

    def balances(self) -> list[Any]:
        """(region, counterparty, side, fen) open in every book."""

    def clearing(self, clearing_id: int) -> Any | None: ...

    def clearing_of(self, month: str, a: str, b: str) -> Any | None: ...

    def clearings(self, month: str | None = None, region: str | None = None) -> list[Any]: ...

    def uncleared_pairs(self, month: str) -> list[tuple[str, str]]: ...

    def add_clearing(self, month: str, a: str, b: str) -> int:
        """A clearing of the pair's uncleared movements of the month, each assigned to it."""

    def move_late(self, month: str, a: str, b: str, to_month: str) -> int: ...

    def set_clearing(self, clearing_id: int, **values: Any) -> None: ...

    def lock_clearing(self, clearing_id: int) -> Any | None: ...

    def close(self, clearing_id: int, month: str) -> None:
        """Closing rows: the clearing's receivables and payables back to zero."""

    def statement_lines(self, clearing_ids: Sequence[int]) -> list[Any]: ...

    # What verify reads (adapters/db/regions_checks.py).
    def book_sums(self) -> dict[tuple[str, str, str], int]: ...

    def movement_imbalances(self) -> list[tuple[int, str, int]]: ...

    def moved_by_settlement(self) -> dict[int, int]: ...

    def owed_elsewhere(self) -> dict[int, int]: ...

    def uncleared_in_cleared_months(self) -> list[Any]: ...

    def clearing_holdings(self) -> dict[tuple[int, str], int]: ...

    def premiums_by_region(self) -> dict[str, int]: ...

    def borne_by_region(self) -> dict[str, int]: ...

    def paid_by_region(self) -> dict[str, int]: ...

    def region_codes(self) -> list[str]: ...


class Counter(Protocol):
    """What a card settlement reads and writes, in the caller's unit of work (see
    service/counter.py and adapters/db/counter_pg.py)."""

    def open(self, bill: BillKeys, *, lock: bool = True) -> CounterFacts:
        """Everything the bill needs, with the person's year locked when `lock`."""

    def open_many(self, bills: list[BillKeys]) -> list[CounterFacts]:
        """A group commit's bills at once (SettlementService.settle_batch): the facts of
        each, in their order, each as open() would read it; each bill's open() in this
        unit of work then takes what was read, and what it books is written by flush().
        A person-year not stored yet is not written by reading it: a bill the rules
        refuse leaves nothing. The facts of two bills of one person-year are both as
        before either (the caller settles one of them)."""

    def book(self, record: SettlementRecord) -> int:
        """Write a settled encounter; its settlement id."""

    def remember(self, answer: NewAnswer) -> None:
        """Keep the answer to an idempotency key, after book(); KeyTakenError (at the
        latest at commit) when another request took the key first."""

    def bill_done(self) -> None:
        """The bill's reads and writes are all made (its settlement booked, its answer
        kept): in a group commit's savepoint, write what the database may refuse now, so
        that a refusal is the bill's own error before its answer is taken."""

    def flush(self) -> None:
        """Write what waits (called by the unit of work's commit)."""

    def discard(self) -> None:
        """Forget what waits (called by the unit of work's rollback)."""
