"""The HTTP layer's own CPU a settlement: everything between the socket and the group
committer, with the committer replaced by a thread that answers without a database.

    .venv/bin/python bench/http_layer.py [--seconds 10] [--delay-ms 100] [--clients 64]
                                         [--src OTHER/src] [--database URL]
                                         [--server uvicorn|granian] [--workers 2]
                                         [--in-process N] [--protocol N] [--http httptools|yibao]

Starts the real application (`yibao serve`'s uvicorn, 2 workers, the real token check,
body model, middlewares and response) on a database that bench/settle_http.py loaded
(default its yibao_bench; YIBAO_BENCH_DATABASE names another), with `group_commit`
replaced by `Answering`: a thread that answers every queued bill with a fixed settlement
view, a batch at a time after --delay-ms (100 ms: about the rate and the concurrency of
a real run on this machine; 0: as fast as the server can). `wrk` fires valid bills for
--seconds; the server's CPU (its processes, from /proc) divided by the requests is the
figure. --src runs another version's source (a `git archive` of it) the same way, for
a before/after in the same minute. Needs `wrk`.

--in-process N: no server and no sockets; the application alone (`create_app`, its
layers and the fast path) is called N times with a settlement's ASGI scope on uvloop, its
committer answering at once, and the event loop thread's CPU a request is printed: the
application's own part of the event loop's cost, steadier on a shared machine than the
server's. (--src works the same way.)

--protocol N: the same, from the raw request's bytes: uvicorn's HTTP protocol (--http
httptools, uvicorn's; yibao, api/protocol.py's, which answers a settlement without ASGI)
on a keep-alive connection over a transport in memory. --at-once: the committer answers
each bill in the submitting thread, so that one thread does everything (for valgrind
--tool=callgrind: run N=1000 and N=3000, the difference of the instruction counts / 2000
is a settlement's). --http also picks the protocol of the server the other mode starts.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ADMIN = os.environ.get(
    "YIBAO_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

# A settlement's answer of the usual size (about 1.5 kB of JSON).
VIEW: dict[str, Any] = {
    "id": 1,
    "status": "settled",
    "person_id": "P-000001",
    "institution_id": "H1-001",
    "kind": "outpatient",
    "date": "2026-03-02",
    "total": "125.00",
    "insured_pays": "40.00",
    "fund_owes_institution": "85.00",
    "explanation": [{"step": n, "text": "x" * 60, "amount": "12.30"} for n in range(8)],
    "lines": [{"code": "A-1", "quantity": "1", "unit_price": "30.00", "class": "A"}] * 3,
}


class Answering:
    """In place of the GroupCommitter: `submit` queues, a thread answers the whole queue
    after the delay, from outside the event loop as the committer does."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.future = future_maker()  # once: the source's (--src) modules are in place
        self._changed = threading.Condition()
        self._queue: list[Future[tuple[int, dict[str, Any]]]] = []
        threading.Thread(target=self._answer, daemon=True).start()

    def submit(self, _bill: object, _key: str | None = None) -> Future[tuple[int, dict[str, Any]]]:
        future = self.future()
        if self.delay < 0:  # answered at once, in the caller's thread: one thread to count
            future.set_result((201, VIEW))
            return future
        with self._changed:
            self._queue.append(future)
            self._changed.notify()
        return future

    def _answer(self) -> None:
        while True:
            with self._changed:
                while not self._queue:
                    self._changed.wait()
                batch, self._queue = self._queue, []
            if self.delay:
                time.sleep(self.delay)
            for future in batch:
                future.set_result((201, VIEW))


def running_future() -> Future[tuple[int, dict[str, Any]]]:
    """The committer's future before service/answer_future.py (--src of an older version)."""
    future: Future[tuple[int, dict[str, Any]]] = Future()
    future.set_running_or_notify_cancel()
    return future


def future_maker() -> Callable[[], Future[tuple[int, dict[str, Any]]]]:
    """How the committer of the source run makes its futures: its own AnswerFuture
    (service/answer_future.py) where it has one, else concurrent.futures', made running."""
    try:
        from yibao.service.answer_future import AnswerFuture
    except ImportError:
        return running_future
    return AnswerFuture


def app() -> Any:
    """The server's application factory (uvicorn imports this module in its workers)."""
    from yibao.bootstrap import engine_from, policy_source, services
    from yibao.entrypoints.api.app import create_app
    from yibao.service.services import Services
    from yibao.settings import Settings

    settings = Settings()
    real = services(engine_from(settings), policy_source(settings.policy_path), settings)
    delay = float(os.environ["YIBAO_BENCH_DELAY_MS"]) / 1000
    answering = Services(**{**real.__dict__, "group_commit": Answering(delay)})
    return create_app(answering, threads=settings.threads, settings=settings)


def fire(args: argparse.Namespace, url: str) -> tuple[int, int, float]:
    """Serve, warm both workers, fire; (requests, non-2xx, server CPU seconds)."""
    sys.path.insert(0, str(BENCH))
    from settle_http import cpu_seconds, population

    cards, tokens, items = population(url)
    paths = [p for p in (args.src, str(BENCH)) if p]
    env = {
        **os.environ,
        "YIBAO_DATABASE_URL": url,
        "YIBAO_BENCH_DELAY_MS": str(args.delay_ms),
        "PYTHONPATH": os.pathsep.join(paths),
    }
    if args.server == "granian":  # measured against uvicorn (docs/operations.md)
        granian = str(Path(sys.executable).parent / "granian")
        command = [
            granian, "--interface", "asgi", "--factory", "--port", str(args.port),
            "--workers", str(args.workers), "--loop", "uvloop", "--no-ws",
            "--log-level", "warning", "--no-access-log", "http_layer:app",
        ]  # fmt: skip
    else:
        run = (
            f"import uvicorn; uvicorn.run('http_layer:app', factory=True, port={args.port}, "
            f"workers={args.workers}, log_level='warning', access_log=False, "
            f"http={PROTOCOLS[args.http]!r})"
        )
        command = [sys.executable, "-c", run]
    server = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{args.port}"
    try:
        started = time.monotonic()
        while time.monotonic() - started < 120:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        code, price = items[0]
        body = (
            f'{{"card_number":"{cards[0]}","kind":"outpatient","date":"2026-03-02",'
            f'"diagnosis":"J06.9","lines":[{{"code":"{code}","quantity":"1",'
            f'"unit_price":"{price or "12.50"}"}}]}}'
        )
        script = Path(f"/tmp/yibao-http-layer-{os.getpid()}.lua")
        script.write_text(
            f'wrk.method = "POST"\nwrk.body = [[{body}]]\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {tokens[0]}"\n'
        )
        wrk = ["wrk", "-t2", f"-c{args.clients}", "-s", str(script), f"{base}/v1/settlements"]
        subprocess.run([*wrk, "-d3s"], capture_output=True, check=True)  # both workers warm
        before = cpu_seconds(server.pid)[0]
        out = subprocess.run(
            [*wrk, f"-d{int(args.seconds)}s"], capture_output=True, text=True, check=True
        ).stdout
        cpu = cpu_seconds(server.pid)[0] - before
    finally:
        server.terminate()
        server.wait(timeout=30)
    done = re.search(r"(\d+) requests in", out)
    assert done, out
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return int(done.group(1)), int(bad.group(1)) if bad else 0, cpu


def one_bill(url: str, at_once: bool) -> tuple[str, bytes]:
    """The in-process runs' one bill and its institution's token, from the loaded demo
    population; the application, made after this, reads the database and the committer's
    delay (`at_once`: answering in the same thread) from the environment set here."""
    sys.path.insert(0, str(BENCH))
    from settle_http import population

    os.environ["YIBAO_DATABASE_URL"] = url
    os.environ["YIBAO_BENCH_DELAY_MS"] = "-1" if at_once else "0"
    cards, tokens, items = population(url)
    code, price = items[0]
    body = (
        f'{{"card_number":"{cards[0]}","kind":"outpatient","date":"2026-03-02",'
        f'"diagnosis":"J06.9","lines":[{{"code":"{code}","quantity":"1",'
        f'"unit_price":"{price or "12.50"}"}}]}}'
    ).encode()
    return tokens[0], body


def in_process(url: str, requests: int, at_once: bool = False) -> float:
    """Microseconds of this thread's CPU a settlement through the application itself."""
    import asyncio

    import uvloop

    token, body = one_bill(url, at_once)
    application = app()
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"idempotency-key", b"in-process"),
        (b"content-length", str(len(body)).encode()),
    ]
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def one() -> None:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000),
            "scheme": "http", "method": "POST", "root_path": "", "path": "/v1/settlements",
            "raw_path": b"/v1/settlements", "query_string": b"", "headers": headers,
            "state": {},
        }  # fmt: skip
        await application(scope, receive, send)

    async def run() -> float:
        for _ in range(2000):  # the token cached, the stack built, the code warm
            await one()
        started = time.thread_time()
        for _ in range(requests):
            await one()
        return (time.thread_time() - started) / requests * 1e6

    spent = uvloop.run(run())
    assert set(statuses) == {201}, set(statuses)
    asyncio.set_event_loop(None)
    return spent


class Memory:
    """A transport that keeps what is written: the protocol's side of a connection, without
    a socket (the kernel's part is the same for every protocol)."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.writes = 0
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes += 1
        self.written.append(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        found = {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}
        return found.get(name, default)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


PROTOCOLS = {"httptools": "httptools", "yibao": "yibao.entrypoints.api.protocol:SettleProtocol"}


def through_protocol(
    url: str, requests: int, http: str, at_once: bool = False
) -> tuple[float, bytes, float]:
    """(microseconds of this thread's CPU a settlement, the last answer's bytes, socket
    writes a settlement): the raw request fed to uvicorn's HTTP protocol `http`
    (PROTOCOLS) on a keep-alive connection to a transport in memory, one request at a
    time, the application and its committer answering as in --in-process."""
    import asyncio

    import uvicorn
    import uvloop
    from uvicorn.server import ServerState

    token, body = one_bill(url, at_once)
    request = (
        b"POST /v1/settlements HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
        b"Content-Type: application/json\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\n"
        b"Idempotency-Key: in-process\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    config = uvicorn.Config(app(), http=PROTOCOLS[http], log_level="warning", access_log=False)
    config.load()
    state = ServerState()
    state.default_headers = [(b"date", b"Fri, 04 Dec 2026 21:00:00 GMT"), *config.encoded_headers]

    async def run() -> tuple[float, bytes, float]:
        loop = asyncio.get_running_loop()
        # uvicorn types the class as a bare asyncio.Protocol (no arguments: call-arg);
        # its HTTP protocols take (config, server_state, app_state).
        protocol: Any = config.http_protocol_class(config, state, {})  # type: ignore[call-arg]
        transport = Memory()
        protocol.connection_made(transport)
        answered: list[asyncio.Future[None]] = []
        complete = protocol.on_response_complete

        def completed() -> None:
            complete()
            answered[0].set_result(None)

        protocol.on_response_complete = completed

        async def one() -> None:
            answered[:] = [loop.create_future()]
            protocol.data_received(request)
            await answered[0]

        for _ in range(2000):  # the token cached, the stack built, the code warm
            await one()
        transport.written.clear()
        writes, started = transport.writes, time.thread_time()
        for _ in range(requests):
            await one()
        spent = (time.thread_time() - started) / requests * 1e6
        last = b"".join(transport.written[-(transport.writes - writes) // requests :])
        return spent, last, (transport.writes - writes) / requests

    found = uvloop.run(run())
    asyncio.set_event_loop(None)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--delay-ms", type=float, default=100)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--server", choices=("uvicorn", "granian"), default="uvicorn", help="The ASGI server."
    )
    parser.add_argument("--src", help="Another version's src/ (default: this checkout's).")
    parser.add_argument("--database", help="Default: bench/settle_http.py's database.")
    parser.add_argument(
        "--in-process", type=int, metavar="N", help="N settlements through the application."
    )
    parser.add_argument(
        "--protocol",
        type=int,
        metavar="N",
        help="N settlements through uvicorn's HTTP protocol (--http) and the application.",
    )
    parser.add_argument(
        "--at-once",
        action="store_true",
        help="--in-process, --protocol: the committer answers in the submitting thread (one "
        "thread: for valgrind --tool=callgrind's instruction counts).",
    )
    parser.add_argument(
        "--http",
        choices=tuple(PROTOCOLS),
        default="httptools",
        help="The HTTP protocol: uvicorn's httptools, or yibao's (protocol.py).",
    )
    args = parser.parse_args()
    from sqlalchemy.engine import make_url

    name = os.environ.get("YIBAO_BENCH_DATABASE", "yibao_bench")
    url = args.database or make_url(ADMIN).set(database=name).render_as_string(False)
    if args.protocol:
        if args.src:
            sys.path.insert(0, args.src)
        spent, answer, writes = through_protocol(url, args.protocol, args.http, args.at_once)
        print(answer.split(b"\r\n\r\n")[0].decode())
        print(
            f"{args.src or 'this checkout'} ({args.http}): {spent:.1f} us of the event loop's "
            f"thread a request, {writes:g} writes"
        )
        return
    if args.in_process:
        if args.src:  # the other version's modules in place of this checkout's
            sys.path.insert(0, args.src)
        spent = in_process(url, args.in_process, args.at_once)
        print(f"{args.src or 'this checkout'}: {spent:.1f} us of the event loop's thread a request")
        return
    requests, bad, cpu = fire(args, url)
    print(
        f"{args.src or 'this checkout'} ({args.server} {args.http}, {args.workers} workers): {requests:,} requests in {args.seconds:.0f} s "
        f"({requests / args.seconds:,.0f}/s, {bad} not 2xx), answers after {args.delay_ms:g} ms: "
        f"server CPU {cpu * 1000 / max(requests, 1):.3f} ms a request"
    )


if __name__ == "__main__":
    main()
