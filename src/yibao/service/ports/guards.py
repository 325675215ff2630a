"""The security state every process of a server must share (service/guards.py): the
national interface's x-tif nonces already seen, and failed sign-ins counted per account
and source. A server keeps them in its database (adapters/db/guards_repo.py), so that two
workers, or a worker and its restarted successor, see the same; a process with no store
keeps them in its own memory (service/guards.py)."""

from __future__ import annotations

from typing import Protocol


class Guards(Protocol):
    def fresh_nonce(self, paasid: str, nonce: str, at: float) -> bool:
        """Record the nonce as seen at `at` (seconds since the epoch): False if it was
        seen before (a replay)."""
        ...

    def failures(self, account: str, source: str) -> tuple[int, float] | None:
        """Failed attempts in a row on the account from the source, and the last one's
        moment (seconds since the epoch); None: none."""
        ...

    def failed(self, account: str, source: str, at: float) -> None:
        """One more failure, counted exactly however many processes fail at once."""
        ...

    def succeeded(self, account: str, source: str) -> None: ...
