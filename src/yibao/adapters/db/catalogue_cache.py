"""The catalogue held in each server process: a settlement's codes are looked up in
memory instead of by two or three queries a bill (they were a third of a settlement's
server CPU; bench/settle_http.py --profile).

A cached view is good for one generation of the catalogue: every catalogue write bumps
the one row of `catalogue_generation` in its own transaction (CatalogueRepo), and every
lookup first reads that row in the reader's transaction — one primary-key read. The
generation is read before the entries, so a view is never older than its label: a
lookup that sees a newer generation than the view's drops the view and reads again.
Views are per engine (one database), shared by the threads of a process."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.engine import Engine

from yibao.adapters.db import tables as t
from yibao.domain.catalogue import Entry


@dataclass(frozen=True)
class CodeMapping:
    national_code: str
    valid_from: date
    valid_to: date | None

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass
class View:
    """The catalogue as of one generation, filled region by region, institution by
    institution, as lookups ask for them (CatalogueRepo reads and fills them)."""

    generation: int
    entries: dict[str, dict[str, list[Entry]]] = field(default_factory=dict)
    mappings: dict[str, dict[str, list[CodeMapping]]] = field(default_factory=dict)


def generation(conn: Connection) -> int:
    found = conn.execute(select(t.catalogue_generation.c.generation)).scalar()
    return int(found or 0)


def bump(conn: Connection) -> None:
    """Mark the catalogue changed, in the writer's transaction. The row lock orders the
    writers, so a reader that sees generation n sees every write up to n."""
    c = t.catalogue_generation.c
    done = conn.execute(update(t.catalogue_generation).values(generation=c.generation + 1))
    if done.rowcount == 0:  # a database emptied by hand (the tests do): start again at 1
        conn.execute(insert(t.catalogue_generation).values(id=1, generation=1))


class CatalogueCache:
    def __init__(self) -> None:
        self._view = View(generation=-1)
        self._lock = threading.Lock()

    def view(self, conn: Connection) -> View:
        return self.view_at(generation(conn))

    def view_at(self, now: int) -> View:
        """The view of generation `now`, read by the caller's transaction."""
        view = self._view
        if view.generation != now:
            with self._lock:
                if self._view.generation != now:
                    self._view = View(generation=now)
                view = self._view
        return view


_caches: weakref.WeakKeyDictionary[Engine, CatalogueCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def cache_for(engine: Engine) -> CatalogueCache:
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = CatalogueCache()
        return cache
