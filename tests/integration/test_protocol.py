"""POST /v1/settlements answered by the HTTP protocol itself (entrypoints/api/protocol.py):
byte for byte uvicorn's answer through the application, for a settlement and for every
refusal; and what uvicorn's protocol keeps for a connection (the order of pipelined
answers, connection: close, paused writing, a lost connection, the server's shutdown,
the access log, a trusted proxy's scheme, the latency recorder) kept.

Each test talks to the protocol over a transport in memory: the raw request bytes in,
the raw answer bytes out, the date header fixed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from uvicorn.server import ServerState

from integration.event_loops import run_apart
from integration.signing import SigningClient
from integration.test_group_commit import World
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Role
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.api.protocol import SettleProtocol
from yibao.entrypoints.cli_server import http_protocol, uvicorn_options
from yibao.service.group_commit import Answer, BatchStats, GroupCommitter
from yibao.service.services import Services
from yibao.settings import Settings

YIBAO = "yibao.entrypoints.api.protocol:SettleProtocol"
DATE = (b"date", b"Fri, 04 Dec 2026 21:00:00 GMT")


class Memory:
    """The protocol's transport: what is written, kept."""

    def __init__(self, peer: str = "127.0.0.1") -> None:
        self.data = bytearray()
        self.writes = 0
        self.closed = False
        self.peer = peer

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes += 1
        self.data += data

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        found = {"sockname": ("127.0.0.1", 8000), "peername": (self.peer, 50000)}
        return found.get(name, default)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class Wire:
    """One connection to a server of the given HTTP protocol class."""

    def __init__(self, app: Any, http: str, peer: str = "127.0.0.1", **options: Any) -> None:
        config = uvicorn.Config(app, http=http, **{"log_level": "warning", **options})
        config.load()
        self.state = ServerState()
        self.state.default_headers = [DATE, *config.encoded_headers]
        self.protocol: Any = config.http_protocol_class(  # type: ignore[call-arg]
            config, self.state, {}
        )
        self.transport = Memory(peer)
        self.protocol.connection_made(self.transport)

    def send(self, raw: bytes) -> None:
        self.protocol.data_received(raw)

    async def answers(self, count: int) -> list[bytes]:
        """The first `count` whole answers on the connection (waits for them)."""
        for _ in range(2000):
            found = split(bytes(self.transport.data))
            if len(found) >= count:
                return found[:count]
            await asyncio.sleep(0.005)
        raise AssertionError(f"{count} answers expected, got {split(bytes(self.transport.data))}")


def split(data: bytes) -> list[bytes]:
    """Whole answers, each with its headers and its Content-Length of body."""
    found = []
    while b"\r\n\r\n" in data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        fields = (line.partition(b": ") for line in lines)
        length = next(int(v) for n, _, v in fields if n == b"content-length")
        if len(rest) < length:
            break
        found.append(head + b"\r\n\r\n" + rest[:length])
        data = rest[length:]
    return found


def post(token: str | None, body: bytes, *, key: str | None = None, more: bytes = b"") -> bytes:
    """A raw POST /v1/settlements."""
    lines = [b"POST /v1/settlements HTTP/1.1", b"host: 127.0.0.1:8000"]
    lines.append(b"content-type: application/json")
    if token is not None:
        lines.append(b"authorization: " + token.encode())
    if key is not None:
        lines.append(b"idempotency-key: " + key.encode())
    lines.append(b"content-length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n" + more + b"\r\n" + body


def bill(world: World, card: str | None = None, **more: Any) -> bytes:
    return orjson.dumps(
        {
            "card_number": card or world.cards[0],
            "kind": "outpatient",
            "date": "2026-07-01",
            "lines": [{"code": world.code, "quantity": "1", "unit_price": "30.00"}],
            **more,
        }
    )


def grouped(world: World) -> Services:
    services = Services.build(lambda: UnitOfWork(world.engine), world.policies)
    committer = GroupCommitter(services.settlements, lambda: UnitOfWork(world.engine))
    return Services(**{**services.__dict__, "group_commit": committer})


def signed(services: Services, role: Role, subject: str) -> str:
    """An Authorization value for an account of the role (an institution need not be
    registered: integration/signing.py)."""
    return "Bearer " + SigningClient(None, services)._token(role, subject)


def requests(world: World, services: Services) -> list[tuple[str, bytes]]:
    """(what, raw request): one of each refusal, in the order the route checks them."""
    hospital = signed(services, Role.INSTITUTION, world.hospital)
    nowhere = signed(services, Role.INSTITUTION, "NOWHERE")
    clerk = signed(services, Role.CLERK, "all")
    ok = bill(world)
    return [
        ("no token", post(None, ok)),
        ("not bearer", post("Basic abc", ok)),
        ("unknown token", post("Bearer yb_nobody", ok)),
        ("long header", post("Bearer " + "x" * 300, ok)),
        ("a clerk", post(clerk, ok)),
        ("no body", post(hospital, b"")),
        ("not JSON", post(hospital, b"{card")),
        ("unknown field", post(hospital, bill(world, extra=1))),
        ("long key", post(hospital, ok, key="k" * 201)),
        ("unknown card", post(hospital, bill(world, "SC0000000000"))),
        ("not designated", post(nowhere, ok)),
        ("settled", post(hospital, ok, key="protocol-1")),  # the second time: its retry
    ]


def run(main: Callable[[], Awaitable[Any]]) -> Any:
    return run_apart(main)


async def warmed(wire: Wire) -> None:
    """The server's first request (or its lifespan) builds the application's stack."""
    wire.send(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
    await wire.answers(1)
    wire.transport.data.clear()


@pytest.fixture
def world(engine: Any, policies: Any) -> World:
    return World(engine, policies)


def test_every_answer_is_uvicorns_through_the_application_byte_for_byte(world: World) -> None:
    services = grouped(world)
    app = create_app(services)
    sent = requests(world, services)

    async def main() -> dict[str, tuple[list[bytes], list[int]]]:
        found = {}
        for http in ("httptools", YIBAO):  # httptools first: it settles the bill once
            wire = Wire(app, http)
            await warmed(wire)
            writes = []
            for count, (_what, raw) in enumerate(sent, start=1):
                before = wire.transport.writes
                wire.send(raw)
                await wire.answers(count)
                writes.append(wire.transport.writes - before)
            found[http] = (await wire.answers(len(sent)), writes)
        return found

    found = run(main)
    uvicorns, yibaos = found["httptools"][0], found[YIBAO][0]
    for (what, _), one, other in zip(sent, uvicorns, yibaos, strict=True):
        assert one == other, what
    statuses = [int(answer.split(b" ")[1]) for answer in yibaos]
    assert statuses == [401, 401, 401, 422, 403, 422, 422, 422, 422, 422, 422, 201]
    assert b"content-security-policy: " in yibaos[-1]
    # The settlement (its retry) answered by the protocol: one write; uvicorn's send two.
    assert found[YIBAO][1][-1] == 1
    assert found["httptools"][1] == [2] * len(sent)


def test_a_new_settlement_is_the_same_answer_as_through_the_application(world: World) -> None:
    """Two persons' first settlements, one each way: the same headers, the same fields."""
    services = grouped(world)
    app = create_app(services)
    token = signed(services, Role.INSTITUTION, world.hospital)

    async def main() -> list[bytes]:
        answers = []
        for http, card in (("httptools", world.cards[1]), (YIBAO, world.cards[2])):
            wire = Wire(app, http)
            await warmed(wire)
            wire.send(post(token, bill(world, card)))
            answers += await wire.answers(1)
        return answers

    one, other = run(main)
    head, _, body = one.partition(b"\r\n\r\n")
    head2, _, body2 = other.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201 Created\r\n")

    def kept(lines: bytes) -> list[bytes]:
        return [line for line in lines.split(b"\r\n") if not line.startswith(b"content-length")]

    assert kept(head) == kept(head2)
    assert sorted(orjson.loads(body)) == sorted(orjson.loads(body2))
    assert orjson.loads(body2)["status"] == "settled"


class Held:
    """A committer whose answers the test gives: each submitted bill's future, kept."""

    def __init__(self) -> None:
        self.futures: list[Future[Answer]] = []
        self.stats = BatchStats()  # for /healthz

    def submit(self, _bill: object, _key: str | None = None) -> Future[Answer]:
        future: Future[Answer] = Future()
        future.set_running_or_notify_cancel()
        self.futures.append(future)
        return future

    def answer(self, n: int, status: int = 201) -> None:
        self.futures[n].set_result((status, {"n": n}))


@pytest.fixture
def held(engine: Any, policies: Any) -> tuple[Any, Held, str]:
    """The application with a Held committer, and a token it knows in memory."""
    services = Services.build(lambda: UnitOfWork(engine), policies)
    committer = Held()
    services = Services(**{**services.__dict__, "group_commit": committer})
    token = signed(services, Role.INSTITUTION, "H1")
    services.access.authenticate(token.split()[1])  # in memory, as after its first request
    return create_app(services, settings=Settings()), committer, token


BODY = (
    b'{"card_number":"SC1","kind":"outpatient","date":"2026-07-01",'
    b'"lines":[{"code":"A-1","quantity":"1","unit_price":"30.00"}]}'
)


def answered(answer: bytes) -> Any:
    return orjson.loads(answer.partition(b"\r\n\r\n")[2])


async def until(check: Callable[[], bool]) -> None:
    for _ in range(2000):
        if check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("never")


def test_pipelined_requests_are_answered_in_order(held: tuple[Any, Held, str]) -> None:
    """Three requests in one packet: a settlement, the health check, a settlement. The
    second settlement is not even read before the answers before it are sent."""
    app, committer, token = held

    async def main() -> list[bytes]:
        wire = Wire(app, YIBAO)
        await warmed(wire)
        health = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"
        wire.send(post(token, BODY) + health + post(token, BODY, key="second"))
        await until(lambda: len(committer.futures) == 1)
        await asyncio.sleep(0.05)
        assert len(committer.futures) == 1  # the first unanswered: nothing else answered
        assert wire.transport.data == b""
        committer.answer(0)
        await until(lambda: len(committer.futures) == 2)  # its turn, after the health check
        assert len(split(bytes(wire.transport.data))) == 2
        committer.answer(1, status=200)
        return await wire.answers(3)

    first, health, second = run(main)
    assert answered(first) == {"n": 0}
    assert answered(health)["status"] == "ok"
    assert answered(second) == {"n": 1}
    assert second.startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_body_in_pieces_and_connection_close(held: tuple[Any, Held, str]) -> None:
    app, committer, token = held

    async def main() -> tuple[bytes, bool]:
        wire = Wire(app, YIBAO)
        await warmed(wire)
        raw = post(token, BODY, more=b"connection: close\r\n")
        wire.send(raw[:-30])
        await asyncio.sleep(0.02)
        assert committer.futures == []  # not before the whole body
        wire.send(raw[-30:])
        await until(lambda: len(committer.futures) == 1)
        committer.answer(0)
        return (await wire.answers(1))[0], wire.transport.closed

    answer, closed = run(main)
    assert b"\r\nconnection: close\r\n\r\n" in answer
    assert closed


def test_the_keep_alive_timeout_is_uvicorns(held: tuple[Any, Held, str]) -> None:
    """An idle keep-alive connection is closed timeout_keep_alive after its last answer,
    as uvicorn closes it; not while requests keep coming, nor while a settlement is
    under way longer than the timeout (the protocol arms its timer once an idle spell,
    not once a request)."""
    app, committer, token = held
    health = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"
    timeout = 0.3

    async def connection(http: str) -> float:
        """Seconds from the last answer to the close."""
        loop = asyncio.get_running_loop()
        wire = Wire(app, http, timeout_keep_alive=timeout)
        await warmed(wire)
        answers = 0
        for n in range(6):  # a request every 0.1 s, for longer than the timeout
            await asyncio.sleep(0.1)
            if n % 2:
                wire.send(health)
            else:
                wire.send(post(token, BODY))
                await until(lambda: len(committer.futures) > 0)
                committer.answer(len(committer.futures) - 1)
                committer.futures.clear()
            answers += 1
            await wire.answers(answers)
            assert not wire.transport.closed, (http, n)
        wire.send(post(token, BODY))  # under way for twice the timeout
        await until(lambda: len(committer.futures) == 1)
        await asyncio.sleep(2 * timeout)
        assert not wire.transport.closed, http
        committer.answer(0)
        committer.futures.clear()
        await wire.answers(answers + 1)
        answered = loop.time()
        await until(lambda: wire.transport.closed)
        return loop.time() - answered

    async def main() -> dict[str, float]:
        return {http: await connection(http) for http in ("httptools", YIBAO)}

    found = run(main)
    for http, idle in found.items():
        assert timeout - 0.02 <= idle < timeout + 1.5, (http, idle)


def test_a_settlements_scope_is_uvicorns(held: tuple[Any, Held, str]) -> None:
    """The scope the protocol makes for a settlement only when it needs it (the access
    log, a proxy's headers, the ASGI way) is the one uvicorn's protocol makes, key for
    key and in its order, for HTTP/1.1 and 1.0."""
    app, _committer, token = held

    async def scope(http: str, raw: bytes) -> list[tuple[str, Any]]:
        wire = Wire(app, http)
        await warmed(wire)
        seen: list[dict[str, Any]] = []
        protocol = wire.protocol
        if http == YIBAO:  # where it would hand the bill to the committer
            protocol._settle = lambda cycle: seen.append(protocol.scope_of(cycle))
        else:  # where uvicorn's would start the application
            protocol._start_asgi_task = lambda cycle, _app: seen.append(cycle.scope)
        wire.send(raw)
        assert len(seen) == 1, http
        return list(seen[0].items())

    async def main() -> dict[tuple[str, bytes], list[tuple[str, Any]]]:
        found = {}
        for version in (b"HTTP/1.1", b"HTTP/1.0"):
            raw = post(token, BODY, key="scope").replace(b"HTTP/1.1", version, 1)
            for http in ("httptools", YIBAO):
                found[http, version] = await scope(http, raw)
        return found

    found = run(main)
    for version in (b"HTTP/1.1", b"HTTP/1.0"):
        assert found["httptools", version] == found[YIBAO, version], version
    assert dict(found[YIBAO, b"HTTP/1.0"])["http_version"] == "1.0"


def test_http_1_0_is_answered_and_closed(held: tuple[Any, Held, str]) -> None:
    app, committer, token = held

    async def main() -> tuple[bytes, bool]:
        wire = Wire(app, YIBAO)
        await warmed(wire)
        wire.send(post(token, BODY).replace(b"HTTP/1.1", b"HTTP/1.0", 1))
        await until(lambda: len(committer.futures) == 1)
        committer.answer(0)
        return (await wire.answers(1))[0], wire.transport.closed

    answer, closed = run(main)
    assert answer.startswith(b"HTTP/1.1 201 Created\r\n")  # as uvicorn answers 1.0
    assert b"connection: close\r\n" in answer
    assert closed


def test_the_servers_shutdown_closes_after_the_answer(held: tuple[Any, Held, str]) -> None:
    app, committer, token = held

    async def main() -> tuple[bytes, bool, bool]:
        wire = Wire(app, YIBAO)
        await warmed(wire)
        wire.send(post(token, BODY))
        await until(lambda: len(committer.futures) == 1)
        wire.protocol.shutdown()
        open_meanwhile = not wire.transport.closed
        committer.answer(0)
        return (await wire.answers(1))[0], open_meanwhile, wire.transport.closed

    answer, open_meanwhile, closed = run(main)
    assert open_meanwhile
    assert closed
    assert b"connection: close\r\n" in answer


def test_paused_writing_holds_the_answer(held: tuple[Any, Held, str]) -> None:
    app, committer, token = held

    async def main() -> bytes:
        wire = Wire(app, YIBAO)
        await warmed(wire)
        wire.protocol.pause_writing()
        wire.send(post(token, BODY))
        await until(lambda: len(committer.futures) == 1)
        committer.answer(0)
        await asyncio.sleep(0.05)
        assert wire.transport.data == b""
        wire.protocol.resume_writing()
        return (await wire.answers(1))[0]

    assert answered(run(main)) == {"n": 0}


def test_a_lost_connection_is_not_written_to(held: tuple[Any, Held, str]) -> None:
    app, committer, token = held

    async def main() -> int:
        wire = Wire(app, YIBAO)
        await warmed(wire)
        wire.send(post(token, BODY))
        await until(lambda: len(committer.futures) == 1)
        writes = wire.transport.writes
        wire.protocol.connection_lost(None)
        committer.answer(0)  # settled all the same; nobody to tell
        await asyncio.sleep(0.05)
        return wire.transport.writes - writes

    assert run(main) == 0


def test_a_committers_error_is_the_applications_answer(held: tuple[Any, Held, str]) -> None:
    """A bug in the committer: ServerErrorMiddleware's 500, with the security headers, as
    through the application."""
    app, committer, token = held

    async def main() -> bytes:
        wire = Wire(app, YIBAO)
        await warmed(wire)
        wire.send(post(token, BODY))
        await until(lambda: len(committer.futures) == 1)
        committer.futures[0].set_exception(RuntimeError("a bug"))
        return (await wire.answers(1))[0]

    answer = run(main)
    assert answer.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert b"x-frame-options: DENY\r\n" in answer
    assert answered(answer)["code"] == "internal_error"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_access_log_line_is_uvicorns(held: tuple[Any, Held, str]) -> None:
    app, committer, token = held

    async def main(http: str) -> list[str]:
        wire = Wire(app, http, peer="10.0.0.7", log_level="info")  # configures the logging
        assert wire.protocol.access_log  # uvicorn's: its logger has a handler
        lines = Lines()
        logger = logging.getLogger("uvicorn.access")
        logger.addHandler(lines)
        try:
            await warmed(wire)
            wire.send(post(token, BODY))
            await until(lambda: len(committer.futures) == 1)
            committer.answer(0)
            await wire.answers(1)
        finally:
            logger.removeHandler(lines)
        committer.futures.clear()
        return lines.lines

    theirs = run(lambda: main("httptools"))
    mine = run(lambda: main(YIBAO))
    assert mine == theirs
    assert mine[-1] == '10.0.0.7:50000 - "POST /v1/settlements HTTP/1.1" 201'


def test_a_trusted_proxys_https_is_the_applications(held: tuple[Any, Held, str]) -> None:
    """X-Forwarded-Proto: https from a trusted proxy: HSTS, as the application answers;
    from anyone else, ignored, as the application ignores it."""
    app, committer, token = held
    forwarded = b"x-forwarded-proto: https\r\nx-forwarded-for: 203.0.113.9\r\n"

    async def main(http: str, peer: str) -> bytes:
        wire = Wire(app, http, peer=peer)
        await warmed(wire)
        wire.send(post(token, BODY, more=forwarded))
        await until(lambda: len(committer.futures) == 1)
        committer.answer(0)
        answer = (await wire.answers(1))[0]
        committer.futures.clear()
        return answer

    for peer, hsts in (("127.0.0.1", True), ("10.0.0.7", False)):
        mine = run(lambda peer=peer: main(YIBAO, peer))  # type: ignore[misc]
        theirs = run(lambda peer=peer: main("httptools", peer))  # type: ignore[misc]
        assert mine == theirs
        assert (b"strict-transport-security: " in mine) is hsts


async def settled_first(wire: Wire, committer: Held, token: str) -> bytes:
    """The connection's first settlement sent, answered by the committer, and its answer."""
    wire.send(post(token, BODY))
    await until(lambda: len(committer.futures) == 1)
    committer.answer(0)
    return (await wire.answers(1))[0]


def test_a_token_not_in_memory_and_a_large_body_go_the_asgi_way(
    held: tuple[Any, Held, str], engine: Any, policies: Any
) -> None:
    """The application asks the database for a token it has not seen lately (and answers
    the settlement); a body above uvicorn's 64 kB of reading goes to BodyLimit."""
    app, committer, token = held
    services = app.state.services
    fresh = signed(services, Role.INSTITUTION, "H2")

    async def main() -> list[bytes]:
        wire = Wire(app, YIBAO)
        await warmed(wire)
        first = await settled_first(wire, committer, fresh)
        writes = wire.transport.writes
        large = b" " * 70_000 + BODY
        wire.send(post(token, large))
        await until(lambda: len(committer.futures) == 2)
        committer.answer(1)
        answers = await wire.answers(2)
        assert wire.transport.writes - writes == 2  # uvicorn's two sends
        return [first, answers[1]]

    first, large = run(main)
    assert answered(first) == {"n": 0}
    assert answered(large) == {"n": 1}


def test_a_token_revoked_on_an_open_connection_is_refused(held: tuple[Any, Held, str]) -> None:
    """The connection keeps its Authorization's token read, not the caller: a token
    revoked between two requests on it is refused at the second, by the application."""
    app, committer, token = held
    services = app.state.services

    async def main() -> list[bytes]:
        wire = Wire(app, YIBAO)
        await warmed(wire)
        await settled_first(wire, committer, token)
        services.access.revoke_token(token.split()[1])
        wire.send(post(token, BODY))
        return await wire.answers(2)

    first, second = run(main)
    assert answered(first) == {"n": 0}
    assert second.startswith(b"HTTP/1.1 401 ")
    assert len(committer.futures) == 1


def test_the_latency_recorder_has_each_settlement(
    engine: Any, policies: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YIBAO_LATENCY_LOG", str(tmp_path))
    services = Services.build(lambda: UnitOfWork(engine), policies)
    committer = Held()
    services = Services(**{**services.__dict__, "group_commit": committer})
    token = signed(services, Role.INSTITUTION, "H1")
    services.access.authenticate(token.split()[1])
    app = create_app(services, settings=Settings())

    async def main() -> Any:
        wire = Wire(app, YIBAO)
        await warmed(wire)
        wire.send(post(token, BODY))
        await until(lambda: len(committer.futures) == 1)
        committer.answer(0)
        await wire.answers(1)
        front = app.settle_front  # type: ignore[attr-defined]
        return front.recorder.summary()

    summary = run(main)
    assert len(summary["arrived"]) == 1  # the recorder keeps its stamps, not the trace
    parts = summary["parts"]
    for name in ("auth+body", "to loop", "in server"):
        assert parts[name][0] >= 0, name


def test_the_class_is_uvicorns_option() -> None:
    config = uvicorn.Config("yibao.entrypoints.api.main:app_from_env", http=YIBAO)
    assert uvicorn.config.import_from_string(YIBAO) is SettleProtocol
    assert config.http == YIBAO


def test_the_protocol_is_used_only_under_a_tested_uvicorn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The installed release is one of the tested ones (pyproject pins it): serve uses it.
    assert http_protocol() == YIBAO
    assert http_protocol("0.55.3") == YIBAO
    # Another release may have changed the internals SettleProtocol relies on: uvicorn's own.
    with caplog.at_level("WARNING", logger="yibao.serve"):
        assert http_protocol("0.56.0") == "httptools"
    assert "uvicorn 0.56.0 is not one the settlement protocol was tested with" in caplog.text
    assert uvicorn_options("127.0.0.1", 8000)["http"] == YIBAO
