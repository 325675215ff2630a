"""Where a card settlement's time goes inside the server, when YIBAO_LATENCY_LOG names a
folder (off by default: nothing here runs then).

Each settlement answered by the fast path (fast_path.py) carries a `Trace`: stamps of
`time.perf_counter()` as it passes the event loop, the group committer's queue and batch,
and the way back. The committer's side is stamped by `TimedUnitOfWork`, the unit of work
the committer is given in this mode (bootstrap.py), into a thread-local `BatchClock`: a
committer thread answers its batch's futures right after the batch's commit, in the same
thread, so the answer's callback (Wakeups) copies that thread's clock into the trace.

The parts of a settlement's time, in order (`SEGMENTS`, milliseconds):

- auth+body: on the loop, from the application's first look at the request to the bill
  handed to the committer (token, role, body read and parsed);
- queued: waiting for a committer thread to take it in a batch;
- connect: the batch's connection taken from the pool and its transaction begun;
- bills: the batch's bills read, settled and written (every bill of the batch, this one's
  neighbours too); when the batch went the one-read, one-write way (settle_batch) also
  split into its read, the engine's work, and its write;
- commit: what is still pending written, and COMMIT (a WAL flush);
- answer: the batch's answers handed out before this one's;
- to loop: from the committer's answer to the event loop running the wake-up (the loop
  busy, or waiting for the interpreter lock);
- resume: the settlement's coroutine running again after its future was answered;
- send: the answer's JSON and its sending;

and `in server`, all of it: the first look to the last byte handed to the transport.

Each process writes what it recorded to `<folder>/settle-<pid>.json` when it stops
(the application's lifespan), with the pauses of Python's garbage collector in the same
time (gc.callbacks: `GcPauses`, their wall and CPU time). YIBAO_GC_LOG records those
pauses alone, without tracing a settlement (`<folder>/gc-<pid>.json`). bench/settle_http.py sets the folder and prints p50, p99, p99.9 and
the largest of each part.
"""

from __future__ import annotations

import gc
import math
import operator
import os
import threading
import time
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from yibao.adapters.db.uow import UnitOfWork

SEGMENTS = (
    ("auth+body", "arrived", "submitted"),
    ("queued", "submitted", "taken"),
    ("connect", "taken", "connected"),
    ("bills", "connected", "committing"),
    ("commit", "committing", "committed"),
    ("answer", "committed", "answered"),
    ("to loop", "answered", "delivered"),
    ("resume", "delivered", "resumed"),
    ("send", "resumed", "sent"),
)
TOTAL = ("in server", "arrived", "sent")
# The parts of "bills" when the batch went the one-read, one-write way (settle_batch).
BILLS = (
    ("bills: read", "connected", "read"),
    ("bills: engine", "read", "writing"),
    ("bills: write", "writing", "written"),
)
BATCH_STAMPS = ("taken", "connected", "read", "writing", "written", "committing", "committed")
# Every stamp of a trace, in the order a Recorder keeps them.
STAMPS = (
    "arrived",
    "submitted",
    *BATCH_STAMPS,
    "answered",
    "delivered",
    "resumed",
    "sent",
)
_stamps_of = operator.attrgetter(*STAMPS)


class Trace:
    """One settlement's stamps (perf_counter seconds); 0.0 where it did not pass."""

    __slots__ = (
        "answered",
        "arrived",
        "batch",
        "committed",
        "committing",
        "connected",
        "delivered",
        "read",
        "resumed",
        "sent",
        "submitted",
        "taken",
        "writing",
        "written",
    )

    def __init__(self, arrived: float) -> None:
        self.arrived = arrived
        self.submitted = self.taken = self.connected = self.read = self.writing = 0.0
        self.written = self.committing = self.committed = self.answered = 0.0
        self.delivered = self.resumed = self.sent = 0.0
        self.batch = 0  # bills in its batch

    def answer_stamped(self) -> None:
        """In the thread that answered the settlement's future: that thread's last batch."""
        self.answered = time.perf_counter()
        clock = CLOCK
        if clock.committed:  # answered by a committer thread, after its batch's commit
            for name in BATCH_STAMPS:
                setattr(self, name, getattr(clock, name))
            self.batch = clock.bills

    def parts(self) -> dict[str, float]:
        """Each segment it passed whole, in milliseconds."""
        return parts_of(dict(zip(STAMPS, _stamps_of(self), strict=True)))


def parts_of(stamps: dict[str, float]) -> dict[str, float]:
    """Each segment a settlement passed whole, in milliseconds, from its stamps by name."""
    found = {}
    for name, start, end in (*SEGMENTS, *BILLS, TOTAL):
        began, ended = stamps[start], stamps[end]
        if began and ended:
            found[name] = (ended - began) * 1000
    return found


class BatchClock(threading.local):
    """The stamps of the batch a committer thread runs now (or ran last)."""

    taken = connected = read = writing = written = committing = committed = 0.0
    bills = 0


CLOCK = BatchClock()


class TimedUnitOfWork(UnitOfWork):
    """The committer's unit of work, stamping its batch in this thread's BatchClock: its
    start, its counter's one read and one write (open_many, flush: wrapped on the
    instance), its commit."""

    def __exit__(self, *exc: Any) -> None:
        try:
            super().__exit__(*exc)
        finally:
            # The wrappers hold the counter's own methods, which hold the counter: a cycle,
            # and with it the whole unit of work (its connection, repositories, lists:
            # ~60 objects a batch) left for the collector to find, whose pauses this very
            # split measures (6-16 ms gen-0 and 45-62 ms gen-1 collections with it on).
            # Taken off, the batch is freed by its reference counts as without the split.
            counter = vars(self).get("counter")
            if counter is not None:
                vars(counter).pop("open_many", None)
                vars(counter).pop("flush", None)

    def __enter__(self) -> UnitOfWork:
        CLOCK.taken = time.perf_counter()
        CLOCK.connected = CLOCK.read = CLOCK.writing = CLOCK.written = 0.0
        CLOCK.committing = CLOCK.committed = 0.0
        CLOCK.bills = 0
        entered = super().__enter__()
        counter = self.counter
        open_many, flush = counter.open_many, counter.flush

        def timed_open_many(bills: list[Any]) -> Any:
            CLOCK.bills = len(bills)
            found = open_many(bills)
            CLOCK.read = time.perf_counter()
            return found

        def timed_flush() -> None:
            first = not CLOCK.writing  # the batch's write; the commit's own flush is after
            if first:
                CLOCK.writing = time.perf_counter()
            flush()
            if first:
                CLOCK.written = time.perf_counter()

        setattr(counter, "open_many", timed_open_many)  # noqa: B010 (an instance's own)
        setattr(counter, "flush", timed_flush)  # noqa: B010
        CLOCK.connected = time.perf_counter()
        return entered

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        CLOCK.bills += 1
        with super().savepoint():
            yield

    def commit(self) -> None:
        CLOCK.committing = time.perf_counter()
        super().commit()
        CLOCK.committed = time.perf_counter()


class GcPauses:
    """The garbage collector's pauses in this process while entered (gc.callbacks), each
    as five numbers: its generation, its wall time (ms), its start (perf_counter), the CPU
    time of the thread that ran it (ms, time.thread_time) and the objects it found
    unreachable (the first three in the order of the older records, so that a reader of
    those reads these). Wall and CPU both, because while a collection runs no other thread of
    the process runs Python, and on a loaded machine a collection of 2 ms of CPU can hold
    them 30 ms when the kernel takes the core from it midway: the two say which it was.

    Kept in one flat array of floats, not a tuple a pause: what records the collector
    adds one object for it to walk, whatever the pauses. Written to `<folder>/gc-<pid>.json` at the end when given
    a folder (YIBAO_GC_LOG: the collector's pauses without the settlements' traces)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.flat = array("d")
        self._started = self._cpu = 0.0

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._cpu = time.thread_time()
            self._started = time.perf_counter()
        elif self._started:
            wall = (time.perf_counter() - self._started) * 1000
            cpu = (time.thread_time() - self._cpu) * 1000
            self.flat.extend((info["generation"], wall, self._started, cpu, info["collected"]))

    def rows(self) -> list[list[float]]:
        """One [generation, ms, started, cpu ms, collected] a pause."""
        flat = self.flat
        return [flat[n : n + 5].tolist() for n in range(0, len(flat), 5)]

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._on_gc)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"gc-{os.getpid()}.json"
            path.write_bytes(orjson.dumps({"pid": os.getpid(), "gc": self.rows()}))


class Recorder:
    """A process's traces and garbage-collector pauses while it serves.

    A trace's stamps are copied into flat arrays of numbers when it is added, and the
    trace is let go: ~15,000 traces a process in a 15 s run, each a tracked object kept
    to the end, were walked by every collection until promoted to the oldest generation
    (half of gen-1's objects in that run): the measurement made pauses it measured."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.stamps = array("d")  # len(STAMPS) a trace, one trace after the other
        self.batches = array("q")  # the bills in each trace's batch
        self.gc = GcPauses()

    def add(self, trace: Trace) -> None:
        self.stamps.extend(_stamps_of(trace))
        self.batches.append(trace.batch)

    def __enter__(self) -> Recorder:
        self.gc.__enter__()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.gc.__exit__()
        self.write()

    def summary(self) -> dict[str, Any]:
        # One entry a trace in each list (None: a part it did not pass whole).
        parts: dict[str, list[float | None]] = {n: [] for n, _, _ in (*SEGMENTS, *BILLS, TOTAL)}
        width, stamps = len(STAMPS), self.stamps
        arrived = []
        for start in range(0, len(stamps), width):
            named = dict(zip(STAMPS, stamps[start : start + width], strict=True))
            arrived.append(named["arrived"])
            passed = parts_of(named)
            for name, values in parts.items():
                values.append(passed.get(name))
        return {
            "pid": os.getpid(),
            "arrived": arrived,  # perf_counter: CLOCK_MONOTONIC
            "parts": parts,
            "batch": list(self.batches),
            # [generation, ms, perf_counter at its start, CPU ms, collected] a pause
            "gc": self.gc.rows(),
        }

    def write(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"settle-{os.getpid()}.json"
        path.write_bytes(orjson.dumps(self.summary()))
        return path


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The value at quantile q (0..1) of sorted values, nearest rank; 0.0 for none."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values), max(1, math.ceil(q * len(sorted_values))))
    return sorted_values[rank - 1]


def read_summaries(folder: Path, kind: str = "settle") -> Iterator[dict[str, Any]]:
    """What each process wrote: "settle" (Recorder) or "gc" (GcPauses alone)."""
    for path in sorted(folder.glob(f"{kind}-*.json")):
        yield orjson.loads(path.read_bytes())
