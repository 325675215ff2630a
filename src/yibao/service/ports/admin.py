"""What the administration's side of the service layer needs from its stores: accounts
and the audit log, the medical catalogue, certificates and the pilot, premium
collection, the console's read models, the member app, schools and their classes.

Implemented over SQLAlchemy by adapters/db and in memory by the fakes (tests/fakes).
Rows handed back as `Any` are read by attribute name, with the column names of the
tables in adapters/db."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from yibao.domain.access import Principal
from yibao.domain.catalogue import Entry
from yibao.domain.registry import Card, CardStatus, CatalogueItem


class Accounts(Protocol):
    def add(self, values: dict[str, Any]) -> None:
        """Raises DuplicateError when the account exists."""

    def get(self, account_id: str, *, lock: bool = False) -> Any | None: ...

    def get_many(self, account_ids: set[str]) -> dict[str, Any]: ...

    def of_person(self, person_id: str) -> list[Any]: ...

    def update(self, account_id: str, **values: Any) -> None: ...

    def add_token(
        self, token_hash: str, account_id: str, label: str, expires_at: datetime | None
    ) -> None: ...

    def by_token(self, token_hash: str) -> Any | None: ...

    def revoke_tokens(self, account_id: str) -> int: ...

    def revoke_token(self, token_hash: str) -> None: ...

    def list(self, role: str | None = None) -> list[Any]: ...


class Audit(Protocol):
    """Written in the same transaction as the change it records: both or neither. The
    entries of a unit of work are kept and written together at its commit (one INSERT
    for a batch of ten thousand changes, not ten thousand)."""

    def record(
        self,
        who: Principal,
        action: str,
        object_type: str,
        object_id: str,
        before: Any = None,
        after: Any = None,
    ) -> None: ...

    def discard(self) -> None: ...

    def flush(self) -> None: ...

    def entries(
        self,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        actor: str | None = None,
        region: str | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]: ...


class Catalogue(Protocol):
    def has_region(self, region: str) -> bool: ...

    def entries(self, region: str, codes: Iterable[str]) -> dict[str, list[Entry]]:
        """Every dated entry of the codes, oldest first."""

    def in_force(
        self,
        region: str,
        codes: Iterable[str],
        day: date,
        known: Mapping[str, CatalogueItem] | None = None,
    ) -> dict[str, Entry]:
        """The entry of each code in force on the day: the dated one, else the base item
        (from `known`, the base items the caller has read already, or read here)."""

    def mapped(self, institution_id: str, codes: Iterable[str], day: date) -> dict[str, str]:
        """Own code -> national code, for the institution's mappings active on the day
        (of several, the latest start wins)."""

    def mappings(self, institution_id: str) -> list[Any]: ...

    def region_entries(self, region: str, on: date | None = None) -> list[Entry]:
        """A region's dated entries (those in force on `on`, when given), by code."""

    def add_entries(self, region: str, entries: Sequence[Entry]) -> None: ...

    def add_mapping(
        self,
        institution_id: str,
        own_code: str,
        own_name: str | None,
        national_code: str,
        valid_from: date,
        valid_to: date | None,
    ) -> int: ...

    def cancel_mapping(self, institution_id: str, own_code: str) -> int:
        """Cancel the institution's active mappings of the code; how many were."""


class Certificates(Protocol):
    def lock_person(self, person_id: str) -> None:
        """Serialise changes to one person's certificates (PostgreSQL row lock; SQLite
        holds its write lock for the whole transaction anyway), so two overlapping filings
        sent at once cannot both pass the overlap check."""

    def add_approval(self, values: dict[str, Any]) -> int: ...

    def approval(self, approval_id: int, *, lock: bool = False) -> Any | None: ...

    def update_approval(self, approval_id: int, **values: Any) -> None: ...

    def open_application(self, person_id: str, disease: str) -> Any | None:
        """An application for this person and disease still waiting for a decision."""

    def approvals_of(self, person_id: str) -> list[Any]: ...

    def approvals_by_status(
        self, status: str | None, region: str | None, limit: int = 200
    ) -> list[Any]:
        """Approvals with the person's region, oldest application first (the queue's order)."""

    def add_filing(self, values: dict[str, Any]) -> int: ...

    def filing(self, filing_id: int) -> Any | None: ...

    def overlapping_filings(self, person_id: str, start: date, end: date) -> list[Any]: ...

    def filings_of(self, person_id: str) -> list[Any]: ...

    def add_referral(self, values: dict[str, Any]) -> int: ...

    def referral(self, referral_id: int) -> Any | None: ...

    def referrals_of(self, person_id: str) -> list[Any]: ...

    def referrals_by(
        self, issued_by: str | None, region: str | None, limit: int = 200
    ) -> list[Any]:
        """Referrals issued by one institution, or of the persons of one region; newest first."""

    def pilot_hospital(self, region: str, year: int, institution_id: str) -> Any | None: ...

    def is_pilot_hospital(self, institution_id: str, region: str, year: int) -> bool:
        """Whether the institution is on its region's pilot list for the year."""

    def add_pilot_hospital(self, region: str, year: int, institution_id: str, by: str) -> None: ...

    def remove_pilot_hospital(self, region: str, year: int, institution_id: str) -> None: ...

    def pilot_hospitals(self, region: str, year: int) -> list[Any]:
        """The year's list with each institution's name and level."""

    def count_registrations_at(self, hospital_id: str, year: int) -> int: ...

    def add_registration(self, values: dict[str, Any]) -> int:
        """The new registration's id; DuplicateError when it is registered already."""

    def registration(self, person_id: str, disease: str, year: int) -> Any | None: ...

    def registration_by_id(self, registration_id: int) -> Any | None: ...

    def registrations_of(self, person_id: str) -> list[Any]: ...

    def registrations_by(
        self, hospital_id: str | None, region: str | None, year: int | None, limit: int = 500
    ) -> list[Any]:
        """Registrations at one hospital, or of the children of one region."""


class Collection(Protocol):
    def pending_without_account(self, region: str, year: int) -> list[Any]:
        """Pending enrolments of the region's persons for the year that have no account:
        person_id, personal_fen, oldest first (the order their numbers are given in)."""

    def last_number(self, prefix: str, length: int, table: str) -> str | None:
        """The highest number with this prefix and length: accounts or cards."""

    def add_accounts(self, rows: Sequence[dict[str, Any]]) -> None: ...

    def accounts(self, numbers: Iterable[str]) -> dict[str, Any]: ...

    def mark_paid(self, number: str, paid_on: date, import_id: int) -> bool:
        """Open → paid; False when it was no longer open (another import got there first)."""

    def mark_paid_many(self, payments: Sequence[tuple[str, date]], import_id: int) -> set[str]:
        """Open -> paid for each (account, day); the accounts this changed (one another
        import paid first is left out). One UPDATE per bank date and chunk."""

    def enrolment_statuses(self, pairs: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """(person, year) -> the enrolment's status, for the persons of a bank file."""

    def activate_enrolments(
        self, activations: Sequence[tuple[str, int, date]]
    ) -> set[tuple[str, int]]:
        """Pending -> active from each payment day; the (person, year) this changed."""

    def live_card_holders(self, persons: set[str]) -> set[str]:
        """Which of these persons have a card ordered or in their hands."""

    def open_accounts(self, region: str, year: int) -> list[Any]:
        """Open accounts with the holder's name, for the bank."""

    def account_counts(self, region: str, year: int) -> dict[str, int]: ...

    def activate_enrolment(self, person_id: str, year: int, paid_on: date) -> bool:
        """Pending → active from the payment; False if it was not pending."""

    def import_by_sha256(self, sha256: str) -> Any | None: ...

    def add_import(
        self, file_name: str, sha256: str, region: str | None, imported_by: str, line_count: int
    ) -> int: ...

    def finish_import(self, import_id: int, counts: dict[str, int]) -> None: ...

    def add_import_lines(self, rows: Sequence[dict[str, Any]]) -> None: ...

    def bank_import(self, import_id: int) -> Any | None: ...

    def import_lines(self, import_id: int, outcome: str | None = None) -> list[Any]: ...

    def card(self, number: str, *, lock: bool = False) -> Card | None: ...

    def cards_of(self, person_id: str) -> list[Card]: ...

    def live_card(self, person_id: str) -> Card | None:
        """The person's card that is ordered or in their hands, if any."""

    def set_card(self, number: str, expected: CardStatus, **values: Any) -> bool:
        """Change a card that is still in the expected status; False if it was not."""

    def overdue_cards(self, region: str, today: date, limit: int) -> list[Any]:
        """Ordered cards of the region's persons due before today, oldest due first."""


class Console(Protocol):
    def regions(self, region: str | None) -> list[Any]: ...

    def search_persons(
        self, text: str, region: str | None, year: int, limit: int
    ) -> list[dict[str, Any]]:
        """Persons whose name contains the text, whose ID number starts with it, whose
        registry id is it, or who hold (or held) the card numbered so; with the scheme
        of `year` and their current card."""

    def current_cards(self, person_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Each person's card to show: an active one, else one ordered, else the latest."""

    def claims_of(self, person_id: str) -> list[Any]: ...

    def submitted_batches(self, region: str | None) -> list[Any]:
        """Class lists with rows waiting for the agency's review, oldest first."""

    def queue_counts(self, region: str | None, today: Any) -> dict[str, int]:
        """How many items wait in each queue of the region."""

    def ledger_totals(self, region: str, year: int) -> list[Any]:
        """The fund ledger of a region's year, summed by scheme, layer and month (fen)."""

    def person_year_states(self, region: str, year: int, chunk: int = 1000) -> Iterator[list[Any]]:
        """The region's person-years (person id, scheme, state JSON), in chunks by person id."""

    def serious_illness(self, region: str, year: int) -> list[Any]:
        """Serious-illness payments of the region's year, by scheme: persons paid, the sum,
        and the largest payment (fen)."""

    def serious_illness_at_least(self, region: str, year: int, fen: int) -> int: ...

    def ledger_years(self, region: str) -> list[int]: ...

    def premiums_by_day(self, region: str, year: int) -> list[Any]:
        """Premiums of a region's enrolments for the year, collected (or exempted) by day:
        personal, subsidy and assistance parts (fen). Cancelled enrolments are not income."""

    def institution_names(self, ids: Sequence[str]) -> dict[str, str]: ...

    def correct_person(
        self, person_id: str, name: str, phone: str | None, assistance: bool
    ) -> None:
        """A clerk's correction of a person's name, phone and assistance status."""


class Member(Protocol):
    def minors_with_phone(self, phone: str, born_after: date) -> list[str]:
        """Persons born after the day (under 18) registered with this phone: children
        enrolled through a school or the agency carry their guardian's phone."""

    def claims_of(self, person_ids: Sequence[str]) -> list[Any]:
        """Claims of these persons, newest first."""

    def regions(self) -> list[Any]:
        """Every region the system knows (code, names), by code."""

    def institution_names(self, ids: Sequence[str]) -> dict[str, str]: ...

    def designated(
        self, region: str | None, level: int | None, kind: str | None, words: str, limit: int
    ) -> list[Any]:
        """Designated institutions, by region, name: of a region, level and kind when
        given, whose name contains the words."""

    def catalogue_matches(
        self, region: str, words: str, limit: int
    ) -> tuple[list[Entry], list[CatalogueItem]]:
        """Catalogue entries (dated) and base items of a region whose name or code
        contains the words: (entries, items), each by code (entries by date within it)."""

    def collection_accounts_of(self, person_id: str) -> list[Any]:
        """The person's premium collection accounts (the number to pay at the bank), by year."""

    def notices(
        self, objects: Sequence[tuple[str, str]], actions: Sequence[str], limit: int
    ) -> list[Any]:
        """Audit-log entries of these actions about these records, newest first."""

    def seen_id(self, account: str) -> int: ...

    def mark_seen(self, account: str, seen_id: int) -> None: ...

    def add_link(self, person_id: str, member_id: str, relation: str, at: Any) -> int: ...

    def links_of(self, person_id: str) -> list[Any]:
        """Links the person asked for, or was asked to consent to, newest first."""

    def link(self, link_id: int) -> Any | None: ...

    def set_link(self, link_id: int, status: str, at: Any) -> None: ...

    def bound_to(self, person_id: str) -> set[str]:
        """The adults who consented to this person seeing their records."""


class Schools(Protocol):
    def add_school(self, school_id: str, region: str, name: str) -> None: ...

    def region_exists(self, code: str) -> bool: ...

    def school(self, school_id: str) -> Any | None: ...

    def schools(self, region: str | None = None) -> list[Any]: ...

    def add_batch(self, values: dict[str, Any]) -> int: ...

    def batch(self, batch_id: int, *, lock: bool = False) -> Any | None: ...

    def batches_of(self, school_id: str, year: int | None = None) -> list[Any]: ...

    def update_batch(self, batch_id: int, **values: Any) -> None: ...

    def add_rows(self, batch_id: int, rows: Sequence[dict[str, Any]], progress: Any = None) -> None:
        """One multi-row INSERT per chunk (executemany): 10,000 rows in well under a second."""

    def rows(
        self, batch_id: int, *, status: str | None = None, offset: int = 0, limit: int | None = None
    ) -> list[Any]: ...

    def row(self, batch_id: int, row_no: int) -> Any | None: ...

    def row_counts(self, batch_id: int) -> dict[str, int]: ...

    def update_row(self, batch_id: int, row_no: int, **values: Any) -> None: ...

    def set_status(self, batch_id: int, row_nos: Sequence[int], status: str) -> None: ...

    def rows_with_phones(self, phones: Iterable[str]) -> list[Any]:
        """The rows a guardian with these phone numbers may declare, with their school."""

    def enrolled(self, id_numbers: Sequence[str], year: int) -> set[str]:
        """Which of these ID numbers are enrolled for the year already (any channel)."""

    def persons(self, id_numbers: Sequence[str]) -> dict[str, Any]:
        """The registered persons among these ID numbers (id, name, region)."""

    def on_open_lists(
        self, id_numbers: Sequence[str], year: int, *, besides: tuple[int, int] | None = None
    ) -> dict[str, Any]:
        """Those of these ID numbers on a list of the year still on its way to the agency
        (batch_id, row_no, school_id of one such row each), the row `besides` left out."""

    def adults_with_phones(self, phones: set[str], born_on_or_before: date) -> dict[str, list[str]]:
        """phone -> registered adults with it, for a batch of rows at once."""

    def set_assistance(self, changes: Sequence[tuple[str, bool]]) -> None:
        """Persons' assistance flags as a class list declares them this year."""

    def accept_rows(self, batch_id: int, accepted: Sequence[tuple[int, str]]) -> None: ...

    def person_phone(self, person_id: str) -> str | None: ...
