"""Collection accounts, bank result files, and card orders."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from yibao.adapters.db import tables as t
from yibao.adapters.db.tables_collection import (
    bank_import_lines,
    bank_imports,
    collection_accounts,
)
from yibao.domain.registry import Card, CardStatus
from yibao.service.ports import now

_CHUNK = 500  # numbers per IN (...) list


def _card(row: Any) -> Card:
    return Card(
        number=row.number,
        person_id=row.person_id,
        status=CardStatus(row.status),
        issued_on=row.issued_on,
        replaced_by=row.replaced_by,
        ordered_on=row.ordered_on,
        due_on=row.due_on,
        lost_on=row.lost_on,
        replaces=row.replaces,
    )


class Collection:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- accounts -------------------------------------------------------------------

    def pending_without_account(self, region: str, year: int) -> list[Any]:
        """Pending enrolments of the region's persons for the year that have no account:
        person_id, personal_fen, oldest first (the order their numbers are given in)."""
        e, p, a = t.enrolments.c, t.persons.c, collection_accounts.c
        query = (
            select(e.person_id, e.personal_fen, e.scheme)
            .select_from(
                t.enrolments.join(t.persons, p.id == e.person_id).outerjoin(
                    collection_accounts, and_(a.person_id == e.person_id, a.year == e.year)
                )
            )
            .where(p.region == region, e.year == year, e.status == "pending", a.number.is_(None))
            .order_by(e.id)
        )
        return list(self.conn.execute(query))

    def last_number(self, prefix: str, length: int, table: str) -> str | None:
        """The highest number with this prefix and length: accounts or cards."""
        column = collection_accounts.c.number if table == "accounts" else t.cards.c.number
        query = select(func.max(column)).where(
            column.like(prefix + "%"), func.length(column) == length
        )
        found: str | None = self.conn.execute(query).scalar()
        return found

    def add_accounts(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(insert(collection_accounts), list(rows))

    def accounts(self, numbers: Iterable[str]) -> dict[str, Any]:
        wanted = sorted(set(numbers))
        found: dict[str, Any] = {}
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            rows = self.conn.execute(
                select(collection_accounts).where(collection_accounts.c.number.in_(chunk))
            )
            found.update({r.number: r for r in rows})
        return found

    def mark_paid(self, number: str, paid_on: date, import_id: int) -> bool:
        """Open → paid; False when it was no longer open (another import got there first)."""
        c = collection_accounts.c
        result = self.conn.execute(
            update(collection_accounts)
            .where(c.number == number, c.status == "open")
            .values(status="paid", paid_on=paid_on, bank_import_id=import_id)
        )
        return bool(result.rowcount == 1)

    def mark_paid_many(self, payments: Sequence[tuple[str, date]], import_id: int) -> set[str]:
        """Open -> paid for each (account, day); the accounts this changed (one another
        import paid first is left out). One UPDATE per bank date and chunk."""
        c = collection_accounts.c
        by_day: dict[date, list[str]] = {}
        for number, day in payments:
            by_day.setdefault(day, []).append(number)
        changed: set[str] = set()
        for day, numbers in by_day.items():
            for i in range(0, len(numbers), _CHUNK):
                rows = self.conn.execute(
                    update(collection_accounts)
                    .where(c.number.in_(numbers[i : i + _CHUNK]), c.status == "open")
                    .values(status="paid", paid_on=day, bank_import_id=import_id)
                    .returning(c.number)
                )
                changed.update(r.number for r in rows)
        return changed

    def enrolment_statuses(self, pairs: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """(person, year) -> the enrolment's status, for the persons of a bank file."""
        c = t.enrolments.c
        by_year: dict[int, list[str]] = {}
        for person, year in pairs:
            by_year.setdefault(year, []).append(person)
        found: dict[tuple[str, int], str] = {}
        for year, persons in by_year.items():
            for i in range(0, len(persons), _CHUNK):
                rows = self.conn.execute(
                    select(c.person_id, c.status).where(
                        c.year == year, c.person_id.in_(persons[i : i + _CHUNK])
                    )
                )
                found.update(((r.person_id, year), r.status) for r in rows)
        return found

    def activate_enrolments(
        self, activations: Sequence[tuple[str, int, date]]
    ) -> set[tuple[str, int]]:
        """Pending -> active from each payment day; the (person, year) this changed."""
        c = t.enrolments.c
        groups: dict[tuple[int, date], list[str]] = {}
        for person, year, day in activations:
            groups.setdefault((year, day), []).append(person)
        changed: set[tuple[str, int]] = set()
        for (year, day), persons in groups.items():
            for i in range(0, len(persons), _CHUNK):
                rows = self.conn.execute(
                    update(t.enrolments)
                    .where(
                        c.year == year,
                        c.status == "pending",
                        c.person_id.in_(persons[i : i + _CHUNK]),
                    )
                    .values(status="active", paid_on=day)
                    .returning(c.person_id)
                )
                changed.update((r.person_id, year) for r in rows)
        return changed

    def live_card_holders(self, persons: set[str]) -> set[str]:
        """Which of these persons have a card ordered or in their hands."""
        c = t.cards.c
        wanted = sorted(persons)
        found: set[str] = set()
        for i in range(0, len(wanted), _CHUNK):
            rows = self.conn.execute(
                select(c.person_id).where(
                    c.person_id.in_(wanted[i : i + _CHUNK]), c.status.in_(("ordered", "active"))
                )
            )
            found.update(r.person_id for r in rows)
        return found

    def open_accounts(self, region: str, year: int) -> list[Any]:
        """Open accounts with the holder's name, for the bank."""
        a, p = collection_accounts.c, t.persons.c
        query = (
            select(a.number, a.amount_fen, a.person_id, p.name)
            .select_from(collection_accounts.join(t.persons, p.id == a.person_id))
            .where(a.region == region, a.year == year, a.status == "open")
            .order_by(a.number)
        )
        return list(self.conn.execute(query))

    def account_counts(self, region: str, year: int) -> dict[str, int]:
        c = collection_accounts.c
        rows = self.conn.execute(
            select(c.status, func.count())
            .where(c.region == region, c.year == year)
            .group_by(c.status)
        )
        return {r[0]: int(r[1]) for r in rows}

    # --- enrolments -----------------------------------------------------------------

    def activate_enrolment(self, person_id: str, year: int, paid_on: date) -> bool:
        """Pending → active from the payment; False if it was not pending."""
        c = t.enrolments.c
        result = self.conn.execute(
            update(t.enrolments)
            .where(c.person_id == person_id, c.year == year, c.status == "pending")
            .values(status="active", paid_on=paid_on)
        )
        return bool(result.rowcount == 1)

    # --- bank files -----------------------------------------------------------------

    def import_by_sha256(self, sha256: str) -> Any | None:
        return self.conn.execute(
            select(bank_imports).where(bank_imports.c.sha256 == sha256)
        ).first()

    def add_import(
        self, file_name: str, sha256: str, region: str | None, imported_by: str, line_count: int
    ) -> int:
        result = self.conn.execute(
            insert(bank_imports)
            .values(
                file_name=file_name,
                sha256=sha256,
                region=region,
                imported_by=imported_by,
                imported_at=now(),
                line_count=line_count,
                counts="{}",
            )
            .returning(bank_imports.c.id)
        )
        return int(result.scalar_one())

    def finish_import(self, import_id: int, counts: dict[str, int]) -> None:
        self.conn.execute(
            update(bank_imports)
            .where(bank_imports.c.id == import_id)
            .values(counts=json.dumps(counts, sort_keys=True))
        )

    def add_import_lines(self, rows: Sequence[dict[str, Any]]) -> None:
        for i in range(0, len(rows), _CHUNK):
            self.conn.execute(insert(bank_import_lines), list(rows[i : i + _CHUNK]))

    def bank_import(self, import_id: int) -> Any | None:
        return self.conn.execute(select(bank_imports).where(bank_imports.c.id == import_id)).first()

    def import_lines(self, import_id: int, outcome: str | None = None) -> list[Any]:
        c = bank_import_lines.c
        query = select(bank_import_lines).where(c.import_id == import_id).order_by(c.line_no)
        if outcome:
            query = query.where(c.outcome == outcome)
        return list(self.conn.execute(query))

    # --- cards ----------------------------------------------------------------------

    def card(self, number: str, *, lock: bool = False) -> Card | None:
        query = select(t.cards).where(t.cards.c.number == number)
        if lock:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return None if row is None else _card(row)

    def cards_of(self, person_id: str) -> list[Card]:
        rows = self.conn.execute(select(t.cards).where(t.cards.c.person_id == person_id))
        return [_card(r) for r in rows]

    def live_card(self, person_id: str) -> Card | None:
        """The person's card that is ordered or in their hands, if any."""
        c = t.cards.c
        row = self.conn.execute(
            select(t.cards)
            .where(c.person_id == person_id, c.status.in_(("ordered", "active")))
            .order_by(c.ordered_on.desc())
            .limit(1)
        ).first()
        return None if row is None else _card(row)

    def set_card(self, number: str, expected: CardStatus, **values: Any) -> bool:
        """Change a card that is still in the expected status; False if it was not."""
        c = t.cards.c
        if "status" in values and isinstance(values["status"], CardStatus):
            values["status"] = values["status"].value
        result = self.conn.execute(
            update(t.cards).where(c.number == number, c.status == expected.value).values(**values)
        )
        return bool(result.rowcount == 1)

    def overdue_cards(self, region: str, today: date, limit: int) -> list[Any]:
        """Ordered cards of the region's persons due before today, oldest due first."""
        c, p = t.cards.c, t.persons.c
        query = (
            select(c.number, c.person_id, c.ordered_on, c.due_on, c.replaces, p.name)
            .select_from(t.cards.join(t.persons, p.id == c.person_id))
            .where(p.region == region, c.status == "ordered", c.due_on < today)
            .order_by(c.due_on, c.number)
            .limit(limit)
        )
        return list(self.conn.execute(query))
