"""A group commit's lines and fund ledger entries go in one multi-row statement at the
batch's commit (adapters/db/counter_pg.py): every bill's rows are stored once, and a bill
the database refuses at its own write (its key taken by a request that committed first,
between its read and its write) fails alone, leaving no line or entry behind."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from integration.test_group_commit import World, no_problems, stored, together
from yibao.adapters.db import tables as t
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.service.ports import UnitOfWork as UnitOfWorkPort
from yibao.service.ports import now
from yibao.service.settlement import Bill, SettlementService


@pytest.fixture
def world(engine: Engine, policies: PolicyLoader) -> World:
    return World(engine, policies)


class KeyTakenMeanwhile(SettlementService):
    """A settlement service for which another request takes one bill's key, and commits,
    after the bill's counter read and just before its write."""

    def __init__(self, world: World, key: str) -> None:
        super().__init__(lambda: UnitOfWork(world.engine), world.policies)
        self.engine = world.engine
        self.key = key

    def settle_in(
        self, uow: UnitOfWorkPort, bill: Bill, idempotency_key: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        if idempotency_key == self.key:
            self.key = ""  # once
            write = uow.counter.bill_done

            def taken_then_written() -> None:
                delattr(uow.counter, "bill_done")  # the batch's next bills as they are
                self.take(bill.institution_id, idempotency_key)
                write()

            setattr(uow.counter, "bill_done", taken_then_written)  # noqa: B010
        return super().settle_in(uow, bill, idempotency_key)

    def take(self, caller: str, key: str) -> None:
        with self.engine.begin() as other:
            other.execute(
                insert(t.idempotency_keys).values(
                    caller=caller,
                    key=key,
                    request_hash="another request",
                    status_code=201,
                    response="{}",
                    created_at=now(),
                )
            )


def rows(engine: Engine) -> tuple[int, int, set[int]]:
    with engine.connect() as conn:
        lines = conn.execute(select(func.count()).select_from(t.settlement_lines)).scalar_one()
        entries = conn.execute(select(t.fund_ledger.c.settlement_id)).scalars().all()
    return int(lines), len(entries), set(entries)


def test_a_batchs_lines_and_ledger_are_stored_once_and_a_refused_write_fails_alone(
    world: World,
) -> None:
    if world.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes each row when it is made: nothing waits for the commit")
    victim = f"key-{world.cards[2]}"
    bills = [(world.bill(card, date(2026, 5, 3)), f"key-{card}") for card in world.cards[:6]]
    committer, futures = together(world, bills, KeyTakenMeanwhile(world, victim))

    assert committer.stats.largest == 6
    assert committer.stats.retried_alone == 1
    outcomes = [f.exception() or f.result()[0] for f in futures]
    assert outcomes[:2] == [201, 201]
    assert getattr(outcomes[2], "code", None) == "idempotency_key_reused"  # alone: the other's
    assert outcomes[3:] == [201, 201, 201]
    ids = stored(world.engine)
    assert len(ids) == 1 + 5  # the first bill alone, and the batch but the refused one
    lines, entries, paid = rows(world.engine)
    assert lines == len(ids)  # one line a bill, each once
    assert paid <= ids
    assert entries == len(paid)  # one layer paid a bill here: each entry once
    assert {view["id"] for f in futures if not f.exception() for view in [f.result()[1]]} <= paid
    no_problems(world)
