"""The interpreter's settings of a server process (entrypoints/api/runtime.py) and their
validation: what start-up made is frozen out of the collector's walks, the thresholds and
the lock's interval are the settings'."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from yibao.entrypoints.api.runtime import tune_runtime
from yibao.settings import Settings


@pytest.fixture
def restored() -> Iterator[None]:
    """The test process's collector and interval as they were."""
    threshold, interval = gc.get_threshold(), sys.getswitchinterval()
    yield
    gc.enable()
    gc.unfreeze()
    gc.set_threshold(*threshold)
    sys.setswitchinterval(interval)


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_start_up_is_frozen_and_its_garbage_collected_first(restored: None) -> None:
    gc.unfreeze()
    gc.disable()  # no collection but tune_runtime's own
    settings = Settings(gc_young=5000, switch_interval_ms=0.5)
    kept = [object() for _ in range(10)]  # alive: frozen
    garbage = weakref.ref(Cycle())  # unreachable garbage of start-up: not kept for ever
    tune_runtime(settings)
    assert gc.get_freeze_count() > len(kept)
    assert garbage() is None
    assert gc.get_threshold()[0] == 5000
    assert sys.getswitchinterval() == pytest.approx(0.0005)


def test_freezing_can_be_turned_off(restored: None) -> None:
    gc.unfreeze()
    tune_runtime(Settings(gc_freeze=False))
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold()[0] == Settings().gc_young


@pytest.mark.parametrize(
    "bad",
    [{"gc_young": 0}, {"gc_young": 99}, {"switch_interval_ms": 0}, {"switch_interval_ms": 500}],
)
def test_settings_out_of_bounds_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        Settings(**bad)  # type: ignore[arg-type]


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAO_GC_YOUNG", "20000")
    monkeypatch.setenv("YIBAO_GC_FREEZE", "false")
    monkeypatch.setenv("YIBAO_SWITCH_INTERVAL_MS", "1")
    monkeypatch.setenv("YIBAO_LATENCY_LOG", "/tmp/where")
    found = Settings()
    assert (found.gc_young, found.gc_freeze, found.switch_interval_ms) == (20000, False, 1.0)
    assert str(found.latency_log) == "/tmp/where"


def _app_with_routes() -> FastAPI:
    class Body(BaseModel):
        name: str
        amount: int

    router = APIRouter(prefix="/v1")
    for n in range(40):

        async def handler(body: Body, n: int = n) -> dict[str, int]:
            return {"n": n, "amount": body.amount}

        router.add_api_route(f"/things{n}/{{what}}", handler, methods=["POST"])
    app = FastAPI()
    app.include_router(router)
    return app


def _made_by_the_first_request(app: FastAPI) -> int:
    """Objects a first request through every router makes, beyond what a second makes."""
    with TestClient(app) as client:
        made = []
        for _ in range(2):
            before = len(gc.get_objects())
            assert client.get("/nowhere").status_code == 404  # looked through every route
            made.append(len(gc.get_objects()) - before)
    return made[0] - made[1]


def test_the_routes_are_built_before_the_freeze(restored: None) -> None:
    """What FastAPI builds of the routes at the first request is built by tune_runtime,
    and frozen with start-up, not made while the process serves."""
    gc.unfreeze()
    gc.disable()  # no collection to move objects while counting
    cold = _made_by_the_first_request(_app_with_routes())
    app = _app_with_routes()
    tune_runtime(Settings(), app)
    warmed = _made_by_the_first_request(app)
    assert cold > 40 * 5  # the forty routes' contexts, models: made then
    assert warmed < cold / 10
