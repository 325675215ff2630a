"""Premium collection in memory (ports.admin.Collection): collection accounts, bank
result files and their lines, the enrolments a payment activates, and card orders."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date
from types import SimpleNamespace
from typing import Any

from fakes.tables import Tables, changed, insert, new_row
from yibao.adapters.db.tables_collection import (
    bank_import_lines,
    bank_imports,
    collection_accounts,
)
from yibao.domain.money import to_fen
from yibao.domain.registry import Card, CardStatus
from yibao.service.ports import now
from yibao.service.ports.records import DuplicateError

LIVE = (CardStatus.ORDERED, CardStatus.ACTIVE)


class FakeCollection:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    # --- accounts -------------------------------------------------------------------

    def pending_without_account(self, region: str, year: int) -> list[Any]:
        opened = {(a.person_id, a.year) for a in self.t.collection_accounts.values()}
        return [
            SimpleNamespace(
                person_id=e.person_id, personal_fen=to_fen(e.personal), scheme=str(e.scheme)
            )
            for (pid, y), e in self.t.enrolments.items()  # in the order they were made
            if y == year
            and e.status == "pending"
            and self.t.persons[pid].region == region
            and (pid, y) not in opened
        ]

    def last_number(self, prefix: str, length: int, table: str) -> str | None:
        numbers = self.t.collection_accounts if table == "accounts" else self.t.cards
        found = [n for n in numbers if n.startswith(prefix) and len(n) == length]
        return max(found, default=None)

    def add_accounts(self, rows: Sequence[dict[str, Any]]) -> None:
        for values in rows:
            row = new_row(collection_accounts, values)
            if self._account_of(row.person_id, row.year) is not None:
                raise DuplicateError(f"{row.person_id} has an account for {row.year}")
            insert(self.t.collection_accounts, row.number, row, "collection account")

    def _account_of(self, person_id: str, year: int) -> Any | None:
        found = self.t.collection_accounts.values()
        return next((a for a in found if (a.person_id, a.year) == (person_id, year)), None)

    def accounts(self, numbers: Iterable[str]) -> dict[str, Any]:
        found = (self.t.collection_accounts.get(n) for n in sorted(set(numbers)))
        return {a.number: a for a in found if a is not None}

    def mark_paid(self, number: str, paid_on: date, import_id: int) -> bool:
        row = self.t.collection_accounts.get(number)
        if row is None or row.status != "open":
            return False
        self.t.collection_accounts[number] = changed(
            row, status="paid", paid_on=paid_on, bank_import_id=import_id
        )
        return True

    def mark_paid_many(self, payments: Sequence[tuple[str, date]], import_id: int) -> set[str]:
        by_day: dict[date, list[str]] = {}
        for number, day in payments:
            by_day.setdefault(day, []).append(number)
        return {
            n
            for day, numbers in by_day.items()
            for n in numbers
            if self.mark_paid(n, day, import_id)
        }

    def enrolment_statuses(self, pairs: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
        return {k: self.t.enrolments[k].status for k in pairs if k in self.t.enrolments}

    def activate_enrolments(
        self, activations: Sequence[tuple[str, int, date]]
    ) -> set[tuple[str, int]]:
        return {
            (pid, year) for pid, year, day in activations if self.activate_enrolment(pid, year, day)
        }

    def live_card_holders(self, persons: set[str]) -> set[str]:
        return {
            c.person_id
            for c in self.t.cards.values()
            if c.person_id in persons and c.status in LIVE
        }

    def open_accounts(self, region: str, year: int) -> list[Any]:
        return [
            SimpleNamespace(
                number=a.number,
                amount_fen=a.amount_fen,
                person_id=a.person_id,
                name=self.t.persons[a.person_id].name,
            )
            for n, a in sorted(self.t.collection_accounts.items())
            if (a.region, a.year, a.status) == (region, year, "open")
        ]

    def account_counts(self, region: str, year: int) -> dict[str, int]:
        rows = self.t.collection_accounts.values()
        return dict(Counter(a.status for a in rows if (a.region, a.year) == (region, year)))

    # --- enrolments -----------------------------------------------------------------

    def activate_enrolment(self, person_id: str, year: int, paid_on: date) -> bool:
        e = self.t.enrolments.get((person_id, year))
        if e is None or e.status != "pending":
            return False
        self.t.enrolments[(person_id, year)] = replace(e, status="active", paid_on=paid_on)
        return True

    # --- bank files -----------------------------------------------------------------

    def import_by_sha256(self, sha256: str) -> Any | None:
        return next((i for i in self.t.bank_imports.values() if i.sha256 == sha256), None)

    def add_import(
        self, file_name: str, sha256: str, region: str | None, imported_by: str, line_count: int
    ) -> int:
        if self.import_by_sha256(sha256) is not None:
            raise DuplicateError(f"the file {sha256} is imported already")
        iid = self.t.next_id("bank_imports")
        values = {
            "id": iid,
            "file_name": file_name,
            "sha256": sha256,
            "region": region,
            "imported_by": imported_by,
            "imported_at": now(),
            "line_count": line_count,
            "counts": "{}",
        }
        self.t.bank_imports[iid] = new_row(bank_imports, values)
        return iid

    def finish_import(self, import_id: int, counts: dict[str, int]) -> None:
        row = self.t.bank_imports[import_id]
        self.t.bank_imports[import_id] = changed(row, counts=json.dumps(counts, sort_keys=True))

    def add_import_lines(self, rows: Sequence[dict[str, Any]]) -> None:
        for values in rows:
            row = new_row(bank_import_lines, values)
            insert(self.t.bank_lines, (row.import_id, row.line_no), row, "bank file line")

    def bank_import(self, import_id: int) -> Any | None:
        return self.t.bank_imports.get(import_id)

    def import_lines(self, import_id: int, outcome: str | None = None) -> list[Any]:
        return [
            row
            for (iid, _), row in sorted(self.t.bank_lines.items())
            if iid == import_id and (not outcome or row.outcome == outcome)
        ]

    # --- cards ----------------------------------------------------------------------

    def card(self, number: str, *, lock: bool = False) -> Card | None:
        return self.t.cards.get(number)

    def cards_of(self, person_id: str) -> list[Card]:
        return [c for c in self.t.cards.values() if c.person_id == person_id]

    def live_card(self, person_id: str) -> Card | None:
        live = [c for c in self.cards_of(person_id) if c.status in LIVE]
        # PostgreSQL and SQLite order a card without an order date differently: the
        # contract leaves that case out; here it comes last.
        return max(live, key=lambda c: (c.ordered_on is not None, c.ordered_on), default=None)

    def set_card(self, number: str, expected: CardStatus, **values: Any) -> bool:
        card = self.t.cards.get(number)
        if card is None or card.status is not expected:
            return False
        if "status" in values:
            values["status"] = CardStatus(values["status"])
        self.t.cards[number] = replace(card, **values)
        return True

    def overdue_cards(self, region: str, today: date, limit: int) -> list[Any]:
        due = sorted(
            (
                c
                for c in self.t.cards.values()
                if c.status is CardStatus.ORDERED
                and c.due_on is not None
                and c.due_on < today
                and self.t.persons[c.person_id].region == region
            ),
            key=lambda c: (c.due_on, c.number),
        )
        return [
            SimpleNamespace(
                number=c.number,
                person_id=c.person_id,
                ordered_on=c.ordered_on,
                due_on=c.due_on,
                replaces=c.replaces,
                name=self.t.persons[c.person_id].name,
            )
            for c in due[:limit]
        ]
