"""Security state kept in one process's memory: what a process with no shared store uses
(a test's services, a command), the same rules as the database's (adapters/db/
guards_repo.py); and the revocation epoch a process keeps for itself when no supervisor
shares one (entrypoints/workers.py)."""

from __future__ import annotations

import threading
from typing import Protocol

# An x-tif request's timestamp may be this far off the server's clock (fsi/auth.py).
CLOCK_SKEW_SECONDS = 300
# A nonce is refused again for this long after it was seen: replayed with its signed
# timestamp, its request passes the clock check at most twice the skew after it was first
# seen.
NONCE_SECONDS = 2 * CLOCK_SKEW_SECONDS
MAX_KEYS = 100_000


class MemoryGuards:
    def __init__(self) -> None:
        self._nonces: dict[tuple[str, str], float] = {}
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def fresh_nonce(self, paasid: str, nonce: str, at: float) -> bool:
        key = (paasid, nonce)
        with self._lock:
            if len(self._nonces) > MAX_KEYS:
                horizon = at - NONCE_SECONDS
                self._nonces = {k: v for k, v in self._nonces.items() if v > horizon}
            if key in self._nonces:
                return False
            self._nonces[key] = at
        return True

    def failures(self, account: str, source: str) -> tuple[int, float] | None:
        with self._lock:
            return self._failures.get((account, source))

    def failed(self, account: str, source: str, at: float) -> None:
        with self._lock:
            if len(self._failures) >= MAX_KEYS:  # forget the oldest half
                kept = sorted(self._failures.items(), key=lambda kv: kv[1][1])
                self._failures = dict(kept[len(kept) // 2 :])
            count, _ = self._failures.get((account, source), (0, at))
            self._failures[(account, source)] = (count + 1, at)

    def succeeded(self, account: str, source: str) -> None:
        with self._lock:
            self._failures.pop((account, source), None)


class Epoch(Protocol):
    """A number that moves whenever a token is revoked, in any process of the server:
    a process that cached tokens at another number forgets them (service/access.py)."""

    def current(self) -> int: ...

    def bump(self) -> None: ...


class LocalEpoch:
    """A process's own epoch, where no supervisor shares one."""

    def __init__(self) -> None:
        self.value = 0

    def current(self) -> int:
        return self.value

    def bump(self) -> None:
        self.value += 1
