"""The member app's reads and writes in memory (ports.admin.Member): the family's claims,
its notices in the audit log and how far each account has read them, the adults bound to
a family with their consent, and the lists a member searches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from types import SimpleNamespace
from typing import Any

from fakes.tables import Tables, changed, insert, new_row
from yibao.adapters.db.tables import institutions
from yibao.adapters.db.tables_member import family_links
from yibao.domain.catalogue import Entry
from yibao.domain.registry import CatalogueItem, Institution


def institution_row(inst: Institution) -> SimpleNamespace:
    """An institution as the institutions table gives it back (kind as its text)."""
    values = {c.name: getattr(inst, c.name) for c in institutions.columns}
    return new_row(institutions, {**values, "kind": str(inst.kind)})


class FakeMember:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def minors_with_phone(self, phone: str, born_after: date) -> list[str]:
        return sorted(
            p.id for p in self.t.persons.values() if p.phone == phone and p.birth_date > born_after
        )

    def claims_of(self, person_ids: Sequence[str]) -> list[Any]:
        wanted = set(person_ids)
        rows = [c for c in self.t.claims.values() if c.person_id in wanted]
        return sorted(rows, key=lambda r: (r.submitted_at, r.id), reverse=True)

    def regions(self) -> list[Any]:
        return [self.t.regions[code] for code in sorted(self.t.regions)]

    def institution_names(self, ids: Sequence[str]) -> dict[str, str]:
        found = (self.t.institutions.get(i) for i in set(ids))
        return {inst.id: inst.name for inst in found if inst is not None}

    def designated(
        self, region: str | None, level: int | None, kind: str | None, words: str, limit: int
    ) -> list[Any]:
        rows = [
            institution_row(i)
            for i in self.t.institutions.values()
            if i.designated
            and (not region or i.region == region)
            and (level is None or i.level == level)
            and (not kind or i.kind == kind)
            and words in i.name
        ]
        return sorted(rows, key=lambda r: (r.region, r.name, r.id))[:limit]

    def catalogue_matches(
        self, region: str, words: str, limit: int
    ) -> tuple[list[Entry], list[CatalogueItem]]:
        entries = sorted(
            (
                e
                for (r, _), es in self.t.catalogue_entries.items()
                if r == region
                for e in es
                if words in e.name or words in e.code
            ),
            key=lambda e: (e.code, e.valid_from),
        )[: limit * 4]
        items = sorted(
            (
                item
                for (r, _), item in self.t.catalogue_items.items()
                if r == region and (words in item.name or words in item.code)
            ),
            key=lambda item: item.code,
        )[:limit]
        return entries, items

    def collection_accounts_of(self, person_id: str) -> list[Any]:
        rows = [a for a in self.t.collection_accounts.values() if a.person_id == person_id]
        return [
            SimpleNamespace(
                number=a.number,
                year=a.year,
                amount_fen=a.amount_fen,
                status=a.status,
                paid_on=a.paid_on,
            )
            for a in sorted(rows, key=lambda a: (a.year, a.number))
        ]

    def notices(
        self, objects: Sequence[tuple[str, str]], actions: Sequence[str], limit: int
    ) -> list[Any]:
        about = set(objects)
        rows = [
            r
            for r in reversed(self.t.audit_log)
            if (r.object_type, r.object_id) in about and r.action in actions
        ]
        return rows[:limit]

    def seen_id(self, account: str) -> int:
        return self.t.notice_marks.get(account, 0)

    def mark_seen(self, account: str, seen_id: int) -> None:
        self.t.notice_marks[account] = seen_id

    def add_link(self, person_id: str, member_id: str, relation: str, at: Any) -> int:
        lid = self.t.next_id("family_links")
        values = {
            "id": lid,
            "person_id": person_id,
            "member_id": member_id,
            "relation": relation,
            "status": "pending",
            "requested_at": at,
        }
        insert(self.t.family_links, lid, new_row(family_links, values), "family link")
        return lid

    def links_of(self, person_id: str) -> list[Any]:
        return [
            self.t.family_links[i]
            for i in sorted(self.t.family_links, reverse=True)
            if person_id in (self.t.family_links[i].person_id, self.t.family_links[i].member_id)
        ]

    def link(self, link_id: int) -> Any | None:
        return self.t.family_links.get(link_id)

    def set_link(self, link_id: int, status: str, at: Any) -> None:
        if link_id in self.t.family_links:
            row = self.t.family_links[link_id]
            self.t.family_links[link_id] = changed(row, status=status, decided_at=at)

    def bound_to(self, person_id: str) -> set[str]:
        return {
            r.member_id
            for r in self.t.family_links.values()
            if r.person_id == person_id and r.status == "accepted"
        }
