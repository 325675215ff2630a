"""Signing in to the web pages, and protecting their forms.

The session cookie holds an API token made by sign-in (the same tokens as the API, so
one check serves both); it is HttpOnly, SameSite=Lax, and Secure when the page came
over HTTPS. Every form carries a CSRF token bound to the browser's `yb_csrf` cookie and
to its session (an HMAC of both under the server's key: another site can make the
browser send the cookies, but cannot compute the token, and a token from before signing
in or out is void), and a form posted with an Origin or Referer of another site is
refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from yibao.domain.access import Principal
from yibao.entrypoints.web.i18n import DEFAULT_LANG, LANGS
from yibao.service.services import Services

SESSION_COOKIE = "yb_session"
CSRF_COOKIE = "yb_csrf"
LANG_COOKIE = "yb_lang"
SESSION_HOURS = 12


def services_of(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def current_principal(request: Request) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return services_of(request).access.authenticate(token)


def language(request: Request) -> str:
    """The page's language: ?lang=, then the cookie, then the browser's, then Chinese."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked in LANGS:
        return str(asked)
    accept = request.headers.get("accept-language", "")
    if accept.lower().startswith("en"):
        return "en"
    return DEFAULT_LANG


def csrf_token(request: Request) -> str:
    """The request's CSRF token: an HMAC, under the server's key, of the browser's
    `yb_csrf` cookie (made by `finish` if new) and its session, so a token is good for
    this browser's current session only (signing in or out makes the old ones useless)."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce:
        nonce = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(24)
        request.state.new_csrf = nonce
    return _bound(request, str(nonce))


def _bound(request: Request, nonce: str) -> str:
    session = request.cookies.get(SESSION_COOKIE, "")
    key = services_of(request).secret
    return hmac.new(key, f"csrf|{nonce}|{session}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """The form's token is this browser's for this session, and the browser says the
    form was posted from this site (Origin, or Referer, when it sends one)."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not (nonce and submitted and same_origin(request)):
        return False
    return hmac.compare_digest(_bound(request, nonce), submitted)


def same_origin(request: Request) -> bool:
    """Whether the Origin (or else the Referer) names this server. Hosts are compared,
    not schemes: behind a TLS proxy the server itself may see http."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed:
        return True  # sent by no browser that a forged form could drive without them
    if claimed == "null":
        return False
    return urlsplit(claimed).netloc.lower() == request.url.netloc.lower()


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def finish(request: Request, response: Response) -> Response:
    """Set the cookies a page made this request (a new CSRF token, the language)."""
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(
            CSRF_COOKIE, new, httponly=True, samesite="lax", secure=_secure(request), path="/"
        )
    asked = request.query_params.get("lang")
    if asked in LANGS and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(LANG_COOKIE, str(asked), max_age=365 * 86400, samesite="lax", path="/")
    return response


def start_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
