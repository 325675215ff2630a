"""What a family looks up before a visit: the designated institutions of a region (by
level and kind, by name) and the catalogue (an item's class, price cap by level, first
self-pay ratio and payment restriction on a day). Read-only; members and staff."""

from __future__ import annotations

from datetime import date
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.catalogue import Entry
from yibao.domain.money import fmt
from yibao.domain.registry import CatalogueItem
from yibao.service.access import require
from yibao.service.errors import ServiceError
from yibao.service.ports import Clock, UowFactory

READERS = (Role.INSURED, Role.GUARDIAN, Role.CLERK, Role.APPROVER)
KINDS = ("hospital", "clinic", "pharmacy")
MAX_FOUND = 50


class Lookup:
    def __init__(self, uow: UowFactory, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    def institutions(
        self,
        who: Principal,
        region: str | None = None,
        level: int | None = None,
        kind: str | None = None,
        words: str = "",
    ) -> list[dict[str, Any]]:
        """Designated institutions (at most 50), by region and name."""
        require(who, *READERS)
        if level is not None and level not in (0, 1, 2, 3):
            raise ServiceError("invalid_field", "level: 0 to 3", field="level")
        if kind and kind not in KINDS:
            raise ServiceError("invalid_field", "kind: hospital, clinic or pharmacy", field="kind")
        with self.uow() as uow:
            rows = uow.member.designated(region, level, kind, words.strip()[:50], MAX_FOUND)
        return [
            {
                "id": r.id,
                "name": r.name,
                "region": r.region,
                "level": int(r.level),
                "kind": r.kind,
                "pilot": bool(r.pilot),
            }
            for r in rows
        ]

    def catalogue(
        self, who: Principal, region: str, words: str, day: date | None = None
    ) -> list[dict[str, Any]]:
        """Catalogue items of the region whose name or code contains the words (at least
        two characters), as in force on the day: the dated entry, or else the base item."""
        require(who, *READERS)
        words = words.strip()[:50]
        if len(words) < 2:
            raise ServiceError("too_short", "words: at least 2 characters", field="q")
        on = day or self.clock()
        with self.uow() as uow:
            entries, items = uow.member.catalogue_matches(region, words, MAX_FOUND)
        latest: dict[str, Entry] = {}
        for entry in entries:
            if entry.valid_from <= on:
                latest[entry.code] = entry
        found = [entry_view(e) for e in latest.values() if e.covers(on)]
        known = {f["code"] for f in found}
        found += [item_view(i) for i in items if i.code not in known]
        return sorted(found, key=lambda f: (f["name"], f["code"]))[:MAX_FOUND]


def entry_view(e: Entry) -> dict[str, Any]:
    r = e.restriction
    return {
        "code": e.code,
        "name": e.name,
        "cls": e.cls.value,
        "catalogue": e.catalogue,
        "caps": {int(level): fmt(cap) for level, cap in sorted(e.caps.items())},
        "ratios": {k: str(v) for k, v in sorted(e.ratios.items())},
        "restriction": {
            "min_age": r.min_age,
            "max_age": r.max_age,
            "sex": r.sex,
            "min_level": r.min_level,
            "inpatient_only": r.inpatient_only,
            "special_disease": r.special_disease,
            "wording": r.wording,
        }
        if r.any or r.wording
        else None,
        "valid_from": e.valid_from.isoformat(),
        "valid_to": None if e.valid_to is None else e.valid_to.isoformat(),
    }


def item_view(item: CatalogueItem) -> dict[str, Any]:
    price = None if item.unit_price is None else fmt(item.unit_price)
    return {
        "code": item.code,
        "name": item.name,
        "cls": item.cls.value,
        "catalogue": None,
        "caps": {} if price is None else dict.fromkeys((0, 1, 2, 3), price),
        "ratios": {},
        "restriction": None,
        "valid_from": None,
        "valid_to": None,
    }
