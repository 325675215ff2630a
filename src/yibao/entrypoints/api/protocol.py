"""POST /v1/settlements answered by the server's HTTP protocol itself, without ASGI.

Through ASGI a settlement costs the event loop, before the application sees it, uvicorn's
own machinery: a RequestResponseCycle with its asyncio.Event, a task, the coroutines of
the application's call, `receive` and two `send`s (each header checked against two
regular expressions), two writes to the socket. For a settlement the work is a token
looked up in memory, a bill parsed, a bill handed to the group committer, and one answer
of fixed headers written when the committer has committed.

`SettleProtocol` is uvicorn's httptools protocol (`http=` of uvicorn's Config, the
`yibao serve` option) that does that work itself for a complete POST /v1/settlements: the
whole body arrived, a Content-Length within the path's limit, a token the server knows in
memory of an institution, a bill that parses. The committer's answer comes back through
the fast path's `Wakeups` (one wake of the loop for a batch's answers) straight to a
callback that writes the whole answer in one write: uvicorn's status line, its default
headers (date, server, as configured), and the headers and body the fast path's front
door sends (fast_path.py). Every other request, every request it is not sure of, and
every refusal goes the ASGI way exactly as before: a request refused before the
committer is handed to the application as uvicorn would have handed it (the application
then checks it again, and refuses it in the same words); an error the committer answers
is answered by the fast path's `refuse`, in a cycle of uvicorn's own.

What uvicorn's protocol does for a request is kept: answers in the order of the requests
on a connection (a pipelined request waits in uvicorn's queue, and its turn comes through
`_start_asgi_task`), `connection: close` and the close when the request or the server's
shutdown asks it, the answer held while the transport has paused writing, the access log
line when it is on, the latency recorder (YIBAO_LATENCY_LOG), the keep-alive timeout (a
timer armed once an idle spell rather than once a request). What it can keep for a
connection it keeps (its loop's Wakeups, the token of its Authorization value), and a
settlement's ASGI scope is made only when something needs it (the access log, a trusted
proxy's headers, the ASGI way): uvicorn's per-request dict of ten keys, made later. Where uvicorn's own
machinery would differ (a concurrency limit, 100-continue, an upgrade, a root path, an
application wrapped in more than the proxy-headers middleware), every request goes the
ASGI way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any

import orjson
from uvicorn.config import Config
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string
from uvicorn.server import ServerState

from yibao.domain.access import Role
from yibao.entrypoints.api.app import Yibao
from yibao.entrypoints.api.deps import AUTHORIZATION_MAX
from yibao.entrypoints.api.fast_path import (
    HTTP_HEADERS,
    HTTPS_HEADERS,
    PATH,
    SettleFastPath,
    Wakeups,
)
from yibao.entrypoints.api.latency import Trace
from yibao.entrypoints.api.routers.settlements import bill_of
from yibao.service.access import token_hash
from yibao.service.group_commit import Answer

RAW_PATH = PATH.encode()
FORWARDED = (b"x-forwarded-proto", b"x-forwarded-for")


def _tail(https: bool, keep_alive: bool) -> bytes:
    """The answer's headers after its Content-Length, as uvicorn writes what the front
    door sends (fast_path.py: Content-Type, then the security headers), and the blank line."""
    lines = [b"content-type: application/json\r\n"]
    lines += [
        name + b": " + value + b"\r\n" for name, value in (HTTPS_HEADERS if https else HTTP_HEADERS)
    ]
    if not keep_alive:
        lines.append(b"connection: close\r\n")
    return b"".join(lines) + b"\r\n"


TAILS = {(https, alive): _tail(https, alive) for https in (False, True) for alive in (False, True)}


class _NoEvent:
    """uvicorn's protocol sets its cycle's message_event on a body and a lost connection:
    no coroutine waits for a settlement's body here."""

    def set(self) -> None:
        pass


NO_EVENT = _NoEvent()


class Settling:
    """A settlement the protocol answers itself, while it is read and answered: in place
    of uvicorn's RequestResponseCycle, what uvicorn's protocol reads and sets of that
    (body, more_body, response_complete, disconnected, keep_alive, message_event)."""

    __slots__ = (
        "authorization",
        "body",
        "disconnected",
        "forwarded",
        "front",
        "headers",
        "http_version",
        "keep_alive",
        "key",
        "message_event",
        "more_body",
        "response_complete",
        "scope",
        "turn",
        "view",
    )

    def __init__(
        self,
        front: SettleFastPath,
        http_version: str,
        keep_alive: bool,
        headers: list[tuple[bytes, bytes]],
        found: tuple[bytes | None, bytes | None, bool],
    ) -> None:
        self.front = front
        self.http_version = http_version
        self.keep_alive = keep_alive
        self.headers = headers
        self.authorization, self.key, self.forwarded = found
        self.body = bytearray()
        self.more_body = True  # until the whole body arrived
        self.turn = False  # its turn on the connection: every answer before it sent
        self.response_complete = False
        self.disconnected = False
        self.message_event = NO_EVENT
        # The request's ASGI scope, made only if something needs it (SettleProtocol.scope_of):
        # the access log, a trusted proxy's headers, the ASGI way.
        self.scope: dict[str, Any] | None = None
        self.view: dict[str, Any] | None = None  # as the application sees it, if not the scope


class SettleProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.yibao, proxy = application(self.app)
        self.proxied = None if proxy is None else Proxied(proxy)
        self._defaults_of: list[tuple[bytes, bytes]] | None = None
        self._defaults = b""
        # Per connection, not per request: the loop's Wakeups (fast_path.py), and the
        # token of the Authorization value last seen (a client sends the same each time).
        self._wakeups: Wakeups | None = None
        self._authorization: tuple[bytes | None, str | None] = (None, None)  # value, key
        # The keep-alive timer (`_keep_alive_due`): when the connection fell idle, or None
        # while a request is under way.
        self._idle_since: float | None = None
        self._fast: SettleFastPath | None = None  # _front_of_connection, once found

    # --- reading: uvicorn's parser callbacks -------------------------------------------

    def on_message_begin(self) -> None:
        """uvicorn's, but the request's scope is made once the request is known
        (`_uvicorns_scope`): a settlement answered here makes it only if it needs it."""
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        self.scope = None  # type: ignore[assignment]  # uvicorn reads it from the headers' end

    def _uvicorns_scope(self, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
        """The scope uvicorn's on_message_begin makes (0.55), key for key."""
        return {
            "type": "http",
            "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
            "http_version": "1.1",
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,
            "root_path": self.root_path,
            "headers": headers,
            "state": self.app_state.copy(),
        }

    def on_headers_complete(self) -> None:
        front = self._front()
        if front is None:
            self.scope = self._uvicorns_scope(self.headers)  # type: ignore[assignment]
            super().on_headers_complete()
            return
        found = wanted_headers(self.headers)
        length = found[2]
        limit = min(front.limit, HIGH_WATER_LIMIT)  # uvicorn pauses reading above it
        if length is None or not length.isdigit() or int(length) > limit:
            self.scope = self._uvicorns_scope(self.headers)  # type: ignore[assignment]
            super().on_headers_complete()  # BodyLimit counts it, or refuses it
            return
        http_version = self.parser.get_http_version()
        keep_alive = http_version != "1.0" and self.parser.should_keep_alive()
        found_headers = (found[0], found[1], found[3])
        settling = Settling(front, http_version, keep_alive, self.headers, found_headers)
        existing = self.cycle
        # uvicorn reads its cycle's attributes that Settling has (the class docstring).
        self.cycle = settling  # type: ignore[assignment]
        if existing is None or existing.response_complete:
            settling.turn = True
        else:  # pipelined: its turn comes when the answer before it is sent (uvicorn's queue)
            self.flow.pause_reading()
            self.pipeline.appendleft((settling, self.app))  # type: ignore[arg-type]

    def scope_of(self, cycle: Settling) -> dict[str, Any]:
        """The settlement's scope, made the first time it is asked for: as uvicorn's
        on_message_begin and on_headers_complete make it for this path."""
        scope = cycle.scope
        if scope is None:
            scope = cycle.scope = self._uvicorns_scope(cycle.headers)
            scope["method"] = "POST"
            if cycle.http_version != "1.1":
                scope["http_version"] = cycle.http_version
            scope["path"] = PATH
            scope["raw_path"] = RAW_PATH
            scope["query_string"] = b""
        return scope

    def view_of(self, cycle: Settling) -> dict[str, Any]:
        """The settlement's scope as the application sees it (through a trusted proxy)."""
        view = cycle.view
        return self.scope_of(cycle) if view is None else view

    def _front(self) -> SettleFastPath | None:
        """The fast path, if this request (its headers read) may be answered here."""
        front = self._fast
        if front is None:
            front = self._fast = self._front_of_connection()
            if front is None:
                return None
        if (
            self.url != RAW_PATH
            or self.expect_100_continue
            or self.parser.get_method() != b"POST"
            or self.parser.should_upgrade()
        ):
            return None
        return front

    def _front_of_connection(self) -> SettleFastPath | None:
        """The fast path, if this connection's settlements may be answered here: none
        before the application's stack is built (asked again at the next request)."""
        yibao = self.yibao
        if yibao is None or self.root_path or self.limit_concurrency is not None:
            return None
        front = yibao.settle_front  # None until the application's stack is built
        if front is None or front.services.group_commit is None:
            return None
        return front

    def on_message_complete(self) -> None:
        cycle: Any = self.cycle
        if not isinstance(cycle, Settling):
            super().on_message_complete()
            return
        cycle.more_body = False
        if cycle.turn:
            self._settle(cycle)

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        """uvicorn's start of a request's answer, and of a pipelined request's at its turn."""
        settling: Any = cycle
        if not isinstance(settling, Settling):
            super()._start_asgi_task(cycle, app)
            return
        settling.turn = True
        if not settling.more_body:
            self._settle(settling)

    # --- the keep-alive timer: armed once an idle spell, not once a request -----------

    def _unset_keepalive_if_required(self) -> None:
        """uvicorn's protocol cancels its keep-alive timer at every request's data and arms
        a new one at every answer: a timer made and cancelled a request. Here the timer
        stays armed and the connection is marked busy; when it fires (_keep_alive_due)
        it closes the connection only if it has been idle the whole timeout since its
        last answer, as uvicorn's would have, and is armed again for what remains."""
        self._idle_since = None

    def on_response_complete(self) -> None:
        """uvicorn's (0.55), the timer armed only if it is not already."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle_since = None
        self.flow.resume_reading()
        if self.pipeline:  # the next pipelined request's turn
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self._keep_alive_due
            )

    def _keep_alive_due(self) -> None:
        self.timeout_keep_alive_task = None
        idle_since = self._idle_since
        if idle_since is None:  # a request under way: its answer arms the timer again
            return
        left = idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:  # a request came and was answered meanwhile
            self.timeout_keep_alive_task = self.loop.call_later(left, self._keep_alive_due)
            return
        self.timeout_keep_alive_handler()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        timer, self.timeout_keep_alive_task = self.timeout_keep_alive_task, None
        if timer is not None:  # uvicorn's cancelled it at the last request's data
            timer.cancel()

    # --- answering ---------------------------------------------------------------------

    def _settle(self, cycle: Settling) -> None:
        """The request whole and its turn come: the bill to the committer, or the request
        the ASGI way."""
        front = cycle.front
        trace = None if front.recorder is None else Trace(time.perf_counter())
        if cycle.forwarded and self.proxied is not None:
            cycle.view = self.proxied(self.scope_of(cycle))
        try:
            future = self._submitted(front, cycle)
        except Exception:  # a refusal: the application answers it, the same checks again
            future = None
        if future is None:
            self._by_asgi(cycle, self.app, self.scope_of(cycle))
            return
        if trace is not None:
            trace.submitted = time.perf_counter()
        wakeups = self._wakeups
        if wakeups is None or wakeups is not front.wakeups:  # the connection's first
            wakeups = self._wakeups = front.wakeups_of_loop(self.loop)
        wakeups.call(future, partial(self._answered, cycle, trace), trace)

    def _submitted(self, front: SettleFastPath, cycle: Settling) -> Future[Answer] | None:
        """`submitted`, the Authorization value's token read and hashed once a
        connection (a client signs its requests on a connection with the same one); the
        token itself is looked up every request."""
        authorization, key = self._authorization
        if cycle.authorization != authorization:
            authorization = cycle.authorization
            token = bearer_token(None if authorization is None else authorization.decode("latin-1"))
            key = None if token is None else token_hash(token)
            self._authorization = authorization, key
        return submitted(front, cycle, key)

    def _answered(self, cycle: Settling, trace: Trace | None, done: Future[Answer]) -> None:
        """On the loop, the committer's answer: written, or its error answered as the
        front door answers it."""
        if cycle.disconnected or self.transport.is_closing():  # nobody to answer
            return
        try:
            status, view = done.result()
        except Exception as exc:
            self._by_asgi(
                cycle, partial(refusal, cycle.front, self.yibao, exc), self.view_of(cycle)
            )
            return
        if trace is not None:
            trace.resumed = time.perf_counter()
        body = orjson.dumps(view)
        if self.flow.write_paused:  # as uvicorn's send: the answer waits for the transport
            task = self.loop.create_task(self._drained(cycle, status, body, trace))
            task.add_done_callback(self.tasks.discard)
            self.tasks.add(task)
            return
        self._write(cycle, status, body, trace)

    async def _drained(
        self, cycle: Settling, status: int, body: bytes, trace: Trace | None
    ) -> None:
        await self.flow.drain()
        if not (cycle.disconnected or self.transport.is_closing()):
            self._write(cycle, status, body, trace)

    def _write(self, cycle: Settling, status: int, body: bytes, trace: Trace | None) -> None:
        """The whole answer in one write, byte for byte what uvicorn writes for the front
        door's two sends; then what uvicorn does when an answer is complete."""
        view: Any = cycle.view  # uvicorn types it HTTPScope; None: the scope, not made
        if self.access_log:
            view = self.view_of(cycle)
            self.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(view),
                view["method"],
                get_path_with_query_string(view),
                view["http_version"],
                status,
            )
        keep_alive = cycle.keep_alive
        head = (
            STATUS_LINE[status],
            self._default_headers(),
            b"content-length: %d\r\n" % len(body),
            TAILS[(self.scheme if view is None else view["scheme"]) == "https", keep_alive],
            body,
        )
        self.transport.write(b"".join(head))
        cycle.response_complete = True
        if not keep_alive:
            self.transport.close()
        self.on_response_complete()
        if trace is not None:
            trace.sent = time.perf_counter()
            recorder = cycle.front.recorder
            if recorder is not None:
                recorder.add(trace)

    def _default_headers(self) -> bytes:
        """uvicorn's default headers (date, server, --header), as its send writes them;
        the server replaces the list every second (the date)."""
        headers = self.server_state.default_headers
        if headers is not self._defaults_of:
            self._defaults_of = headers
            self._defaults = b"".join(
                name.lower() + b": " + value + b"\r\n" for name, value in headers
            )
        return self._defaults

    def _by_asgi(self, cycle: Settling, app: Any, scope: dict[str, Any]) -> None:
        """The request answered the ASGI way, by `app` for `scope`, in a cycle of
        uvicorn's own, its body already read."""
        real = RequestResponseCycle(
            scope=scope,  # type: ignore[arg-type]
            transport=self.transport,
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=cycle.keep_alive,
            on_response=self.on_response_complete,
        )
        real.body, real.more_body = cycle.body, False
        real.disconnected = cycle.disconnected
        real.message_event.set()  # the body is there: receive() answers at once
        if self.cycle is cycle:  # type: ignore[comparison-overlap]
            self.cycle = real  # the one a lost connection or the server's shutdown marks
        super()._start_asgi_task(real, app)


def application(app: Any) -> tuple[Yibao | None, ProxyHeadersMiddleware | None]:
    """The application behind uvicorn's wrapping, if it is yibao's with nothing but the
    proxy-headers middleware around it; and that middleware."""
    proxy = None
    if isinstance(app, ProxyHeadersMiddleware):
        proxy, app = app, app.app
    return (app if isinstance(app, Yibao) else None), proxy


def wanted_headers(
    headers: list[tuple[bytes, bytes]],
) -> tuple[bytes | None, bytes | None, bytes | None, bool]:
    """Authorization, Idempotency-Key and Content-Length, the first of each (as the front
    door reads them), and whether the request has a header the proxy-headers middleware
    reads."""
    authorization = key = length = None
    forwarded = False
    for name, value in headers:
        if name == b"authorization":
            if authorization is None:
                authorization = value
        elif name == b"idempotency-key":
            if key is None:
                key = value
        elif name == b"content-length":
            if length is None:
                length = value
        elif name in FORWARDED:
            forwarded = True
    return authorization, key, length, forwarded


def submitted(front: SettleFastPath, cycle: Settling, key: str | None) -> Future[Answer] | None:
    """The bill handed to the committer; None for a caller not known in memory (the
    application asks the database); a refusal raises. `key`: the token_hash of the
    request's bearer_token (AccessService.cached's key: looked up every request, so that
    an expiry or a revocation counts at once)."""
    services = front.services
    committer = services.group_commit
    assert committer is not None  # _front checked it
    who = None if key is None else services.access.recall(key)
    if who is None or who.role is not Role.INSTITUTION:
        return None
    key = None if cycle.key is None else cycle.key.decode("latin-1")
    bill, key = bill_of(services, who, bytes(cycle.body), key)
    return committer.submit(bill, key)


def bearer_token(authorization: str | None) -> str | None:
    """The token of a well-formed `Bearer <token>`; None for anything else, which the
    application checks (deps.bearer) and answers."""
    if not authorization or len(authorization) > AUTHORIZATION_MAX:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


class Proxied:
    """The request's scope as the application sees it through uvicorn's proxy-headers
    middleware (scheme and client from a trusted proxy's X-Forwarded-*): the middleware
    itself, run on a copy, the ASGI way's scope left as uvicorn made it."""

    def __init__(self, proxy: ProxyHeadersMiddleware) -> None:
        self.middleware = ProxyHeadersMiddleware(self._keep)
        self.middleware.trusted_hosts = proxy.trusted_hosts
        self._seen: dict[str, Any] = {}

    async def _keep(self, scope: Any, _receive: Any, _send: Any) -> None:
        self._seen = scope

    def __call__(self, scope: dict[str, Any]) -> dict[str, Any]:
        run = self.middleware(dict(scope), _never, _never)  # type: ignore[arg-type]
        try:
            run.send(None)  # it awaits nothing but _keep, which returns at once
        except StopIteration:
            return self._seen
        run.close()  # pragma: no cover - a middleware that waits for something
        raise RuntimeError("the proxy-headers middleware did not return at once")


async def _never() -> Any:  # pragma: no cover - the middleware never receives
    raise AssertionError


async def refusal(
    front: SettleFastPath,
    yibao: Yibao | None,
    exc: Exception,
    scope: Any,
    receive: Callable[[], Any],
    send: Callable[[Any], Any],
) -> None:
    """The committer's error answered as the front door answers it (fast_path.refuse),
    for the request as the application saw it."""
    scope["app"] = yibao  # as Yibao.__call__ sets it
    await front.refuse(scope, receive, send, exc, front=True)
