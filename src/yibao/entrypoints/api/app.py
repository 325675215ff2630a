"""The FastAPI application: routers, and errors as JSON with a machine-readable code."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, ExitStack, asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from yibao.entrypoints.api import docs, fsi_router, health
from yibao.entrypoints.api.errors import BodyLimit
from yibao.entrypoints.api.fast_path import SettleFastPath, takes
from yibao.entrypoints.api.fsi_router import FsiFastPath
from yibao.entrypoints.api.latency import GcPauses, Recorder
from yibao.entrypoints.api.routers import (
    admin,
    categories,
    certificates,
    claims,
    clearing,
    collection,
    institutions,
    persons,
    schools,
    settlements,
)
from yibao.entrypoints.web import app as web
from yibao.entrypoints.web.security import SecurityHeaders
from yibao.fsi.auth import FsiAuth, ProxySettings
from yibao.service.errors import ServiceError
from yibao.service.services import Services
from yibao.settings import Settings

# FastAPI asks OpenTelemetry on every request whether a tracer, meter or logger provider
# is configured (9 us a request); yibao configures none (docs/operations.md).
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


class Yibao(FastAPI):
    """The application, with a card settlement taken to the fast path's front door before
    FastAPI's and Starlette's own calls and the layers of the stack (fast_path.py says
    what it does in their place). The fast path stays a layer of the stack too: without
    it there (a test takes it out), every request goes the whole way."""

    settle_front: SettleFastPath | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        layer: Any = stack
        while layer is not None and not isinstance(layer, SettleFastPath):
            layer = getattr(layer, "app", None)
        if layer is not None and isinstance(stack, ServerErrorMiddleware):
            layer.server_error = (stack.handler, stack.debug)
        self.settle_front = layer
        return stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        front = self.settle_front  # None until the stack is built (the first request)
        if front is not None and takes(scope):
            scope["app"] = self  # as Starlette's call sets it
            if await front.front(scope, receive, send):
                return
        await super().__call__(scope, receive, send)


def create_app(
    services: Services, *, threads: int | None = None, settings: Settings | None = None
) -> FastAPI:
    settings = settings or Settings()
    recorder = None if settings.latency_log is None else Recorder(settings.latency_log)
    pauses = None if settings.gc_log is None else GcPauses(settings.gc_log)
    app = Yibao(
        lifespan=_lifespan(threads, recorder, pauses),
        title="yibao",
        version="0.1.0",
        description="Social medical insurance for a pooling region: settlement, quotes, reversals.",
        docs_url=None,  # served from the package instead (api/docs.py)
        redoc_url=None,
        telemetry=NO_TELEMETRY,
    )
    app.state.services = services
    app.state.fsi_auth = FsiAuth(
        services.access,
        services.secret,
        ProxySettings(settings.fsi_cert_header, tuple(settings.fsi_trusted_proxies)),
    )
    app.state.fsi_sign_in_hours = settings.fsi_sign_in_hours
    for resource in (
        settlements,
        claims,
        persons,
        categories,
        institutions,
        admin,
        schools,
        collection,
        certificates,
        clearing,
        fsi_router,
    ):
        app.include_router(resource.router)
    _answer_errors(app)

    web.install(app)
    docs.install(app)
    _layers(app, services, recorder)

    health.install(app, services)  # /healthz: the whole server's figures

    return app


def _lifespan(
    threads: int | None, recorder: Recorder | None, pauses: GcPauses | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if threads is not None:
            # Requests run in a thread pool. Python threads share one interpreter lock, so
            # beyond a few they only queue for it: 4 threads a process settle about half
            # as many bills again as the default 40, with a third of the p99 latency.
            anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        with ExitStack() as recording:  # each written when the server stops
            for recorder_of in (recorder, pauses):
                if recorder_of is not None:
                    recording.enter_context(recorder_of)
            yield

    return lifespan


def _layers(app: FastAPI, services: Services, recorder: Recorder | None) -> None:
    """The last added is the outermost: every request passes SecurityHeaders, then
    BodyLimit, and then a settlement or a national-interface message is answered without
    the router (fast_path.py, fsi_router.py). A settlement with a Content-Length within
    its limit does not even pass these: Yibao.__call__ takes it to the fast path's front
    door, which adds the same headers and checks the same limit."""
    app.add_middleware(
        SettleFastPath, services=services, handlers=app.exception_handlers, recorder=recorder
    )
    app.add_middleware(FsiFastPath)  # a national-interface message, also without the router
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)


def _answer_errors(app: FastAPI) -> None:
    """A refusal of the service layer and a request the boundary models refuse, each as
    {code, message} with its status."""

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        retry = exc.details.get("retry_after")
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "body"
        message = str(first["msg"]).removeprefix("Value error, ")
        if first.get("type") == "json_invalid":
            message, where = "the body is not valid JSON", "body"
        details: dict[str, Any] = {
            "errors": [{"loc": [str(p) for p in e["loc"]], "msg": str(e["msg"])} for e in errors]
        }
        return JSONResponse(
            {"code": "invalid_request", "message": f"{where}: {message}", "details": details},
            status_code=422,
        )
