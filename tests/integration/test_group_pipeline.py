"""The group committer's two stages (service/group_commit.py): one batch at a time is
taken, read and computed while the batch before it writes and commits, on PostgreSQL.
The next batch is read only after this one's read (it queued meanwhile, and goes whole),
and before this one's commit has ended; a failed commit fails only its own batch; a
voucher's batch waiting for the row lock of a card's batch of the same person does not
stop that batch's commit; many clients settling few persons by card and by voucher at
once leave every year in order and exact."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from integration.test_group_batch import person_of
from integration.test_group_commit import World, no_problems, stored, years_in_order
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.domain.model import Kind
from yibao.service.group_commit import GroupCommitter
from yibao.service.settlement import Bill, SettlementService

pytestmark = pytest.mark.database

Event = tuple[str, int]  # what happened, in the committer's batch number n (from 1)


class Log:
    """What the committer's batches did, in the order it happened, across its threads;
    `hooks` run in the committer's thread right after their event is noted."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.hooks: dict[Event, Callable[[], object]] = {}
        self.opened = 0
        self._changed = threading.Condition()

    def number(self) -> int:
        with self._changed:
            self.opened += 1
            return self.opened

    def note(self, what: str, n: int) -> None:
        with self._changed:
            self.events.append((what, n))
            self._changed.notify_all()
        hook = self.hooks.get((what, n))
        if hook is not None:
            hook()

    def wait_for(self, event: Event, seconds: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: event in self.events, seconds)

    def at(self, event: Event) -> int:
        return self.events.index(event)


class Recorded(UnitOfWork):
    """The committer's unit of work, noting its batch's read (begun, done), write and
    commit (begun, ended) in the log; `fail` numbers the batches whose commit fails."""

    def __init__(self, engine: Engine, log: Log, fail: frozenset[int] = frozenset()) -> None:
        super().__init__(engine)
        self.log = log
        self.fail = fail
        self.n = 0

    def __enter__(self) -> UnitOfWork:
        entered = super().__enter__()
        self.n = n = self.log.number()
        counter = self.counter
        open_many, flush = counter.open_many, counter.flush

        def noted_open_many(bills: list[Any]) -> Any:
            self.log.note("read", n)
            found = open_many(bills)
            self.log.note("read done", n)
            return found

        def noted_flush() -> None:
            self.log.note("write", n)
            flush()

        setattr(counter, "open_many", noted_open_many)  # noqa: B010 (an instance's own)
        setattr(counter, "flush", noted_flush)  # noqa: B010
        return entered

    def commit(self) -> None:
        self.log.note("commit", self.n)
        if self.n in self.fail:
            raise ConnectionError("the server went away during COMMIT")
        super().commit()
        self.log.note("committed", self.n)


@pytest.fixture
def world(pg_engine: Engine, policies: PolicyLoader) -> World:
    return World(pg_engine, policies)


def pipeline(world: World, log: Log, fail: frozenset[int] = frozenset()) -> GroupCommitter:
    settlements = SettlementService(lambda: UnitOfWork(world.engine), world.policies)
    return GroupCommitter(settlements, lambda: Recorded(world.engine, log, fail), threads=2)


def overlapped(log: Log) -> list[bool]:
    """Batch 1 gives a second batch every chance to read beside its own read (a second:
    none may begin), and commits only once batch 2 has begun to read. Returns whether
    it found batch 2 reading before its commit."""
    log.hooks[("read", 1)] = lambda: log.wait_for(("read", 2), 1.0)
    waited: list[bool] = []
    log.hooks[("commit", 1)] = lambda: waited.append(log.wait_for(("read", 2), 60))
    return waited


def test_the_next_batch_is_read_while_one_commits_and_takes_what_queued_meanwhile(
    world: World,
) -> None:
    log = Log()
    waited = overlapped(log)
    committer = pipeline(world, log)
    first = committer.submit(world.bill(world.cards[0], date(2026, 2, 1)))
    assert log.wait_for(("read", 1), 60)
    rest = [committer.submit(world.bill(card, date(2026, 2, 2))) for card in world.cards[1:6]]

    assert first.result(timeout=60)[0] == 201
    assert [f.result(timeout=60)[0] for f in rest] == [201] * 5
    # Batch 2 was read after batch 1's read, not beside it; and before batch 1's commit
    # ended: the two batches were under way at once.
    assert waited == [True]
    assert log.at(("read done", 1)) < log.at(("read", 2)) < log.at(("committed", 1))
    assert committer.stats.batches == 2
    assert committer.stats.largest == 5  # all that queued while batch 1 was read
    assert len(stored(world.engine)) == 6
    no_problems(world)


def test_a_failed_commit_fails_its_own_batch_and_not_the_next(world: World) -> None:
    log = Log()
    waited = overlapped(log)
    committer = pipeline(world, log, fail=frozenset({1}))
    lost = committer.submit(world.bill(world.cards[0], date(2026, 3, 1)))
    assert log.wait_for(("read", 1), 60)
    rest = [committer.submit(world.bill(card, date(2026, 3, 2))) for card in world.cards[1:4]]

    assert isinstance(lost.exception(timeout=60), ConnectionError)
    answers = [f.result(timeout=60) for f in rest]
    assert [status for status, _ in answers] == [201] * 3
    assert waited == [True]  # batch 2 was under way when batch 1's commit failed
    assert {view["id"] for _, view in answers} == stored(world.engine)
    assert [view["seq"] for _, view in answers] == [1] * 3
    no_problems(world)


def test_a_voucher_waiting_for_the_year_a_card_batch_holds_does_not_stop_its_commit(
    world: World,
) -> None:
    """Batch 2 (a voucher of the person batch 1 settles by card: another order key) waits
    in its read for the person's year, locked by batch 1; batch 1 commits meanwhile."""
    card = world.cards[0]
    log = Log()
    committer = pipeline(world, log)
    committer.settle(world.bill(card, date(2026, 4, 1)))  # batch 1: the year exists now
    waited: list[bool] = []
    log.hooks[("commit", 2)] = lambda: waited.append(log.wait_for(("read", 3), 60))
    by_card = committer.submit(world.bill(card, date(2026, 4, 2), "50.00"))
    assert log.wait_for(("read", 2), 60)
    voucher = Bill(
        world.hospital,
        None,
        Kind.OUTPATIENT,
        date(2026, 4, 3),
        world.bill(card, date(2026, 4, 3), "70.00").lines,
        person_id=person_of(world, card),
    )
    by_voucher = committer.submit(voucher)
    other = committer.submit(world.bill(world.cards[1], date(2026, 4, 3)))

    assert [f.result(timeout=60)[1]["seq"] for f in (by_card, by_voucher, other)] == [2, 3, 1]
    assert waited == [True]  # batch 3 began its read before batch 2 committed
    assert log.at(("read", 3)) < log.at(("committed", 2))
    no_problems(world)


def test_many_clients_by_card_and_voucher_leave_every_year_in_order_and_exact(
    world: World,
) -> None:
    log = Log()
    committer = pipeline(world, log)
    cards = world.cards[:5]
    persons = {card: person_of(world, card) for card in cards}
    errors: list[BaseException] = []

    def client(n: int) -> None:
        for i in range(10):
            card = cards[(n + i) % len(cards)]
            bill = world.bill(card, date(2026, 1 + i % 12, 1 + n), f"{30 + 7 * n + i}.{i:02d}")
            if (n + i) % 3 == 0:  # by voucher: the same person-year by another order key
                bill = Bill(
                    bill.institution_id,
                    None,
                    bill.kind,
                    bill.date,
                    bill.lines,
                    person_id=persons[card],
                )
            try:
                committer.settle(bill, f"p-{n}-{i}" if i % 2 else None)
            except BaseException as exc:  # reported below
                errors.append(exc)

    clients = [threading.Thread(target=client, args=(n,)) for n in range(10)]
    for c in clients:
        c.start()
    for c in clients:
        c.join(120)

    assert errors == []
    assert committer.stats.bills == 100
    assert years_in_order(world, 2026) == 100
    no_problems(world)
