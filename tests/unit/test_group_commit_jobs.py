"""The group committer's bookkeeping on a fake unit of work: what a job is answered when
leaving its savepoint fails (leaving writes what the job left pending, and the database
may refuse that write), without a database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, cast

from yibao.service.group_commit import GroupCommitter, GroupUnitOfWork
from yibao.service.settlement import SettlementService


class RefusedWriteError(Exception):
    """What a database driver raises for a write it refuses (not one of the job's refusals)."""


class FakeUnitOfWork:
    """Records what was written and committed; a job whose name is in `refuse_on_leave`
    has its pending write refused as its savepoint is left, as PostgreSQL refuses a
    unique key another transaction took first."""

    committed: ClassVar[list[str]] = []

    def __init__(self, refuse_on_leave: set[str]) -> None:
        self.refuse_on_leave = refuse_on_leave
        self.pending: list[str] = []
        self.written: list[str] = []

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self.pending = []
        yield
        if any(name in self.refuse_on_leave for name in self.pending):
            self.pending = []  # rolled back to the savepoint
            raise RefusedWriteError("duplicate key value violates unique constraint")
        self.written += self.pending

    def commit(self) -> None:
        FakeUnitOfWork.committed += self.written


def test_a_job_whose_write_is_refused_as_its_savepoint_ends_is_answered_alone() -> None:
    FakeUnitOfWork.committed = []
    refuse = {"b"}
    committer = GroupCommitter(
        cast(SettlementService, None),
        lambda: cast(GroupUnitOfWork, FakeUnitOfWork(refuse)),
        threads=1,
    )

    def job(name: str) -> Any:
        def run(uow: GroupUnitOfWork) -> str:
            cast(FakeUnitOfWork, uow).pending.append(name)
            return f"{name} in the batch"

        def alone() -> str:
            FakeUnitOfWork.committed.append(name)
            return f"{name} alone"

        return committer.submit_job(("person", name, 2026), run, alone)

    futures = {name: job(name) for name in "abc"}
    answers = {name: f.result(timeout=10) for name, f in futures.items()}

    # b's batch write was rolled back: it must not be answered as if it were stored,
    # and it is settled once, alone.
    assert answers == {"a": "a in the batch", "b": "b alone", "c": "c in the batch"}
    assert sorted(FakeUnitOfWork.committed) == ["a", "b", "c"]
    assert committer.stats.retried_alone == 1
