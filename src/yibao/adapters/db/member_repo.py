"""Reads and writes of the member app: accounts tied to persons, receipts, vouchers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from yibao.adapters.db import tables as t
from yibao.adapters.db.catalogue_repo import entry_of
from yibao.adapters.db.tables_collection import collection_accounts
from yibao.adapters.db.tables_member import family_links, notice_marks
from yibao.domain.catalogue import Entry
from yibao.domain.model import LineClass
from yibao.domain.money import from_fen
from yibao.domain.registry import CatalogueItem


class Member:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def minors_with_phone(self, phone: str, born_after: date) -> list[str]:
        """Persons born after the day (under 18) registered with this phone: children
        enrolled through a school or the agency carry their guardian's phone."""
        c = t.persons.c
        rows = self.conn.execute(
            select(c.id).where(c.phone == phone, c.birth_date > born_after).order_by(c.id)
        )
        return [r.id for r in rows]

    def claims_of(self, person_ids: Sequence[str]) -> list[Any]:
        """Claims of these persons, newest first."""
        if not person_ids:
            return []
        c = t.claims.c
        rows = self.conn.execute(
            select(t.claims)
            .where(c.person_id.in_(sorted(set(person_ids))))
            .order_by(c.submitted_at.desc(), c.id.desc())
        )
        return list(rows)

    def regions(self) -> list[Any]:
        """Every region the system knows (code, names), by code."""
        return list(self.conn.execute(select(t.regions).order_by(t.regions.c.code)))

    def institution_names(self, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        c = t.institutions.c
        rows = self.conn.execute(select(c.id, c.name).where(c.id.in_(sorted(set(ids)))))
        return {r.id: r.name for r in rows}

    def designated(
        self, region: str | None, level: int | None, kind: str | None, words: str, limit: int
    ) -> list[Any]:
        """Designated institutions, by region, name: of a region, level and kind when
        given, whose name contains the words."""
        c = t.institutions.c
        query = select(t.institutions).where(c.designated.is_(True))
        if region:
            query = query.where(c.region == region)
        if level is not None:
            query = query.where(c.level == level)
        if kind:
            query = query.where(c.kind == kind)
        if words:
            query = query.where(c.name.contains(words, autoescape=True))
        return list(self.conn.execute(query.order_by(c.region, c.name, c.id).limit(limit)))

    def catalogue_matches(
        self, region: str, words: str, limit: int
    ) -> tuple[list[Entry], list[CatalogueItem]]:
        """Catalogue entries (dated) and base items of a region whose name or code
        contains the words: (entries, items), each by code (entries by date within it)."""
        e = t.catalogue_entries.c
        i = t.catalogue_items.c
        entries = self.conn.execute(
            select(t.catalogue_entries)
            .where(
                e.region == region,
                e.name.contains(words, autoescape=True) | e.code.contains(words, autoescape=True),
            )
            .order_by(e.code, e.valid_from)
            .limit(limit * 4)
        )
        items = self.conn.execute(
            select(t.catalogue_items)
            .where(
                i.region == region,
                i.name.contains(words, autoescape=True) | i.code.contains(words, autoescape=True),
            )
            .order_by(i.code)
            .limit(limit)
        )
        return [entry_of(row) for row in entries], [
            CatalogueItem(
                r.code,
                r.name,
                LineClass(r.cls),
                None if r.unit_price_fen is None else from_fen(r.unit_price_fen),
            )
            for r in items
        ]

    def collection_accounts_of(self, person_id: str) -> list[Any]:
        """The person's premium collection accounts (the number to pay at the bank), by year."""
        c = collection_accounts.c
        return list(
            self.conn.execute(
                select(c.number, c.year, c.amount_fen, c.status, c.paid_on)
                .where(c.person_id == person_id)
                .order_by(c.year, c.number)
            )
        )

    def notices(
        self, objects: Sequence[tuple[str, str]], actions: Sequence[str], limit: int
    ) -> list[Any]:
        """Audit-log entries of these actions about these records, newest first."""
        if not objects:
            return []
        a = t.audit_log.c
        about = or_(*(and_(a.object_type == kind, a.object_id == oid) for kind, oid in objects))
        return list(
            self.conn.execute(
                select(t.audit_log)
                .where(about, a.action.in_(list(actions)))
                .order_by(a.id.desc())
                .limit(limit)
            )
        )

    def seen_id(self, account: str) -> int:
        c = notice_marks.c
        found = self.conn.execute(select(c.seen_id).where(c.account == account)).scalar()
        return int(found or 0)

    def mark_seen(self, account: str, seen_id: int) -> None:
        c = notice_marks.c
        done = self.conn.execute(
            notice_marks.update().where(c.account == account).values(seen_id=seen_id)
        )
        if done.rowcount == 0:
            self.conn.execute(notice_marks.insert().values(account=account, seen_id=seen_id))

    def add_link(self, person_id: str, member_id: str, relation: str, at: Any) -> int:
        c = family_links.c
        made = self.conn.execute(
            family_links.insert()
            .values(
                person_id=person_id,
                member_id=member_id,
                relation=relation,
                status="pending",
                requested_at=at,
            )
            .returning(c.id)
        )
        return int(made.scalar_one())

    def links_of(self, person_id: str) -> list[Any]:
        """Links the person asked for, or was asked to consent to, newest first."""
        c = family_links.c
        return list(
            self.conn.execute(
                select(family_links)
                .where(or_(c.person_id == person_id, c.member_id == person_id))
                .order_by(c.id.desc())
            )
        )

    def link(self, link_id: int) -> Any | None:
        return self.conn.execute(
            select(family_links).where(family_links.c.id == link_id)
        ).one_or_none()

    def set_link(self, link_id: int, status: str, at: Any) -> None:
        self.conn.execute(
            family_links.update()
            .where(family_links.c.id == link_id)
            .values(status=status, decided_at=at)
        )

    def bound_to(self, person_id: str) -> set[str]:
        """The adults who consented to this person seeing their records."""
        c = family_links.c
        rows = self.conn.execute(
            select(c.member_id).where(c.person_id == person_id, c.status == "accepted")
        )
        return {r.member_id for r in rows}
