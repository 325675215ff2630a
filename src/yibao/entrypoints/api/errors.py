"""Errors every caller can act on, and bounds on what a request may send.

- Every 4xx of the API is `{"code", "message"}` (also the ones the framework makes:
  unknown paths, wrong methods, bodies it cannot parse).
- A database that cannot be reached (restarting, locked) is 503 with `Retry-After`,
  never a 500 and never a traceback in the answer.
- A request body above its limit is 413 before it is read (`BodyLimit`): the limit of
  the path (uploads of class lists, bank files and receipts may be larger) is checked
  against `Content-Length`, and a body without one is counted as it arrives.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
# What a database that is down, restarting or busy raises (through SQLAlchemy).
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)

MB = 1024 * 1024
DEFAULT_LIMIT = 2 * MB
# Paths that take files, and the national interface (fee lines of a long stay).
LARGER: tuple[tuple[str, int], ...] = (
    (r"/v1/schools/[^/]+/batches", 21 * MB),  # a class list: 20 MB
    (r"/v1/collection/imports", 21 * MB),  # a bank's result file: 20 MB
    (r"/app/claims/new", 26 * MB),  # five receipts of 5 MB
    (r"/fsi/api/(rsfComIfsService/)?callService", 5 * MB),
)

CODES = {
    400: "bad_request",
    401: "not_signed_in",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


def http_error(exc: HTTPException) -> JSONResponse:
    """The framework's own errors (unknown path, wrong method, unparsable body) in the
    API's shape."""
    code = CODES.get(exc.status_code, "error" if exc.status_code < 500 else "internal_error")
    message = str(exc.detail) if exc.detail else code.replace("_", " ")
    if exc.status_code == 400 and "parsing the body" in message:
        message = "body: the request body could not be read (malformed JSON or form data)"
    return JSONResponse(
        {"code": code, "message": message}, status_code=exc.status_code, headers=exc.headers
    )


def unavailable(exc: Exception) -> JSONResponse:
    """The database is not answering: come back shortly (one log line, no traceback)."""
    log.warning("database unavailable: %s", str(exc).splitlines()[0][:300] if str(exc) else exc)
    return JSONResponse(
        {
            "code": "unavailable",
            "message": "the database is not available at the moment: try again shortly",
        },
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class BodyTooLarge(Exception):  # noqa: N818  (named for the HTTP answer it is)
    pass


class BodyLimit:
    """413 for a request body above its path's limit, before the application reads it."""

    def __init__(
        self,
        app: ASGIApp,
        default: int = DEFAULT_LIMIT,
        larger: Sequence[tuple[str, int]] = LARGER,
    ) -> None:
        self.app = app
        self.default = default
        self.larger = [(re.compile(pattern + r"/?"), limit) for pattern, limit in larger]

    def limit_for(self, path: str) -> int:
        for pattern, limit in self.larger:
            if pattern.fullmatch(path):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return
        state = {"received": 0, "exceeded": False, "answered": False}

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["exceeded"] = True
                    raise BodyTooLarge
            return message

        async def guarded(message: Message) -> None:
            # Once the body is over the limit, whatever the application makes of the
            # interruption (a 400, a 500) is replaced by the 413.
            if state["exceeded"]:
                if not state["answered"]:
                    state["answered"] = True
                    await _too_large(send, limit)
                return
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except BodyTooLarge:
            pass
        except Exception:
            if not state["exceeded"]:
                raise
        if state["exceeded"] and not state["answered"]:
            await _too_large(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = (
        b'{"code":"body_too_large","message":"the request body is larger than '
        + f"{limit // MB} MB".encode()
        + b'"}'
    )
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
