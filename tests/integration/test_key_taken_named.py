"""A key taken meanwhile names its bill from what the database reports taken
(counter_pg_batch.py: the batch's answers are inserted plainly, not ON CONFLICT DO
NOTHING), whatever characters the key holds; a report that names none of the batch's
keys blames no bill, and the batch's bills settle one by one."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine

from integration.test_group_batch import KeyTakenBeforeTheWrite
from integration.test_group_commit import World, no_problems, stored, together
from yibao.adapters.db.counter_pg_batch import _taken
from yibao.bootstrap import PolicyLoader
from yibao.service.ports.records import NewAnswer


@pytest.fixture
def world(engine: Engine, policies: PolicyLoader) -> World:
    return World(engine, policies)


def test_a_key_with_commas_and_parentheses_taken_before_the_write_names_its_bill(
    world: World,
) -> None:
    if world.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes each answer when it is made: nothing waits for the commit")
    keys = [f"k, ({card}), x" for card in world.cards[:4]]
    bills = [
        (world.bill(card, date(2026, 5, 3)), key)
        for card, key in zip(world.cards[:4], keys, strict=True)
    ]
    committer, futures = together(world, bills, KeyTakenBeforeTheWrite(world, keys[2]))

    assert committer.stats.retried_alone == 1
    outcomes = [f.exception() or f.result()[0] for f in futures]
    assert getattr(outcomes[2], "code", None) == "idempotency_key_reused"  # the other's
    assert [outcomes[n] for n in (0, 1, 3)] == [201, 201, 201]
    assert len(stored(world.engine)) == 1 + 3
    no_problems(world)


def test_the_taken_key_is_the_one_the_report_names_exactly() -> None:
    answers = [NewAnswer("H1", "a, b", "h", 201, "{}"), NewAnswer("H1", "a", "h", 201, "{}")]
    detail = "Key (caller, key)=(H1, a, b) already exists."
    assert _taken(answers, detail) == {("H1", "a, b")}
    assert _taken(answers, "Schlüssel (caller, key)=(H1, a) existiert bereits.") == {("H1", "a")}
    assert _taken(answers, "") == frozenset()
