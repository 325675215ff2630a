"""YIBAO_LATENCY_LOG (entrypoints/api/latency.py): each settlement the fast path answers
is traced through the committer's queue and batch and back, and each server process
writes the parts when it stops; unset, nothing is traced."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import pytest

from integration.conftest import SigningClient
from integration.test_fast_path import bill, built
from integration.test_group_commit import World
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.api.latency import (
    BILLS,
    SEGMENTS,
    TOTAL,
    TimedUnitOfWork,
    quantile,
    read_summaries,
)
from yibao.service.group_commit import GroupCommitter
from yibao.service.services import Services
from yibao.settings import Settings


@pytest.fixture
def world(engine: Any, policies: Any) -> World:
    return World(engine, policies)


def grouped(world: World) -> tuple[Services, GroupCommitter]:
    services = built(world)
    committer = GroupCommitter(services.settlements, lambda: TimedUnitOfWork(world.engine))
    return Services(**{**services.__dict__, "group_commit": committer}), committer


def test_each_settlement_is_traced_and_written_when_the_server_stops(
    world: World, tmp_path: Path
) -> None:
    services, committer = grouped(world)
    app = create_app(services, settings=Settings(latency_log=tmp_path / "latency"))
    hospital = {"X-Institution": world.hospital}
    with SigningClient(app, services) as client:
        for n, card in enumerate(world.cards[:3]):
            answer = client.post(
                "/v1/settlements",
                json=bill(world, card),
                headers={**hospital, "Idempotency-Key": f"t{n}"},
            )
            assert answer.status_code == 201, answer.text
        refused = client.post("/v1/settlements", json=bill(world, "SC0000000000"), headers=hospital)
        assert refused.status_code == 422
        assert not (tmp_path / "latency").exists()  # written when the server stops, not before
    (summary,) = list(read_summaries(tmp_path / "latency"))
    assert committer.stats.bills == 4
    # The three settlements, each through every part; the refusal is not a settlement.
    every = (*SEGMENTS, *BILLS, TOTAL)
    assert {name: len(values) for name, values in summary["parts"].items()} == {
        name: 3 for name, _, _ in every
    }
    assert summary["batch"] == [1, 1, 1]  # one bill a batch: each waited for its answer
    parts = summary["parts"]
    for n in range(3):
        inside = sum(parts[name][n] for name, _, _ in SEGMENTS)
        assert inside == pytest.approx(parts[TOTAL[0]][n])  # the parts add up
        assert sum(parts[name][n] for name, _, _ in BILLS) <= parts["bills"][n]
        assert all(parts[name][n] >= 0 for name, _, _ in every)
    assert isinstance(summary["gc"], list)


def test_the_collectors_pauses_alone_are_written_when_the_server_stops(
    world: World, tmp_path: Path
) -> None:
    services, _ = grouped(world)
    app = create_app(services, settings=Settings(gc_log=tmp_path / "gc"))
    with SigningClient(app, services) as client:
        answer = client.post(
            "/v1/settlements", json=bill(world), headers={"X-Institution": world.hospital}
        )
        assert answer.status_code == 201, answer.text
        gc.collect()
    (summary,) = list(read_summaries(tmp_path / "gc", "gc"))
    assert [row[0] for row in summary["gc"]][-1:] == [2.0]  # the collection above
    assert not list(read_summaries(tmp_path / "gc"))  # no settlement traced


def test_a_timed_batch_is_freed_by_its_reference_counts(world: World) -> None:
    """Its counter's wrappers (open_many, flush) taken off at the end: no cycle through
    the counter left for the collector."""
    gc.disable()
    try:
        uow = TimedUnitOfWork(world.engine)
        with uow:
            counter = weakref.ref(uow.counter)
            assert "flush" in vars(uow.counter)  # wrapped while the batch runs
            uow.counter.flush()
        del uow
        assert counter() is None
    finally:
        gc.enable()


def test_nothing_is_traced_without_the_setting(world: World) -> None:
    services, _ = grouped(world)
    app = create_app(services, settings=Settings())
    with SigningClient(app, services) as client:
        answer = client.post(
            "/v1/settlements", json=bill(world), headers={"X-Institution": world.hospital}
        )
        assert answer.status_code == 201, answer.text
        fast_path = app.middleware_stack
        while fast_path is not None and type(fast_path).__name__ != "SettleFastPath":
            fast_path = getattr(fast_path, "app", None)
        assert fast_path is not None
        assert fast_path.recorder is None


def test_quantiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 1001)]
    assert [quantile(values, q) for q in (0.5, 0.99, 0.999, 1.0)] == [500, 990, 999, 1000]
    assert quantile([7.0], 0.999) == 7.0
    assert quantile([], 0.5) == 0.0
