"""Group commit: jobs that arrive together share one transaction and one commit (one
WAL flush on PostgreSQL), and each is answered only after that commit.

    committer = GroupCommitter(settlements, uow_factory)
    status, view = committer.submit(bill, key).result()   # or await asyncio.wrap_future
    text = committer.submit_job(order, run, alone, refusals=(FsiError,)).result()

A job is any piece of work that runs in a unit of work without committing it: a card
bill (`submit`, SettlementService.settle_in) is one kind, a national-interface message
(fsi/gateway.py: its stored answer, the settlement and the visit) another. A few
committer threads take what has queued up while they were busy and run it in one unit of
work, job after job, each inside a savepoint of its own:

- a job the rules refuse (one of its `refusals`; for a bill ServiceError: an unknown
  card, not enrolled ...) is rolled back to its savepoint and answered with its error;
  its neighbours go on;
- a job the database refuses (its idempotency key taken by a request that committed
  first, a deadlock, any other error) is rolled back to its savepoint and run again
  alone after the batch (`alone`: in a transaction of its own, as it runs without group
  commit): what it answers then is what it would have answered alone;
- if the commit itself fails, every job of the batch is answered with that error, as a
  failed commit answers a job alone: none of them was acknowledged.

A batch of card bills only (`submit`, the usual case) goes faster: its bills are read in
one statement and written in one (SettlementService.settle_batch), no savepoint each. A
bill the rules refuse is simply left out of the write; if the database refuses the batch
(its read or its write), it is rolled back whole; if it names no bill (a year another
process inserted first, a deadlock) the batch runs once more as a batch, else (or refused
again) the bills it names (a key taken meanwhile, a bill's own error) run alone and the
others job by job as above; a bill that settle_batch leaves (behind another bill of its
person-year or key) runs alone after it.

Two stages, hand over hand: a committer thread takes a batch, reads it and runs the
engine for its bills (stage 1) under the "front" lock; it hands the front over as its
write begins (a batch of jobs: as its commit begins) and writes, commits and answers
(stage 2) while another thread takes what queued up meanwhile and reads and computes
it: as soon as as many jobs wait as the batch under way holds, or when that batch is
answered (batches stay large: halved, they cost more a bill than the overlap wins).
So with two threads (settings.py) a batch's read and engine no longer wait for the
batch before it to be written and committed. No lock of the committer's is waited for
while a transaction is open (stage 2 waits for nothing of the front's; a thread waits
for the front before it opens its unit of work), so a batch that waits for a row
another batch holds (a voucher and a card of one person are two order keys) waits only
inside PostgreSQL, which sees any cycle as a deadlock: a batch's stage 1 waiting for
the row a batch in stage 2 locked gets it at that commit. Nothing read in stage 1 goes
stale unseen: the person-years are read locked (as the last commit left them), and a
year or a key another batch stores meanwhile refuses this batch's write (handled as
above), as between two server processes.

Per person-year order and locks are as without grouping: a batch holds at most one job
of an `order` key (a bill's person-year, by card or voucher; a message's person), a job
whose key is in a batch still running (in either stage, or its jobs run alone after it,
until all are answered) waits in the queue behind it, in arrival order,
and a batch runs its jobs in the order of their keys, so that two batches lock their
person-years in one order and never wait for each other in a circle (a deadlock
PostgreSQL still finds, with a voucher and a card of one person, is one job's error:
rolled back to its savepoint and retried alone).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from yibao.service.answer_future import AnswerFuture
from yibao.service.errors import ServiceError
from yibao.service.ports import UnitOfWork
from yibao.service.settlement import BatchRefusedError, Bill, SettlementService

Answer = tuple[int, dict[str, Any]]
Order = tuple[str, str, int]  # whose year a job works on: one such job at a time
T = TypeVar("T")


class GroupUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that can keep its jobs apart: leaving `savepoint()` normally
    writes what the job left pending; leaving it by an exception rolls the job back to
    where it began, and the transaction goes on."""

    def __enter__(self) -> GroupUnitOfWork: ...

    def savepoint(self) -> AbstractContextManager[None]: ...


@dataclass(eq=False)
class _Job(Generic[T]):
    order: Order
    run: Callable[[GroupUnitOfWork], T]  # in the batch's unit of work, in a savepoint
    alone: Callable[[], T]  # in a unit of work of its own, committed
    refusals: tuple[type[Exception], ...]  # what means "refused, nothing written"
    bill: tuple[Bill, str | None] | None = None  # a card bill (submit): batched reads
    # Running from the start (answer_future.py): a caller that gives up (a client gone,
    # its task cancelled) cannot cancel it, and its batch answers it like any other.
    future: AnswerFuture[T] = field(default_factory=AnswerFuture)


def bill_order(bill: Bill) -> Order:
    """Whose year a bill settles: by card, or by the person a voucher names."""
    if bill.person_id is not None:
        return ("person", bill.person_id, bill.date.year)
    return ("card", bill.card_number or "", bill.date.year)


class _HandOver:
    """The front lock, released once: at the batch's hand-over, or at its end."""

    __slots__ = ("_lock",)

    def __init__(self, lock: threading.Lock) -> None:
        self._lock: threading.Lock | None = lock

    def __call__(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()


@dataclass
class BatchStats:
    """What the committers did so far (for tests and the benchmark's note); `bills`
    counts every job, a card bill or a message."""

    batches: int = 0
    bills: int = 0
    largest: int = 0
    retried_alone: int = 0
    retried_whole: int = 0  # batches refused without a culprit and run again as a batch


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
        self._queue: deque[_Job[Any]] = deque()
        self._running: set[Order] = set()  # keys of the jobs in a batch under way
        self._changed = threading.Condition()
        self._front = threading.Lock()  # held by the batch in stage 1 (see _work)
        self._started = False

    def submit(self, bill: Bill, key: str | None = None) -> AnswerFuture[Answer]:
        """Queue a bill; the future holds (HTTP status, view) once its batch committed, or
        the error the bill would have raised alone."""
        settlements = self.settlements
        job: _Job[Answer] = _Job(
            bill_order(bill),
            lambda uow: settlements.settle_in(uow, bill, key),
            lambda: settlements.settle(bill, key),
            (ServiceError,),
            (bill, key),
        )
        return self._queued(job)

    def submit_job(
        self,
        order: Order,
        run: Callable[[GroupUnitOfWork], T],
        alone: Callable[[], T],
        refusals: tuple[type[Exception], ...] = (ServiceError,),
    ) -> AnswerFuture[T]:
        """Queue a job: `run` in a batch's unit of work (it must not commit), `alone` the
        same in a unit of work of its own, committed, for when the database refused it in
        the batch. The future holds what `run` returned once its batch committed, or the
        job's refusal, or what `alone` answered."""
        return self._queued(_Job(order, run, alone, refusals))

    def _queued(self, job: _Job[T]) -> AnswerFuture[T]:
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
            # Stage 1 under the front lock: one batch at a time is taken, read and
            # computed; the next is taken only when this one hands over (_HandOver), so
            # what queued up meanwhile goes together and batches stay large.
            self._front.acquire()
            front = _HandOver(self._front)
            batch = self._take()
            try:
                self._run(batch, front)
            except Exception as exc:  # never the committer's end: the batch's error
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
            finally:
                front()  # a batch that failed before its hand-over
                # Only now, answered: a later batch never holds a person-year of this one.
                with self._changed:
                    self._running.difference_update(job.order for job in batch)
                    self._changed.notify_all()

    def _take(self) -> list[_Job[Any]]:
        """The queued jobs that can go together, oldest first: one a key, none of a key
        whose earlier job is in a batch under way or still waiting; while a batch is
        under way, not fewer than it holds (or, once it is answered, any)."""
        with self._changed:
            while True:
                batch: list[_Job[Any]] = []
                kept: deque[_Job[Any]] = deque()
                seen = set(self._running)
                for job in self._queue:
                    if job.order in seen or len(batch) >= self.max_batch:
                        kept.append(job)
                    else:
                        batch.append(job)
                    seen.add(job.order)
                # While a batch is still written (its keys under way), one as large as
                # it or none: two half batches cost the server and PostgreSQL more a
                # bill (a statement and a commit shared by fewer) than the overlap won.
                if batch and len(batch) >= min(len(self._running), self.max_batch):
                    self._queue = kept
                    self._running.update(job.order for job in batch)
                    # Counted as taken, before any of it is answered: a caller that has
                    # its answer finds its bill in the figures.
                    stats = self.stats
                    stats.batches += 1
                    stats.bills += len(batch)
                    stats.largest = max(stats.largest, len(batch))
                    return batch
                self._changed.wait()

    def _run(self, batch: list[_Job[Any]], front: _HandOver) -> None:
        jobs = sorted(batch, key=lambda j: j.order)  # one lock order
        alone: list[_Job[Any]] = []
        if all(job.bill is not None for job in jobs):
            jobs, alone = self._run_bills(jobs, front)
        if jobs:
            alone += self._run_jobs(jobs, front)
        front()  # each alone in a transaction of its own: the next batch need not wait
        if alone:
            with self._changed:
                self.stats.retried_alone += len(alone)
        for job in alone:
            self._alone(job)

    def _run_bills(
        self, jobs: list[_Job[Any]], front: _HandOver
    ) -> tuple[list[_Job[Any]], list[_Job[Any]]]:
        """Card bills only: read at once, settled, written at once, committed
        (SettlementService.settle_batch). Returns what is left: the jobs to run job by
        job (the batch was refused: all of them but its culprits) and those to run alone
        after it (its culprits; bills behind another of the batch)."""
        bills = [job.bill for job in jobs if job.bill is not None]
        try:
            answers = self._settle_together(bills, front)
            if isinstance(answers, BatchRefusedError) and not answers.culprits:
                # No bill to blame (a year another process inserted first, a deadlock):
                # once more as a batch, whose fresh read finds that year and locks in
                # the batch's order. Job by job, one transaction would lock the years
                # in another order (by card) for the whole batch's time, and deadlock
                # with the batches of the other process (each a second's wait for
                # PostgreSQL's deadlock_timeout, the p99's spikes: bench/settle_http.py).
                with self._changed:
                    self.stats.retried_whole += 1
                answers = self._settle_together(bills, front)
        except Exception as exc:  # the commit (or the connection) failed: none stored
            for job in jobs:
                job.future.set_exception(exc)
            return [], []
        if isinstance(answers, BatchRefusedError):  # rolled back: nothing of it stays
            culprits = set(answers.culprits)
            return (
                [job for n, job in enumerate(jobs) if n not in culprits],
                [jobs[n] for n in sorted(culprits)],
            )
        alone = []
        for job, answer in zip(jobs, answers, strict=True):
            if answer is None:
                alone.append(job)
            elif isinstance(answer, Exception):
                job.future.set_exception(answer)
            else:
                job.future.set_result(answer)
        return [], alone

    def _settle_together(
        self, bills: list[tuple[Bill, str | None]], front: _HandOver
    ) -> list[Answer | ServiceError | None] | BatchRefusedError:
        """The bills in one transaction, committed; or the database's refusal, rolled
        back. The front goes to the next batch as the write begins: the read and the
        engine are done, and the next batch is read and computed while this one is
        written and committed (measured against handing over at the commit: the same or
        more settlements a second beside pgbench, a lower p99)."""
        with self.uow() as uow:
            try:
                answers = self.settlements.settle_batch(uow, bills, front)
            except BatchRefusedError as refused:
                return refused
            uow.commit()
        return answers

    def _run_jobs(self, jobs: list[_Job[Any]], front: _HandOver) -> list[_Job[Any]]:
        """Job by job, each in its savepoint; returns the jobs to run alone after it."""
        answers: list[tuple[_Job[Any], Any]] = []
        refused: list[tuple[_Job[Any], Exception]] = []
        alone: list[_Job[Any]] = []
        try:
            with self.uow() as uow:
                for job in jobs:
                    try:
                        with uow.savepoint():
                            answer = job.run(uow)
                        # Only now: leaving the savepoint writes what the job left
                        # pending, and a write refused there rolls the job back.
                        answers.append((job, answer))
                    except Exception as exc:
                        if isinstance(exc, job.refusals):  # refused: nothing written
                            refused.append((job, exc))
                        else:  # the database refused it: alone, after the batch
                            alone.append(job)
                front()
                uow.commit()
        except Exception as exc:  # the commit (or the connection) failed: none stored
            for job in jobs:
                job.future.set_exception(exc)
            return []
        for job, answer in answers:
            job.future.set_result(answer)
        for job, error in refused:
            job.future.set_exception(error)
        return alone

    @staticmethod
    def _alone(job: _Job[Any]) -> None:
        try:
            job.future.set_result(job.alone())
        except Exception as exc:
            job.future.set_exception(exc)
