"""Reads and writes of the member app: accounts tied to persons, receipts, vouchers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from yibao.adapters.db import tables as t


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

    def catalogue_matches(self, region: str, words: str, limit: int) -> tuple[list[Any], list[Any]]:
        """Catalogue entries (dated) and base items of a region whose name or code
        contains the words: (entries, items), each by code."""
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
        return list(entries), list(items)
