"""Group commit: card settlements that arrive together share one transaction and one
commit (one WAL flush on PostgreSQL), and each is answered only after that commit.

    committer = GroupCommitter(settlements, uow_factory)
    status, view = committer.submit(bill, key).result()   # or await asyncio.wrap_future

A few committer threads take what has queued up while they were busy and settle it in
one unit of work, bill after bill, each bill inside a savepoint of its own:

- a bill the rules refuse (ServiceError: an unknown card, not enrolled ...) is rolled
  back to its savepoint and answered with its error; its neighbours go on;
- a bill the database refuses (its idempotency key taken by a request that committed
  first, a deadlock, any other error) is rolled back to its savepoint and settled again
  alone after the batch, as `SettlementService.settle` settles every bill without group
  commit: what it answers then is what it would have answered alone;
- if the commit itself fails, every bill of the batch is answered with that error, as a
  failed commit answers a bill alone: none of them was acknowledged.

Per person-year order and locks are as without grouping: a batch holds at most one bill
of a person (by card or voucher), a bill whose person is in a batch still running waits
in the queue behind it, in arrival order, and a batch locks its person-years in the
order of their keys, so that two batches never wait for each other in a circle (a
deadlock PostgreSQL still finds, with a voucher and a card of one person, is one bill's
error: rolled back to its savepoint and retried alone).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from yibao.service.errors import ServiceError
from yibao.service.ports import UnitOfWork
from yibao.service.settlement import Bill, SettlementService

Answer = tuple[int, dict[str, Any]]


class GroupUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that can keep its bills apart: leaving `savepoint()` normally
    writes what the bill left pending; leaving it by an exception rolls the bill back to
    where it began, and the transaction goes on."""

    def __enter__(self) -> GroupUnitOfWork: ...

    def savepoint(self) -> AbstractContextManager[None]: ...


@dataclass(eq=False)
class _Job:
    bill: Bill
    key: str | None
    future: Future[Answer] = field(default_factory=Future)

    @property
    def person(self) -> tuple[str, str, int]:
        """Whose year the bill settles: by card, or by the person a voucher names."""
        if self.bill.person_id is not None:
            return ("person", self.bill.person_id, self.bill.date.year)
        return ("card", self.bill.card_number or "", self.bill.date.year)


@dataclass
class BatchStats:
    """What the committers did so far (for tests and the benchmark's note)."""

    batches: int = 0
    bills: int = 0
    largest: int = 0
    retried_alone: int = 0


class GroupCommitter:
    def __init__(
        self,
        settlements: SettlementService,
        uow: Callable[[], GroupUnitOfWork],
        *,
        threads: int = 2,
        max_batch: int = 32,
    ) -> None:
        # At most 64 subtransactions of a transaction with writes stay in PostgreSQL's
        # shared cache; beyond it every snapshot of the server pays (subxid overflow).
        assert 1 <= max_batch <= 60, "a batch's savepoints must fit PostgreSQL's subxid cache"
        self.settlements = settlements
        self.uow = uow
        self.threads = threads
        self.max_batch = max_batch
        self.stats = BatchStats()
        self._queue: deque[_Job] = deque()
        self._running: set[tuple[str, str, int]] = set()  # persons in a batch under way
        self._changed = threading.Condition()
        self._started = False

    def submit(self, bill: Bill, key: str | None = None) -> Future[Answer]:
        """Queue a bill; the future holds (HTTP status, view) once its batch committed, or
        the error the bill would have raised alone."""
        job = _Job(bill, key)
        # Running from the start: a caller that gives up (a client gone, its task
        # cancelled) cannot cancel it, and its batch answers it like any other.
        job.future.set_running_or_notify_cancel()
        with self._changed:
            if not self._started:
                self._start()
            self._queue.append(job)
            self._changed.notify()
        return job.future

    def settle(self, bill: Bill, key: str | None = None) -> Answer:
        """`submit` and wait: SettlementService.settle's contract, grouped."""
        return self.submit(bill, key).result()

    def _start(self) -> None:
        for n in range(self.threads):
            threading.Thread(target=self._work, name=f"group-commit-{n}", daemon=True).start()
        self._started = True

    def _work(self) -> None:
        while True:
            batch = self._take()
            try:
                self._run(batch)
            except Exception as exc:  # never the committer's end: the batch's error
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
            finally:
                with self._changed:
                    self._running.difference_update(job.person for job in batch)
                    self._changed.notify_all()

    def _take(self) -> list[_Job]:
        """The queued bills that can go together, oldest first: one a person, none of a
        person whose earlier bill is in a batch under way or still waiting."""
        with self._changed:
            while True:
                batch: list[_Job] = []
                kept: deque[_Job] = deque()
                seen = set(self._running)
                for job in self._queue:
                    if job.person in seen or len(batch) >= self.max_batch:
                        kept.append(job)
                    else:
                        batch.append(job)
                    seen.add(job.person)
                if batch:
                    self._queue = kept
                    self._running.update(job.person for job in batch)
                    return batch
                self._changed.wait()

    def _run(self, batch: list[_Job]) -> None:
        answers: list[tuple[_Job, Answer | ServiceError]] = []
        alone: list[_Job] = []
        try:
            with self.uow() as uow:
                for job in sorted(batch, key=lambda j: j.person):  # one lock order
                    try:
                        with uow.savepoint():
                            answers.append(
                                (job, self.settlements.settle_in(uow, job.bill, job.key))
                            )
                    except ServiceError as exc:  # the rules refused it: nothing written
                        answers.append((job, exc))
                    except Exception:  # the database refused it: alone, after the batch
                        alone.append(job)
                uow.commit()
        except Exception as exc:  # the commit (or the connection) failed: none stored
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        self._count(batch, alone)
        for job, answer in answers:
            _resolve(job, answer)
        for job in alone:
            self._alone(job)

    def _alone(self, job: _Job) -> None:
        try:
            job.future.set_result(self.settlements.settle(job.bill, job.key))
        except Exception as exc:
            job.future.set_exception(exc)

    def _count(self, batch: list[_Job], alone: list[_Job]) -> None:
        with self._changed:
            stats = self.stats
            stats.batches += 1
            stats.bills += len(batch)
            stats.largest = max(stats.largest, len(batch))
            stats.retried_alone += len(alone)


def _resolve(job: _Job, answer: Answer | ServiceError) -> None:
    if isinstance(answer, ServiceError):
        job.future.set_exception(answer)
    else:
        job.future.set_result(answer)
