"""A batch's settlements are written with their explanations beside their rows (one
text[] parameter sent in binary, counter_pg_batch.py): each settlement's row holds its
own explanation, byte for byte what its answer was made of, and verify finds nothing."""

from __future__ import annotations

from datetime import date

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from integration.test_group_commit import World, no_problems, together
from yibao.adapters.db import tables as t
from yibao.bootstrap import PolicyLoader
from yibao.domain.explain import read_steps


@pytest.fixture
def world(engine: Engine, policies: PolicyLoader) -> World:
    return World(engine, policies)


def test_each_settlement_of_a_batch_holds_its_own_explanation(world: World) -> None:
    bills = [
        (world.bill(card, date(2026, 4, 1 + n), f"{40 + 977 * n}.{n:02d}"), f"e-{n}")
        for n, card in enumerate(world.cards[:12])
    ]
    committer, futures = together(world, bills)

    assert committer.stats.largest == 12
    answers = [f.result()[1] for f in futures]
    assert len({orjson.dumps(a["explanation"]) for a in answers}) > 1  # not all alike
    with world.engine.connect() as conn:
        kept = dict(
            conn.execute(
                select(t.settlements.c.id, t.settlements.c.explanation).where(
                    t.settlements.c.id.in_([a["id"] for a in answers])
                )
            ).all()
        )
    for answer in answers:
        stored = kept[answer["id"]]
        assert read_steps(orjson.loads(stored)) == answer["explanation"]
        assert orjson.dumps(orjson.loads(stored)).decode() == stored  # as orjson wrote it
    no_problems(world)
