"""The catalogues in the database: dated entries, institutions' code mappings, and the
region's base items (catalogue_items: the items a region was loaded with, undated, whose
fixed price is read as the cap at every level).

What a bill's code means on a day: an institution's own code mapped on that day stands
for its national code; the national code's entry in force on that day (the latest
`valid_from` not after it) decides; without dated entries the base item does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, and_, insert, select, update

from yibao.adapters.db import registry_sql as raw
from yibao.adapters.db import tables as t
from yibao.adapters.db.catalogue_cache import CatalogueCache, CodeMapping, View, bump, cache_for
from yibao.adapters.db.prepared import Driver
from yibao.domain.catalogue import Entry, Restriction
from yibao.domain.model import LEVELS, LineClass
from yibao.domain.money import from_fen
from yibao.domain.registry import CatalogueItem
from yibao.service.ports import now


def _decimals(text: str) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in orjson.loads(text).items()}


def entry_of(row: Any) -> Entry:
    return Entry(
        code=row.code,
        name=row.name,
        cls=LineClass(row.cls),
        valid_from=row.valid_from,
        catalogue=row.catalogue,
        valid_to=row.valid_to,
        caps={int(k): v for k, v in _decimals(row.caps).items()},
        ratios=_decimals(row.ratios),
        restriction=Restriction(
            row.min_age,
            row.max_age,
            row.sex,
            row.min_level,
            bool(row.inpatient_only),
            row.special_disease,
            row.restriction,
        ),
        id=row.id,
        source=row.source,
        imported_at=getattr(row, "imported_at", None),
    )


def entry_values(region: str, e: Entry) -> dict[str, Any]:
    r = e.restriction
    return {
        "region": region,
        "code": e.code,
        "valid_from": e.valid_from,
        "valid_to": e.valid_to,
        "name": e.name,
        "catalogue": e.catalogue,
        "cls": e.cls.value,
        "caps": orjson.dumps({str(k): str(v) for k, v in sorted(e.caps.items())}).decode(),
        "ratios": orjson.dumps({k: str(v) for k, v in sorted(e.ratios.items())}).decode(),
        "min_age": r.min_age,
        "max_age": r.max_age,
        "sex": r.sex,
        "min_level": r.min_level,
        "inpatient_only": r.inpatient_only,
        "special_disease": r.special_disease,
        "restriction": r.wording,
        "source": e.source,
    }


def base_entry(item: CatalogueItem) -> Entry:
    """A base item's entry, one for every bill of the item (an Entry is frozen, and nothing
    writes into its caps): made anew for each bill, it cost more than its lookup here,
    the counter's read handing over one object per item (counter_pg._item). Kept by the
    item object itself first: hashing the item (its four fields, its class an Enum's
    Python __hash__) cost as much as the rest of the lookup."""
    kept = _by_item.get(id(item))
    if kept is not None and kept[0] is item:  # the item is held there: its id is its own
        return kept[1]
    entry = _base_entry(item)
    if len(_by_item) >= _BY_ITEM_MAX:  # items come from catalogues: a bounded memory
        _by_item.clear()
    _by_item[id(item)] = (item, entry)
    return entry


# id(item) -> (item, its entry); the item kept alive with it, so that no other object
# takes its id while it is there. Filled and read under the GIL; a lost race makes the
# same entry twice.
_by_item: dict[int, tuple[CatalogueItem, Entry]] = {}
_BY_ITEM_MAX = 50_000


@lru_cache(maxsize=50_000)  # items come from catalogues: never an unbounded memory
def _base_entry(item: CatalogueItem) -> Entry:
    caps = {} if item.unit_price is None else dict.fromkeys(LEVELS, item.unit_price)
    return Entry(item.code, item.name, item.cls, date.min, caps=caps, source="catalogue_items")


class CatalogueRepo:
    def __init__(self, conn: Connection, cache: CatalogueCache | None = None) -> None:
        self.conn = conn
        # PostgreSQL: the generation and the base items as prepared statements
        # (registry_sql.py).
        self.pg = Driver(conn) if conn.dialect.name == "postgresql" else None
        # Lookups of a bill's codes read the process's copy of the catalogue.
        self.cache = cache or cache_for(conn.engine)
        # After this transaction writes the catalogue, its reads see rows that may never
        # commit: they bypass the shared copy, neither reading nor filling it.
        self.wrote = False
        self._view: View | None = None  # the generation is read once a transaction
        # Base items a read of this transaction found (or found missing, None) by region
        # and code: a group commit's read, for its bills elsewhere (counter_pg_batch.py).
        self._items: dict[tuple[str, str], CatalogueItem | None] = {}

    # --- reads ------------------------------------------------------------------------

    def has_region(self, region: str) -> bool:
        if self.pg is not None:
            return self.pg.one(raw.REGION, (region,)) is not None
        found = self.conn.execute(select(t.regions.c.code).where(t.regions.c.code == region))
        return found.first() is not None

    def entries(self, region: str, codes: Iterable[str]) -> dict[str, list[Entry]]:
        """Every dated entry of the codes, oldest first."""
        region_entries = self._dated(region)
        return {code: region_entries.get(code, []) for code in sorted(set(codes))}

    def _dated(self, region: str) -> dict[str, list[Entry]]:
        """The region's dated entries by code, oldest first: the shared copy's, unless
        this transaction wrote the catalogue."""
        if self.wrote:
            return self._read_region(region)
        view = self._view or self._shared()
        cached = view.entries.get(region)
        if cached is None:
            cached = view.entries[region] = self._read_region(region)
        return cached

    def seen_items(
        self, region: str, codes: Iterable[str], found: Mapping[str, CatalogueItem]
    ) -> None:
        """The base items of `codes` in the region's catalogue, as a statement of this
        transaction read them (`found`: those there)."""
        if not self.wrote:
            for code in codes:
                self._items[(region, code)] = found.get(code)

    def seen_generation(self, generation: int) -> None:
        """The catalogue's generation as a statement of this transaction read it (the
        counter's, with the bill's other facts): the lookups that follow use that view
        instead of reading the generation again."""
        if not self.wrote:
            self._view = self.cache.view_at(generation)

    def _shared(self) -> View:
        if self._view is None:
            if self.pg is not None:
                found = self.pg.one(raw.GENERATION, ())
                self._view = self.cache.view_at(int(found[0] or 0) if found else 0)
            else:
                self._view = self.cache.view(self.conn)
        return self._view

    def _read_region(self, region: str) -> dict[str, list[Entry]]:
        c = t.catalogue_entries.c
        found: dict[str, list[Entry]] = {}
        for row in self.conn.execute(
            select(t.catalogue_entries).where(c.region == region).order_by(c.code, c.valid_from)
        ):
            found.setdefault(row.code, []).append(entry_of(row))
        return found

    def in_force(
        self,
        region: str,
        codes: Iterable[str],
        day: date,
        known: Mapping[str, CatalogueItem] | None = None,
    ) -> dict[str, Entry]:
        """The entry of each code in force on the day: the dated one, else the base item
        (from `known`, the base items the caller has read already, or read here)."""
        # One pass over the codes (a bill's one or two): the comprehensions it replaced
        # were a third of resolving a bill's lines.
        dated = self._dated(region)
        found: dict[str, Entry] = {}
        base: list[str] = []
        for code in codes:
            entries = dated.get(code)
            if not entries:
                if code not in base:
                    base.append(code)
                continue
            for entry in reversed(entries):  # the latest start on or before the day
                if entry.valid_from <= day:
                    if entry.covers(day):
                        found[code] = entry
                    break
        if not base:
            return found
        unread = []
        for code in base:
            item = known.get(code) if known else None
            if item is None:
                unread.append(code)
            else:
                found[code] = base_entry(item)
        if unread:
            for code, item in self._base_items(region, unread).items():
                found[code] = base_entry(item)
        return found

    def _base_items(self, region: str, unread: list[str]) -> dict[str, CatalogueItem]:
        """The base items of codes the caller had not read: those a read of this
        transaction found, else read now."""
        items: dict[str, CatalogueItem] = {}
        if self._items and not self.wrote:  # read already in this transaction
            seen = {c: self._items[(region, c)] for c in unread if (region, c) in self._items}
            items.update({code: item for code, item in seen.items() if item is not None})
            unread = [code for code in unread if code not in seen]
        if unread and self.pg is not None:
            for row in self.pg.all(raw.CATALOGUE_ITEMS, (region, unread)):
                items[row[0]] = raw.catalogue_item(row)
        elif unread:
            c = t.catalogue_items.c
            for row in self.conn.execute(
                select(t.catalogue_items).where(c.region == region, c.code.in_(unread))
            ):
                fixed = None if row.unit_price_fen is None else from_fen(row.unit_price_fen)
                items[row.code] = CatalogueItem(row.code, row.name, LineClass(row.cls), fixed)
        return items

    def mapped(self, institution_id: str, codes: Iterable[str], day: date) -> dict[str, str]:
        """Own code -> national code, for the institution's mappings active on the day
        (of several, the latest start wins)."""
        if self.wrote:
            own = self._read_mappings(institution_id)
        else:
            view = self._view or self._shared()
            kept = view.mappings.get(institution_id)
            if kept is None:
                kept = view.mappings[institution_id] = self._read_mappings(institution_id)
            own = kept
        found: dict[str, str] = {}
        if not own:  # most institutions bill national codes: no mapping to look through
            return found
        for code in codes:
            for m in reversed(own.get(code, ())):  # of several, the latest start wins
                if m.covers(day):
                    found[code] = m.national_code
                    break
        return found

    def _read_mappings(self, institution_id: str) -> dict[str, list[CodeMapping]]:
        c = t.catalogue_mappings.c
        found: dict[str, list[CodeMapping]] = {}
        for row in self.conn.execute(
            select(c.own_code, c.national_code, c.valid_from, c.valid_to)
            .where(c.institution_id == institution_id, c.status == "active")
            .order_by(c.valid_from, c.id)
        ):
            found.setdefault(row.own_code, []).append(
                CodeMapping(row.national_code, row.valid_from, row.valid_to)
            )
        return found

    def mappings(self, institution_id: str) -> list[Any]:
        c = t.catalogue_mappings.c
        return list(
            self.conn.execute(
                select(t.catalogue_mappings)
                .where(c.institution_id == institution_id)
                .order_by(c.own_code, c.valid_from, c.id)
            )
        )

    def region_entries(self, region: str, on: date | None = None) -> list[Entry]:
        """A region's dated entries (those in force on `on`, when given), by code."""
        c = t.catalogue_entries.c
        rows = self.conn.execute(
            select(t.catalogue_entries).where(c.region == region).order_by(c.code, c.valid_from)
        )
        entries = [entry_of(r) for r in rows]
        if on is None:
            return entries
        latest: dict[str, Entry] = {}
        for e in entries:
            if e.valid_from <= on:
                latest[e.code] = e
        return [e for e in latest.values() if e.covers(on)]

    # --- writes -----------------------------------------------------------------------

    def _changed(self) -> None:
        bump(self.conn)
        self.wrote = True

    def add_entries(self, region: str, entries: Sequence[Entry]) -> None:
        if entries:
            self._changed()
            stamp = now()
            self.conn.execute(
                insert(t.catalogue_entries),
                [{**entry_values(region, e), "imported_at": stamp} for e in entries],
            )

    def add_mapping(
        self,
        institution_id: str,
        own_code: str,
        own_name: str | None,
        national_code: str,
        valid_from: date,
        valid_to: date | None,
    ) -> int:
        self._changed()
        mid = self.conn.execute(
            insert(t.catalogue_mappings)
            .values(
                institution_id=institution_id,
                own_code=own_code,
                own_name=own_name,
                national_code=national_code,
                valid_from=valid_from,
                valid_to=valid_to,
                status="active",
                created_at=now(),
            )
            .returning(t.catalogue_mappings.c.id)
        ).scalar_one()
        return int(mid)

    def cancel_mapping(self, institution_id: str, own_code: str) -> int:
        """Cancel the institution's active mappings of the code; how many were."""
        c = t.catalogue_mappings.c
        self._changed()
        done = self.conn.execute(
            update(t.catalogue_mappings)
            .where(
                and_(c.institution_id == institution_id, c.own_code == own_code),
                c.status == "active",
            )
            .values(status="cancelled", cancelled_at=now())
        )
        return int(done.rowcount)
