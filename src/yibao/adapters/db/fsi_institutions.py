"""The institutions national-interface messages name, kept in each server process.

Every message reads its institution once or twice (the desk's checks, a sign-in), a
prepared read each time; an institution changes a few times a year. A view of them is
good for one generation of the table: a trigger moves `institutions_generation` on every
change of `institutions`, in the writer's transaction (migration 0024), and every message
reads that row in its first statement (fsi_sql.OPENING). The generation is read before
the institution, so an entry is never older than its label; a message that reads
another generation than the view's starts a new view. Views are per engine (one
database), shared by the threads of a process, as catalogue_cache.py's are."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from sqlalchemy.engine import Engine

from yibao.domain.registry import Institution


class InstitutionCache:
    def __init__(self) -> None:
        self._generation = -1
        self._known: dict[str, Institution] = {}
        self._lock = threading.Lock()

    def institution(
        self, code: str, generation: int, read: Callable[[str], Institution | None]
    ) -> Institution | None:
        """The institution as of `generation` (read by the caller's transaction), or
        `read(code)` by the same transaction, kept for the next messages."""
        if generation == self._generation:
            found = self._known.get(code)
            if found is not None:
                return found
        found = read(code)
        if found is not None:
            with self._lock:
                if generation != self._generation:  # a new view (or, in a race, an older)
                    self._generation, self._known = generation, {}
                self._known[code] = found
        return found


_caches: weakref.WeakKeyDictionary[Engine, InstitutionCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def cache_of(engine: Engine) -> InstitutionCache:
    found = _caches.get(engine)
    if found is None:
        with _caches_lock:
            found = _caches.setdefault(engine, InstitutionCache())
    return found
