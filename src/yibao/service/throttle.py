"""Slowing down password guessing without handing anyone a way to lock an account out.

Failed sign-ins are counted per account *and* source (the caller's address): after
`FREE_FAILURES` in a row, each further attempt from that source for that account must
wait twice as long as the last (2 s, 4 s, 8 s … at most 15 minutes). A stranger guessing
a clerk's password slows down only themself; the clerk, from their own desk, signs in
as usual. A success clears the count. Kept in the server process's memory: each worker
of a server counts on its own, and a restart forgets (a guesser gains a few attempts).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

FREE_FAILURES = 5
MAX_DELAY_SECONDS = 15 * 60
MAX_KEYS = 100_000


class SignInThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait(self, account: str, source: str) -> int:
        """Whole seconds this source must still wait before trying this account (0: go)."""
        with self._lock:
            found = self._failures.get((account, source))
        if found is None or found[0] < FREE_FAILURES:
            return 0
        count, last = found
        delay = min(2.0 ** (count - FREE_FAILURES + 1), MAX_DELAY_SECONDS)
        return max(0, math.ceil(last + delay - self.clock()))

    def failed(self, account: str, source: str) -> None:
        moment = self.clock()
        with self._lock:
            if len(self._failures) >= MAX_KEYS:  # forget the quiet ones
                horizon = moment - MAX_DELAY_SECONDS
                self._failures = {k: v for k, v in self._failures.items() if v[1] > horizon}
            count, _ = self._failures.get((account, source), (0, moment))
            self._failures[(account, source)] = (count + 1, moment)

    def succeeded(self, account: str, source: str) -> None:
        with self._lock:
            self._failures.pop((account, source), None)
