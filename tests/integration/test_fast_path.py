"""POST /v1/settlements is answered in front of the router (entrypoints/api/fast_path.py):
every answer — the settlement, each refusal, the security headers — is the one the
router's route gives, and the committer's answers reach the event loop whole, a batch
at a time, whoever gave up waiting."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from integration.auth import institution
from integration.conftest import SigningClient
from integration.event_loops import run_apart
from integration.test_group_commit import World
from yibao.adapters.db.uow import UnitOfWork
from yibao.entrypoints.api import fast_path
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.api.errors import DEFAULT_LIMIT
from yibao.entrypoints.api.fast_path import SettleFastPath, Wakeups
from yibao.service.group_commit import Answer, GroupCommitter
from yibao.service.services import Services


def without_fast_path(services: Services) -> Any:
    """The application as it was: settlements through the router's route."""
    app = create_app(services)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not SettleFastPath]
    return app


def bill(world: World, card: str | None = None, **more: Any) -> dict[str, Any]:
    return {
        "card_number": card or world.cards[0],
        "kind": "outpatient",
        "date": "2026-07-01",
        "lines": [{"code": world.code, "quantity": "1", "unit_price": "30.00"}],
        **more,
    }


def requests(world: World) -> list[tuple[str, dict[str, str], bytes]]:
    """(what, headers, body): one of each refusal, in the order the route checks them."""
    ok = bill(world)
    hospital = {"X-Institution": world.hospital}
    body = orjson.dumps(ok)
    return [
        ("no token", {"X-Test-As": "anonymous"}, body),
        ("not bearer", {"Authorization": "Basic abc"}, body),
        ("unknown token", {"Authorization": "Bearer yb_nobody"}, body),
        ("long header", {"Authorization": "Bearer " + "x" * 300}, body),
        ("a clerk", {"X-Test-As": "clerk"}, body),
        ("no body", hospital, b""),
        ("not JSON", hospital, b"{card"),
        ("unknown field", hospital, orjson.dumps({**ok, "extra": 1})),
        ("long key", {**hospital, "Idempotency-Key": "k" * 201}, body),
        ("unknown card", hospital, orjson.dumps(bill(world, "SC0000000000"))),
        ("not designated", {"X-Institution": "NOWHERE"}, body),
    ]


def signing(app: Any, services: Services, tokens: dict[tuple[str, str], str]) -> SigningClient:
    """A client; the tokens shared with another client of the same database (each account
    is made once)."""
    client = SigningClient(app, services)
    client._tokens = tokens
    return client


def answers(client: SigningClient, world: World) -> list[tuple[int, Any, dict[str, str]]]:
    found = []
    with client:
        for _what, headers, body in requests(world):
            answer = client.post("/v1/settlements", content=body, headers=headers)
            kept = {k: v for k, v in answer.headers.items() if k != "date"}
            found.append((answer.status_code, answer.json(), kept))
    return found


@pytest.fixture
def world(engine: Any, policies: Any) -> World:
    return World(engine, policies)


def built(world: World) -> Services:
    return Services.build(lambda: UnitOfWork(world.engine), world.policies)


def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many settlements the fast path answered (its call of `settled`)."""
    calls: list[int] = []
    real = fast_path.settled

    async def settled(*args: Any, **kwargs: Any) -> Answer:
        calls.append(1)
        return await real(*args, **kwargs)

    monkeypatch.setattr(fast_path, "settled", settled)
    return calls


def test_every_refusal_is_the_routes_answer(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    services = built(world)
    calls = counted(monkeypatch)
    tokens: dict[tuple[str, str], str] = {}
    fast = answers(signing(create_app(services), services, tokens), world)
    passed = len(calls)
    routed = answers(signing(without_fast_path(services), services, tokens), world)
    assert len(calls) == passed  # the router's route answered the second time
    assert passed >= 5  # the fast path answered: those that got past the caller's checks
    for what, one, other in zip(requests(world), fast, routed, strict=True):
        assert one == other, what[0]
    statuses = [status for status, _, _ in fast]
    assert statuses == [401, 401, 401, 422, 403, 422, 422, 422, 422, 422, 422]
    assert all("content-security-policy" in headers for _, _, headers in fast)


@pytest.mark.parametrize("grouped", [False, True], ids=["alone", "group-commit"])
def test_a_settlement_and_its_retry_through_the_router_are_one(
    world: World, grouped: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = built(world)
    if grouped:
        committer = GroupCommitter(services.settlements, lambda: UnitOfWork(world.engine))
        services = Services(**{**services.__dict__, "group_commit": committer})
    calls = counted(monkeypatch)
    signed = {"X-Institution": world.hospital, "Idempotency-Key": "fast-1"}
    tokens: dict[tuple[str, str], str] = {}
    with signing(create_app(services), services, tokens) as client:
        first = client.post("/v1/settlements", json=bill(world), headers=signed)
    with signing(without_fast_path(services), services, tokens) as client:
        retried = client.post("/v1/settlements", json=bill(world), headers=signed)
    assert calls == [1]
    assert first.status_code == 201, first.text
    assert first.headers["content-type"] == "application/json"
    assert first.headers["x-frame-options"] == "DENY"
    assert retried.status_code == first.status_code
    assert retried.json() == first.json()


def test_answers_of_a_batch_wake_the_loop_once_and_reach_every_waiter() -> None:
    futures: list[Future[Answer]] = [Future() for _ in range(10)]
    for future in futures:
        future.set_running_or_notify_cancel()
    failed = RuntimeError("the batch failed")

    async def main() -> tuple[list[Any], int]:
        loop = asyncio.get_running_loop()
        wakes = 0
        real = loop.call_soon_threadsafe

        def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal wakes
            wakes += 1
            return real(*args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        wakeups = Wakeups(loop)
        waiters = [wakeups.wait(future) for future in futures]
        waiters[3].cancel()  # a caller that gave up

        def answer_all() -> None:  # the committer, answering a whole batch
            for n, future in enumerate(futures):
                if n == 7:
                    future.set_exception(failed)
                else:
                    future.set_result((201, {"n": n}))

        # The loop is busy (this coroutine does not yield) while the batch is answered.
        answering = threading.Thread(target=answer_all)
        answering.start()
        answering.join()
        results = await asyncio.gather(*waiters, return_exceptions=True)
        return results, wakes

    results, wakes = run_apart(main)
    assert wakes == 1
    for n, result in enumerate(results):
        if n == 3:
            assert isinstance(result, asyncio.CancelledError)
        elif n == 7:
            assert result is failed
        else:
            assert result == (201, {"n": n})


def test_a_future_already_answered_is_delivered() -> None:
    future: Future[Answer] = Future()
    future.set_result((200, {"replayed": True}))

    async def main() -> Answer:
        return await Wakeups(asyncio.get_running_loop()).wait(future)

    assert run_apart(main) == (200, {"replayed": True})


def test_other_paths_and_methods_pass_through(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = built(world)
    calls = counted(monkeypatch)
    hospital = {"X-Institution": world.hospital}
    with SigningClient(create_app(services), services) as client:
        assert client.get("/v1/settlements").status_code == 405
        slash = client.post(
            "/v1/settlements/", json=bill(world), headers=hospital, follow_redirects=False
        )
        assert slash.status_code == 307  # the router's redirect, to the path without "/"
        assert client.post("/v1/quotes", json=bill(world), headers=hospital).status_code == 200
    assert calls == []


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (RuntimeError("a bug"), 500, "internal_error"),
        (OperationalError("SELECT 1", {}, Exception("the server closed")), 503, "unavailable"),
    ],
)
def test_an_error_of_the_fast_path_is_the_applications_answer(
    world: World, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int, code: str
) -> None:
    """A bug is the 500 of ServerErrorMiddleware, a database that does not answer the 503
    of its handler: each with the security headers, none with a traceback."""

    async def failing(*_args: Any, **_kwargs: Any) -> Answer:
        raise error

    monkeypatch.setattr(fast_path, "settled", failing)
    services = built(world)
    signed = institution(services, world.hospital)
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        answer = client.post("/v1/settlements", json=bill(world), headers=signed)
    assert answer.status_code == status
    assert answer.json()["code"] == code
    assert answer.headers["x-frame-options"] == "DENY"
    assert "Traceback" not in answer.text


def through_the_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every settlement the whole way round (the fast path as a layer of the stack)."""

    async def declined(*_args: Any) -> bool:
        return False

    monkeypatch.setattr(SettleFastPath, "front", declined)


def fronted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many settlements the front door answered."""
    calls: list[int] = []
    real = SettleFastPath.front

    async def front(self: SettleFastPath, *args: Any) -> bool:
        taken = await real(self, *args)
        calls.append(int(taken))
        return taken

    monkeypatch.setattr(SettleFastPath, "front", front)
    return calls


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_front_door_answers_as_the_stack(
    world: World, monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    """Each refusal, and a settlement, answered in front of the application: the same
    status, body and headers (security headers, HSTS over https) as through its layers."""
    services = built(world)
    tokens: dict[tuple[str, str], str] = {}

    def both(prefix: str) -> list[tuple[int, Any, dict[str, str]]]:
        client = signing(create_app(services), services, tokens)
        client.base_url = client.base_url.copy_with(scheme=scheme)
        found = answers(client, world)
        signed = {"X-Institution": world.hospital, "Idempotency-Key": f"{prefix}-1"}
        with client:
            settled = client.post("/v1/settlements", json=bill(world), headers=signed)
        # A second settlement of the person: the same fields, its own figures.
        fields = sorted(settled.json())
        kept = {k: v for k, v in settled.headers.items() if k not in ("date", "content-length")}
        return [*found, (settled.status_code, fields, kept)]

    with monkeypatch.context() as patched:
        calls = fronted(patched)
        front = both("front")
    assert sum(calls) >= len(requests(world))  # every one answered in front
    with monkeypatch.context() as patched:
        through_the_stack(patched)
        stacked = both("stack")
    assert front == stacked
    assert front[-1][0] == 201
    hsts = [("strict-transport-security" in headers) for _, _, headers in front]
    assert hsts == [scheme == "https"] * len(front)


def test_a_body_without_a_length_or_above_the_limit_goes_the_whole_way(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BodyLimit refuses a declared length above the limit before the body is read, and
    counts a body without one: the front door leaves both to it."""
    services = built(world)
    calls = fronted(monkeypatch)
    with SigningClient(create_app(services), services) as client:
        hospital = {"X-Institution": world.hospital}
        large = client.post(
            "/v1/settlements",
            content=b" " * (DEFAULT_LIMIT + 1),
            headers={**hospital, "Content-Type": "application/json"},
        )
        chunked = client.post(
            "/v1/settlements",
            content=iter([orjson.dumps(bill(world))]),
            headers={**hospital, "Content-Type": "application/json"},
        )
    assert large.status_code == 413
    assert large.json()["code"] == "body_too_large"
    assert large.headers["x-frame-options"] == "DENY"
    assert chunked.status_code == 201, chunked.text
    assert calls == [0, 0]  # both declined by the front door, answered by the stack
