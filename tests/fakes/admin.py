"""The catalogue, the pilot hospitals' list and the audit log in memory (ports.admin),
as far as settlement and the registry use them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from types import SimpleNamespace
from typing import Any

from fakes.tables import Tables, insert
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
        self.t.mappings.append(
            SimpleNamespace(
                id=mid,
                institution_id=institution_id,
                own_code=own_code,
                own_name=own_name,
                national_code=national_code,
                valid_from=valid_from,
                valid_to=valid_to,
                status="active",
            )
        )
        return mid


class FakeCertificates:
    """The pilot hospitals' list of each region and year (the rest is not faked)."""

    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def pilot_hospital(self, region: str, year: int, institution_id: str) -> Any | None:
        return self.t.pilot_hospitals.get((region, year, institution_id))

    def is_pilot_hospital(self, institution_id: str, region: str, year: int) -> bool:
        return (region, year, institution_id) in self.t.pilot_hospitals

    def add_pilot_hospital(self, region: str, year: int, institution_id: str, by: str) -> None:
        row = SimpleNamespace(
            region=region, year=year, institution_id=institution_id, added_by=by, added_at=now()
        )
        insert(self.t.pilot_hospitals, (region, year, institution_id), row, "pilot hospital")

    def remove_pilot_hospital(self, region: str, year: int, institution_id: str) -> None:
        self.t.pilot_hospitals.pop((region, year, institution_id), None)

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(f"certificates.{name} is not faked (tests/fakes)")


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
        if region is not None:
            raise NotImplementedError("the audit log by region is not faked")
        self.flush()
        rows = [
            r
            for r in reversed(self.t.audit_log)
            if (not object_type or r.object_type == object_type)
            and (not object_id or r.object_id == object_id)
            and (not actor or r.actor == actor)
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


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
