"""Signing in to the web pages, and protecting their forms.

The session cookie holds an API token made by sign-in (the same tokens as the API, so
one check serves both); it is HttpOnly, SameSite=Lax, and Secure when the page came
over HTTPS. Every form carries a CSRF token that must equal the `yb_csrf` cookie (the
double-submit pattern: another site can make the browser send the cookie, but cannot
read it to put it in the form).
"""

from __future__ import annotations

import hmac
import secrets

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
    """The request's CSRF token: the cookie's, or a new one (set by `finish`)."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token:
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(24)
        request.state.new_csrf = token
    return str(token)


def csrf_ok(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(cookie and submitted and hmac.compare_digest(cookie, submitted))


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
