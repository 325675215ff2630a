"""What the browser is told to protect the pages with: security headers on every
response, and how an uploaded file is served back (never as a page)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline script or style anywhere (the templates use /static files only); nothing may
# frame the pages; forms post only to this origin.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), geolocation=(), microphone=()"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def receipt_headers(path: Path, n: int) -> dict[str, str]:
    """A receipt is downloaded, never shown as a page of this origin, whatever is in it."""
    return {
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'attachment; filename="receipt-{n}{path.suffix}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }


def with_headers(request: Request, response: Response) -> Response:
    """The headers for an answer made outside the middleware: Starlette answers an
    unexpected exception from its outermost layer, past SecurityHeaders."""
    https = request.url.scheme == "https"
    for name, value in (*HEADERS, *((HSTS,) if https else ())):
        response.headers.setdefault(name.decode(), value.decode())
    return response


class SecurityHeaders:
    """The headers above on every response that does not set its own; HSTS when the
    request came over https (directly, or as a trusted proxy's X-Forwarded-Proto says
    through the server's --proxy-headers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in HEADERS if h[0] not in present)
                if https and HSTS[0] not in present:
                    headers.append(HSTS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
