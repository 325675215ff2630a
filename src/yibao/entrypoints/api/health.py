"""/healthz: the whole server's figures, however many processes serve it.

A server of several workers (entrypoints/workers.py) answers each request from one of
them, so one process's group-commit figures would be half the server's, or less. The
supervisor makes a small block of shared memory (a multiprocessing RawArray: integers,
no lock) with a slot for each worker and hands each worker its slot; the worker's group
committer counts straight into it (SharedBatchStats), and /healthz, whichever worker
answers, adds the slots up. The counting stays exact: one worker's committer threads
update its slot under the committer's own lock, as they did its BatchStats, and no two
workers write the same slot. A worker started in the place of one that died takes over
its slot and goes on from its counts: the figures are the server's since it started.

A process with no supervisor (uvicorn on its own, a test's TestClient) reports its own
figures, as one worker.

The supervisor also shares a revocation epoch with its workers (one integer, bumped under
a lock that every process holds the same): a token revoked in one worker moves it, and
every worker's token cache, filled at another epoch, is emptied at its next lookup
(service/access.py). A process with no supervisor keeps its own epoch.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import asdict, fields
from typing import Any

from fastapi import FastAPI

from yibao.service.group_commit import BatchStats
from yibao.service.services import Services

FIELDS = tuple(f.name for f in fields(BatchStats))
MAXIMA = frozenset({"largest"})  # the server's largest batch is the largest of any worker's
SLOT = 1 + len(FIELDS)  # the worker's pid (0: none serving), then its figures


def shared_figures(context: Any, workers: int) -> ctypes.Array[ctypes.c_int64]:
    """The block a supervisor hands its workers (`context`: its multiprocessing
    context, so that the block goes to spawned processes)."""
    block: ctypes.Array[ctypes.c_int64] = context.RawArray(ctypes.c_int64, workers * SLOT)
    return block


def worker_left(block: ctypes.Array[ctypes.c_int64], slot: int) -> None:
    """The supervisor's word that the slot's worker died: no longer counted as serving;
    its figures stay, for the worker started in its place to go on from."""
    block[slot * SLOT] = 0


class SharedBatchStats(BatchStats):
    """A worker's BatchStats kept in its slot of the shared block."""

    def __init__(self, block: ctypes.Array[ctypes.c_int64], slot: int) -> None:
        # Not BatchStats' __init__: it would set the figures of a dead predecessor to 0.
        self._block = block
        self._at = slot * SLOT + 1

    def _get(self, i: int) -> int:
        return int(self._block[self._at + i])

    def _set(self, i: int, value: int) -> None:
        self._block[self._at + i] = value

    @property
    def batches(self) -> int:
        return self._get(0)

    @batches.setter
    def batches(self, value: int) -> None:
        self._set(0, value)

    @property
    def bills(self) -> int:
        return self._get(1)

    @bills.setter
    def bills(self, value: int) -> None:
        self._set(1, value)

    @property
    def largest(self) -> int:
        return self._get(2)

    @largest.setter
    def largest(self, value: int) -> None:
        self._set(2, value)

    @property
    def retried_alone(self) -> int:
        return self._get(3)

    @retried_alone.setter
    def retried_alone(self, value: int) -> None:
        self._set(3, value)

    @property
    def retried_whole(self) -> int:
        return self._get(4)

    @retried_whole.setter
    def retried_whole(self, value: int) -> None:
        self._set(4, value)


class SharedEpoch:
    """The server's revocation epoch (service/guards.py Epoch): read without the lock (one
    aligned 64-bit word), bumped under it, so that two workers revoking at once move it
    twice and no bump is lost."""

    def __init__(self, shared: tuple[ctypes.Array[ctypes.c_int64], Any]) -> None:
        self._block, self._lock = shared

    def current(self) -> int:
        return int(self._block[0])

    def bump(self) -> None:
        with self._lock:
            self._block[0] += 1


def shared_epoch(context: Any) -> tuple[ctypes.Array[ctypes.c_int64], Any]:
    """The epoch's word and lock a supervisor hands its workers."""
    block: ctypes.Array[ctypes.c_int64] = context.RawArray(ctypes.c_int64, 1)
    return block, context.Lock()


# This process's slot, when a supervisor started it (join_server, before the application
# is made); None in a process serving alone. And the server's revocation epoch.
_joined: tuple[ctypes.Array[ctypes.c_int64], int] | None = None
_epoch: tuple[ctypes.Array[ctypes.c_int64], Any] | None = None


def join_server(
    block: ctypes.Array[ctypes.c_int64],
    slot: int,
    epoch: tuple[ctypes.Array[ctypes.c_int64], Any] | None = None,
) -> None:
    global _joined, _epoch
    _joined = (block, slot)
    _epoch = epoch


def server_figures(block: ctypes.Array[ctypes.c_int64]) -> tuple[int, dict[str, int]]:
    """How many workers serve, and their figures summed (the largest batch: the largest)."""
    values = list(block)
    slots = [values[at : at + SLOT] for at in range(0, len(values), SLOT)]
    total = {}
    for i, name in enumerate(FIELDS, start=1):
        column = [slot[i] for slot in slots]
        total[name] = max(column) if name in MAXIMA else sum(column)
    return sum(1 for slot in slots if slot[0]), total


def install(app: FastAPI, services: Services) -> None:
    """GET /healthz; in a supervisor's worker, the group committer counting into the
    worker's slot, the slot marked as serving, and the token cache following the
    server's revocation epoch."""
    grouped = services.group_commit
    joined = _joined
    if _epoch is not None:
        services.access.share_epoch(SharedEpoch(_epoch))
    if joined is not None:
        block, slot = joined
        if grouped is not None:
            grouped.stats = SharedBatchStats(block, slot)
        block[slot * SLOT] = os.getpid()

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        if joined is not None:
            workers, figures = server_figures(joined[0])
        else:
            workers = 1
            figures = asdict(grouped.stats) if grouped is not None else {}
        if grouped is None:
            return {"status": "ok", "workers": workers}
        # What the server's group commit did so far, all workers' together: batches,
        # bills, the largest batch, the bills retried alone.
        return {"status": "ok", "workers": workers, "group_commit": figures}
