"""The group committer's two stages on a fake unit of work, without a database: a batch of
jobs runs its jobs alone in stage 1 (no other batch's jobs beside them), hands the front
over as its commit begins, and the next batch runs while it commits; a job of a key in a
batch still under way waits until that batch is answered."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import cast

from yibao.service.group_commit import GroupCommitter, GroupUnitOfWork
from yibao.service.settlement import SettlementService


class Log:
    """What happened, in order, across the committer's threads; `hooks` run right after
    their event is noted, in the thread that noted it."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.hooks: dict[str, Callable[[], object]] = {}
        self._changed = threading.Condition()

    def note(self, event: str) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()
        hook = self.hooks.get(event)
        if hook is not None:
            hook()

    def wait_for(self, event: str, seconds: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: event in self.events, seconds)

    def at(self, event: str) -> int:
        return self.events.index(event)


class StagedUnitOfWork:
    """A batch's unit of work: notes its commit (begun, ended) by the batch's first job."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.first = ""

    def __enter__(self) -> StagedUnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        yield

    def commit(self) -> None:
        self.log.note(f"commit {self.first}")
        self.log.note(f"committed {self.first}")


def test_the_next_batch_of_jobs_runs_while_one_commits_and_a_key_waits_its_answer() -> None:
    log = Log()
    committer = GroupCommitter(
        cast(SettlementService, None),
        lambda: cast(GroupUnitOfWork, StagedUnitOfWork(log)),
        threads=2,
    )

    def job(name: str, key: str) -> Future[str]:
        def run(uow: GroupUnitOfWork) -> str:
            staged = cast(StagedUnitOfWork, uow)
            staged.first = staged.first or name
            log.note(f"run {name}")
            log.note(f"ran {name}")
            return name

        def alone() -> str:
            raise AssertionError("no job of these is refused")

        return committer.submit_job(("person", key, 2026), run, alone)

    # a's batch gives another batch every chance to run beside it (a second: none may),
    # and commits only once the next batch has begun.
    log.hooks["run a"] = lambda: log.wait_for("run b", 1.0)
    waited: list[bool] = []
    log.hooks["commit a"] = lambda: waited.append(log.wait_for("run b", 10))
    first = job("a", "p1")
    assert log.wait_for("run a", 10)
    rest = [job("b", "p2"), job("c", "p3"), job("again", "p1")]

    assert first.result(timeout=10) == "a"
    assert [f.result(timeout=10) for f in rest] == ["b", "c", "again"]
    assert waited == [True]
    # b's batch ran after a's jobs, not beside them, and before a's commit ended ...
    assert log.at("ran a") < log.at("run b") < log.at("committed a")
    # ... and the job of a's key only once a's batch was answered.
    assert log.at("committed a") < log.at("run again")
    assert committer.stats.batches == 3


def test_while_a_batch_commits_the_next_is_taken_once_as_many_jobs_wait() -> None:
    """a, b and c commit together; d and e queued meanwhile are not taken (two bills
    against three under way), f makes three: d, e and f go as one batch, beside a's
    commit."""
    log = Log()
    committer = GroupCommitter(
        cast(SettlementService, None),
        lambda: cast(GroupUnitOfWork, StagedUnitOfWork(log)),
        threads=2,
    )

    def job(name: str) -> Future[str]:
        def run(uow: GroupUnitOfWork) -> str:
            staged = cast(StagedUnitOfWork, uow)
            staged.first = staged.first or name
            log.note(f"run {name}")
            return name

        def alone() -> str:
            raise AssertionError("no job of these is refused")

        return committer.submit_job(("person", name, 2026), run, alone)

    later: list[Future[str]] = []
    seen: list[bool] = []

    def while_a_commits() -> None:
        later.extend([job("d"), job("e")])
        seen.append(log.wait_for("run d", 1.0))  # two are fewer than three: none taken
        later.append(job("f"))
        seen.append(log.wait_for("run d", 10))  # three: taken, beside a's commit

    log.hooks["commit a"] = while_a_commits
    held = threading.Event()  # a, b and c queue before the committer takes any
    log.hooks["run held"] = held.wait
    first = job("held")
    assert log.wait_for("run held", 10)
    batch = [job("a"), job("b"), job("c")]
    held.set()

    assert first.result(timeout=10) == "held"
    assert [f.result(timeout=10) for f in batch] == ["a", "b", "c"]
    assert [f.result(timeout=10) for f in later] == ["d", "e", "f"]
    assert seen == [False, True]
    assert committer.stats.batches == 3
    assert committer.stats.largest == 3
