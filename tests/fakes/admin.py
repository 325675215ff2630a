"""The catalogue and the audit log in memory (ports.admin)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from types import SimpleNamespace
from typing import Any

from fakes.tables import Tables, changed, new_row
from yibao.adapters.db.tables import catalogue_mappings
from yibao.domain.access import Principal
from yibao.domain.catalogue import Entry
from yibao.domain.model import LEVELS
from yibao.domain.registry import CatalogueItem
from yibao.service.ports import now


class FakeCatalogue:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def has_region(self, region: str) -> bool:
        return region in self.t.regions

    def entries(self, region: str, codes: Iterable[str]) -> dict[str, list[Entry]]:
        return {
            code: sorted(self.t.catalogue_entries.get((region, code), []), key=_start)
            for code in sorted(set(codes))
        }

    def in_force(
        self,
        region: str,
        codes: Iterable[str],
        day: date,
        known: Mapping[str, CatalogueItem] | None = None,
    ) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        for code, entries in self.entries(region, codes).items():
            current = [e for e in entries if e.valid_from <= day]
            if current and current[-1].covers(day):
                found[code] = current[-1]
            elif not entries:
                item = (known or {}).get(code) or self.t.catalogue_items.get((region, code))
                if item is not None:
                    found[code] = _base_entry(item)
        return found

    def mapped(self, institution_id: str, codes: Iterable[str], day: date) -> dict[str, str]:
        wanted = set(codes)
        active = [
            m
            for m in self.t.mappings
            if m.institution_id == institution_id
            and m.own_code in wanted
            and m.status == "active"
            and m.valid_from <= day
            and (m.valid_to is None or day <= m.valid_to)
        ]
        return {m.own_code: m.national_code for m in sorted(active, key=lambda m: m.valid_from)}

    def mappings(self, institution_id: str) -> list[Any]:
        found = [m for m in self.t.mappings if m.institution_id == institution_id]
        return sorted(found, key=lambda m: (m.own_code, m.valid_from, m.id))

    def cancel_mapping(self, institution_id: str, own_code: str) -> int:
        cancelled = 0
        for i, m in enumerate(self.t.mappings):
            if (m.institution_id, m.own_code, m.status) == (institution_id, own_code, "active"):
                self.t.mappings[i] = changed(m, status="cancelled", cancelled_at=now())
                cancelled += 1
        return cancelled

    def region_entries(self, region: str, on: date | None = None) -> list[Entry]:
        entries = sorted(
            (e for (r, _), es in self.t.catalogue_entries.items() if r == region for e in es),
            key=lambda e: (e.code, e.valid_from),
        )
        if on is None:
            return entries
        latest = {e.code: e for e in entries if e.valid_from <= on}
        return [e for e in latest.values() if e.covers(on)]

    def add_entries(self, region: str, entries: Sequence[Entry]) -> None:
        for e in entries:
            self.t.catalogue_entries.setdefault((region, e.code), []).append(e)

    def add_mapping(
        self,
        institution_id: str,
        own_code: str,
        own_name: str | None,
        national_code: str,
        valid_from: date,
        valid_to: date | None,
    ) -> int:
        mid = self.t.next_id("catalogue_mappings")
        values = {
            "id": mid,
            "institution_id": institution_id,
            "own_code": own_code,
            "own_name": own_name,
            "national_code": national_code,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "status": "active",
            "created_at": now(),
        }
        self.t.mappings.append(new_row(catalogue_mappings, values))
        return mid


def _start(e: Entry) -> date:
    return e.valid_from


def _base_entry(item: CatalogueItem) -> Entry:
    caps = {} if item.unit_price is None else dict.fromkeys(LEVELS, item.unit_price)
    return Entry(item.code, item.name, item.cls, date.min, caps=caps, source="catalogue_items")


class FakeAudit:
    """Entries wait for the commit, as the database's do."""

    def __init__(self, tables: Tables) -> None:
        self.t = tables
        self._pending: list[dict[str, Any]] = []

    def record(
        self,
        who: Principal,
        action: str,
        object_type: str,
        object_id: str,
        before: Any = None,
        after: Any = None,
    ) -> None:
        self._pending.append(
            {
                "at": now(),
                "actor": who.account,
                "role": who.role.value,
                "action": action,
                "object_type": object_type,
                "object_id": str(object_id),
                "before": _json(before),
                "after": _json(after),
            }
        )

    def discard(self) -> None:
        self._pending = []

    def _of_region(self, account_id: str, region: str) -> bool:
        return _of_region(self.t, account_id, region)

    def flush(self) -> None:
        for values in self._pending:
            self.t.audit_log.append(SimpleNamespace(id=self.t.next_id("audit_log"), **values))
        self._pending = []

    def entries(
        self,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        actor: str | None = None,
        region: str | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        self.flush()
        rows = [
            r
            for r in reversed(self.t.audit_log)
            if (not object_type or r.object_type == object_type)
            and (not object_id or r.object_id == object_id)
            and (not actor or r.actor == actor)
            and (region is None or self._of_region(r.actor, region))
        ][:limit]
        return [
            {
                **{k: getattr(r, k) for k in ("id", "actor", "role", "action")},
                "at": r.at.isoformat(),
                "object_type": r.object_type,
                "object_id": r.object_id,
                "before": None if r.before is None else json.loads(r.before),
                "after": None if r.after is None else json.loads(r.after),
            }
            for r in rows
        ]


def _of_region(tables: Tables, account_id: str, region: str) -> bool:
    """Whether the account is of the region: its staff, or a school, institution or
    person of the region (adapters/db/access.py)."""
    a = tables.accounts.get(account_id)
    if a is None:
        return False
    school = tables.schools.get(a.school_id or "")
    person = tables.persons.get(a.person_id or "")
    place = tables.institutions.get(a.institution_id or "")
    return region in (
        a.region,
        school and school.region,
        person and person.region,
        place and place.region,
    )


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
