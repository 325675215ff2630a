"""Slowing down password guessing without handing anyone a way to lock an account out.

Failed sign-ins are counted per account *and* source (the caller's address): after
`FREE_FAILURES` in a row, each further attempt from that source for that account must
wait twice as long as the last (2 s, 4 s, 8 s … at most 15 minutes). A stranger guessing
a clerk's password slows down only themself; the clerk, from their own desk, signs in
as usual. A success clears the count.

A server counts in its database (adapters/db/guards_repo.py: one row an account and
source, its count raised by one UPSERT), so that every worker of the server sees the same
count and a restart forgets nothing: an address gets its free guesses once, not once a
worker. A process with no database store (service/guards.py) counts in its own memory.
The clock is the wall clock, the same in every process (a monotonic clock is each
process's own).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from yibao.service.guards import MemoryGuards
from yibao.service.ports.guards import Guards

FREE_FAILURES = 5
MAX_DELAY_SECONDS = 15 * 60


class SignInThrottle:
    def __init__(self, clock: Callable[[], float] = time.time, store: Guards | None = None) -> None:
        self.clock = clock
        self.store: Guards = store if store is not None else MemoryGuards()

    def wait(self, account: str, source: str) -> int:
        """Whole seconds this source must still wait before trying this account (0: go)."""
        found = self.store.failures(account, source)
        if found is None or found[0] < FREE_FAILURES:
            return 0
        count, last = found
        delay = min(2.0 ** min(count - FREE_FAILURES + 1, 20), MAX_DELAY_SECONDS)
        return max(0, math.ceil(last + delay - self.clock()))

    def failed(self, account: str, source: str) -> None:
        self.store.failed(account, source, self.clock())

    def succeeded(self, account: str, source: str) -> None:
        self.store.succeeded(account, source)
