"""POST /v1/settlements without FastAPI's router: the counter's hot path.

A settlement through the framework walked eight layers of middleware and router (route
matching against every path of the application, dependency solving, a Request object,
an exit stack) for a route whose work is: check the bearer token, parse the bill, hand it
to the group committer, send its answer. That walk cost more of the server's CPU than the
engine's settlement itself (bench/settle_http.py --profile; docs/operations.md).

`SettleFastPath` sits inside the application's own middleware (BodyLimit and
SecurityHeaders still see every request and every answer, and Starlette's
ServerErrorMiddleware still turns an unexpected error into the 500 answer) and answers
`POST /v1/settlements` itself, with the same checks in the same order as the route in
routers/settlements.py (which stays, for the OpenAPI document and for an application
without this layer): the Authorization header's length, the token, the role, the body,
the Idempotency-Key. Its errors go to the application's own exception handlers, so every
refusal is the same `{code, message}` answer the router would have made.

In a server it is reached through its front door (`front`, called by app.py's
`Yibao.__call__` before Starlette's own): the layers around it cost the event loop about
a fifth of a settlement's time there (FastAPI's and Starlette's calls, ServerErrorMiddleware,
SecurityHeaders' and BodyLimit's wrapped sends and receives: 8-10 us of 33-37 a request,
measured in process), for what comes to a fixed list of headers and a length check.
So the front door does what they do for this path itself: the same security headers on
the answer (HSTS over https), the body limit of the path checked against Content-Length
(a body without one, or above the limit, goes the whole way round, where BodyLimit
counts it or refuses it), a refusal's answer through SecurityHeaders and an unexpected
error's 500 through ServerErrorMiddleware with the application's handler, as they were.

The committer's answers come back to the event loop through `Wakeups`: one wake of the
loop for all the answers of a batch, instead of one a settlement.

Under `yibao serve` a complete settlement does not reach the application at all: the
server's HTTP protocol (protocol.py) answers it with the same bytes, and hands the front
door what it does not answer itself (a refusal, a token not in memory, a body it leaves to
BodyLimit).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from functools import partial
from typing import Any

import orjson
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from yibao.domain.access import Role
from yibao.entrypoints.api.deps import AUTHORIZATION_MAX, bearer, bounded_header, refuse_role
from yibao.entrypoints.api.errors import BodyLimit
from yibao.entrypoints.api.latency import Recorder, Trace
from yibao.entrypoints.api.routers.settlements import settled
from yibao.entrypoints.web.security import HEADERS, HSTS, SecurityHeaders
from yibao.service.group_commit import Answer
from yibao.service.services import Services

PATH = "/v1/settlements"
INSTITUTIONS = frozenset({Role.INSTITUTION})
Handler = Callable[[Request, Exception], Awaitable[Response] | Response]
# What SecurityHeaders adds to the answer (it has none of these of its own).
HTTP_HEADERS = list(HEADERS)
HTTPS_HEADERS = [*HEADERS, HSTS]


class SettleFastPath:
    def __init__(
        self,
        app: ASGIApp,
        services: Services,
        handlers: Mapping[Any, Handler],
        recorder: Recorder | None = None,
    ) -> None:
        self.app = app
        self.services = services
        # The application's exception handlers (a live view: filled after this is made).
        self.handlers = handlers
        self.wakeups: Wakeups | None = None
        self.recorder = recorder  # YIBAO_LATENCY_LOG: each settlement's Trace (latency.py)
        self.limit = BodyLimit(app).limit_for(PATH)  # the body limit BodyLimit gives the path
        # ServerErrorMiddleware's handler and debug flag (app.py sets them when it builds
        # the stack): in front of it, an unexpected error is answered as it would answer.
        self.server_error: tuple[Any, bool] = (None, False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As a layer of the application's stack (inside SecurityHeaders and BodyLimit)."""
        if not takes(scope):
            await self.app(scope, receive, send)
            return
        authorization, key, _ = request_headers(scope)
        await self.answer(scope, receive, send, authorization, key, front=False)

    async def front(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """A settlement in front of the whole application (`takes(scope)` already true),
        as the layers around the stack would answer it; False, having done nothing, for
        a body the layers must see: without Content-Length or above the path's limit."""
        authorization, key, length = request_headers(scope)
        if length is None or not length.isdigit() or int(length) > self.limit:
            return False
        await self.answer(scope, receive, send, authorization, key, front=True)
        return True

    async def answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        authorization: str | None,
        key: str | None,
        *,
        front: bool,
    ) -> None:
        trace = None if self.recorder is None else Trace(time.perf_counter())
        try:
            status, view = await self.settle(receive, authorization, key, trace)
        except Exception as exc:
            await self.refuse(scope, receive, send, exc, front=front)
            return
        body = orjson.dumps(view)
        # The headers Starlette's Response(media_type="application/json") sends, and in
        # front of the stack SecurityHeaders' after them.
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]
        if front:
            headers += HTTPS_HEADERS if scope.get("scheme") == "https" else HTTP_HEADERS
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if trace is not None and self.recorder is not None:
            trace.sent = time.perf_counter()
            self.recorder.add(trace)

    async def refuse(
        self, scope: Scope, receive: Receive, send: Send, exc: Exception, *, front: bool
    ) -> None:
        """The answer of the application's handler for the error, with the security
        headers; an error without one is ServerErrorMiddleware's (its 500, then raised)."""
        handler = self.handler_for(exc)
        if handler is None:  # unexpected: ServerErrorMiddleware's 500, as for any route
            if not front:
                raise exc
            error_handler, debug = self.server_error

            async def failing(_scope: Scope, _receive: Receive, _send: Send) -> None:
                raise exc

            await ServerErrorMiddleware(failing, error_handler, debug)(scope, receive, send)
            return
        answer = handler(Request(scope, receive), exc)
        response = await answer if isinstance(answer, Awaitable) else answer
        await (SecurityHeaders(response) if front else response)(scope, receive, send)

    async def settle(
        self,
        receive: Receive,
        authorization: str | None,
        idempotency_key: str | None,
        trace: Trace | None = None,
    ) -> Answer:
        authorization = bounded_header(authorization, "authorization", max_length=AUTHORIZATION_MAX)
        who = await bearer(self.services.access, authorization)
        refuse_role(who, INSTITUTIONS)
        raw = await read_body(receive)
        wakeups = self.wakeups_of_loop()
        if trace is None:
            return await settled(self.services, who, raw, idempotency_key, waiting=wakeups.wait)

        def waiting(future: Future[Answer]) -> asyncio.Future[Answer]:
            trace.submitted = time.perf_counter()
            return wakeups.wait(future, trace)

        answer = await settled(self.services, who, raw, idempotency_key, waiting=waiting)
        trace.resumed = time.perf_counter()
        return answer

    def handler_for(self, exc: Exception) -> Handler | None:
        """The handler Starlette's ExceptionMiddleware would pick (the nearest class of
        the error's); Exception itself is ServerErrorMiddleware's, outside this layer."""
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in self.handlers:
                found: Handler = self.handlers[cls]
                return found
        return None

    def wakeups_of_loop(self, loop: asyncio.AbstractEventLoop | None = None) -> Wakeups:
        """The Wakeups of `loop` (default: the running one)."""
        if loop is None:
            loop = asyncio.get_running_loop()
        wakeups = self.wakeups
        if wakeups is None or wakeups.loop is not loop:  # a test's client starts loops anew
            wakeups = self.wakeups = Wakeups(loop)
        return wakeups


def takes(scope: Scope) -> bool:
    """A card settlement: what this path answers."""
    settlement: bool = (
        scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "POST"
    )
    return settlement


def request_headers(scope: Scope) -> tuple[str | None, str | None, bytes | None]:
    """Authorization, Idempotency-Key and Content-Length: the first of each, as
    Starlette (and BodyLimit) read them."""
    authorization = idempotency_key = None
    length = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if authorization is None:
                authorization = value.decode("latin-1")
        elif name == b"idempotency-key":
            if idempotency_key is None:
                idempotency_key = value.decode("latin-1")
        elif name == b"content-length" and length is None:
            length = value
    return authorization, idempotency_key, length


async def read_body(receive: Receive) -> bytes:
    """The whole request body (Starlette's Request.body, without the Request)."""
    message = await receive()  # almost always the whole body at once
    if message["type"] == "http.request" and not message.get("more_body", False):
        body: bytes = message.get("body", b"")
        return body
    chunks: list[bytes] = []
    if message["type"] == "http.disconnect":
        raise ClientDisconnect
    chunks.append(message.get("body", b""))
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class Wakeups:
    """Futures answered by other threads, awaited on one event loop. asyncio.wrap_future
    wakes the loop once a future (call_soon_threadsafe: a write to the loop's wake-up
    descriptor, and a turn of the loop); the committer answers a batch's settlements
    together, and here the first answer of a batch wakes the loop and the others join it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._ready: deque[tuple[Callable[[Future[Answer]], None], Future[Answer], Trace | None]]
        self._ready = deque()
        self._scheduled = False

    def wait(self, future: Future[Answer], trace: Trace | None = None) -> asyncio.Future[Answer]:
        waiter: asyncio.Future[Answer] = self.loop.create_future()
        self.call(future, partial(resolve, waiter), trace)
        return waiter

    def call(
        self,
        future: Future[Answer],
        callback: Callable[[Future[Answer]], None],
        trace: Trace | None = None,
    ) -> None:
        """`callback(future)` on the loop once the future is answered: for the HTTP
        protocol's settlements (protocol.py), which no coroutine awaits."""
        future.add_done_callback(partial(self._done, callback, trace))

    def _done(
        self,
        callback: Callable[[Future[Answer]], None],
        trace: Trace | None,
        done: Future[Answer],
    ) -> None:
        """In the thread that answered (or the loop's, for a future already done)."""
        if trace is not None:
            trace.answer_stamped()
        with self._lock:
            self._ready.append((callback, done, trace))
            if self._scheduled:
                return
            self._scheduled = True
        if self.loop.is_closed():  # the server is gone: nobody waits for the answer
            return
        self.loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        """On the loop: every answer that arrived since the wake."""
        with self._lock:
            self._scheduled = False
            ready, self._ready = self._ready, deque()
        delivered = 0.0  # read once, and only for a wake with traces (YIBAO_LATENCY_LOG)
        for callback, done, trace in ready:
            if trace is not None:
                trace.delivered = delivered = delivered or time.perf_counter()
            try:
                callback(done)
            except Exception as exc:  # one answer's failure must not lose the batch's others
                self.loop.call_exception_handler(
                    {"message": "a settlement's answer failed", "exception": exc}
                )


def resolve(waiter: asyncio.Future[Answer], done: Future[Answer]) -> None:
    """The committer's answer (or error) as the awaiting coroutine's."""
    if waiter.cancelled():  # the caller gave up; its bill was settled all the same
        return
    error = done.exception()
    if error is not None:
        waiter.set_exception(error)
    else:
        waiter.set_result(done.result())
