"""PgBatchCounter keeps what its batch read by the bill's keys' id() (open_many), and
open() finds it by the very keys it was given, or else by equal keys made anew: either
way the bill gets its own facts and settlement id, in the batch's order."""

from __future__ import annotations

from typing import Any

from yibao.adapters.db.counter_pg_batch import PgBatchCounter
from yibao.service.ports.records import BillKeys, CounterFacts


def _keys(card: str) -> BillKeys:
    return BillKeys("H001", 2026, ("A001",), card, None, "H001", f"key-{card}")


def _counter(*read: tuple[BillKeys, int]) -> PgBatchCounter:
    counter = PgBatchCounter(conn=None)  # type: ignore[arg-type]  # no read: as open_many left it
    facts: Any = object()
    for bill, sid in read:
        counter._read.setdefault(id(bill), []).append((bill, facts, sid, False))
    counter.batched = True
    return counter


def _opened(counter: PgBatchCounter, bill: BillKeys) -> int | None:
    facts: CounterFacts = counter.open(bill)
    assert facts is not None
    return counter._next_id


def test_the_same_keys_and_equal_keys_find_their_facts() -> None:
    first, second, twice = _keys("C1"), _keys("C2"), _keys("C3")
    counter = _counter((first, 11), (second, 12), (twice, 13), (twice, 14))
    assert _opened(counter, second) == 12
    assert _opened(counter, _keys("C1")) == 11  # equal, not the same object
    assert _opened(counter, twice) == 13  # the same keys twice: in the batch's order
    assert _opened(counter, twice) == 14
