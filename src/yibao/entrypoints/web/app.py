"""The web pages, served by the same application as the API: the member app ("smart
medical insurance", /app), the staff console (/console), sign-in and the start page.
Server-rendered with Jinja2, in Chinese (default) and English; no front-end build."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from yibao.entrypoints.api import errors as api_errors
from yibao.entrypoints.web import console, member, routes_common, security
from yibao.entrypoints.web.pages import BadForm, Page, PageForbidden, SignInNeeded

STATIC = Path(__file__).resolve().parent / "static"
# Paths whose callers are programs: their errors stay JSON.
API_PREFIXES = ("/v1", "/fsi", "/docs", "/redoc", "/openapi.json", "/healthz")
UNAVAILABLE_PAGE = (
    '<!doctype html><html lang="zh"><meta charset="utf-8"><title>医保 yibao</title>'
    "<p>系统暂时无法访问，请稍后再试。 The service is unavailable for a moment: try again shortly."
    "</p></html>"
)


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(routes_common.router)
    app.include_router(member.router)
    app.include_router(console.router)

    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, exc: SignInNeeded) -> Response:
        return Page(request).redirect(f"/sign-in?next={exc.next_path}")

    @app.exception_handler(PageForbidden)
    async def forbidden(request: Request, _exc: PageForbidden) -> Response:
        return Page(request).render("error.html", status=403, kind="forbidden")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        """Unknown addresses and wrong methods: the styled page for a person, JSON for
        the API."""
        if not is_page(request):
            return api_errors.http_error(exc)
        kind = "not_found" if exc.status_code in (404, 405) else "failed"
        return Page(request).render("error.html", status=exc.status_code, kind=kind)

    @app.exception_handler(api_errors.UNAVAILABLE[0])
    @app.exception_handler(api_errors.UNAVAILABLE[1])
    @app.exception_handler(api_errors.UNAVAILABLE[2])
    async def unavailable(request: Request, exc: Exception) -> Response:
        """The database is not answering (restarting, locked): 503 with Retry-After."""
        answer = api_errors.unavailable(exc)
        if not is_page(request):
            return answer
        try:  # the page asks the database who is signed in: it may not answer either
            page = Page(request).render("error.html", status=503, kind="failed")
        except api_errors.UNAVAILABLE:
            page = HTMLResponse(UNAVAILABLE_PAGE, status_code=503)
        page.headers["Retry-After"] = answer.headers["Retry-After"]
        return page

    @app.exception_handler(Exception)
    async def failed(request: Request, _exc: Exception) -> Response:
        """Anything unexpected: a page that says so (the error is in the server's log)."""
        if not is_page(request):
            answer: Response = JSONResponse(
                {"code": "internal_error", "message": "internal error"}, status_code=500
            )
        else:
            answer = Page(request).render("error.html", status=500, kind="failed")
        return security.with_headers(request, answer)

    @app.exception_handler(BadForm)
    async def bad_form(request: Request, _exc: BadForm) -> Response:
        return Page(request).render("error.html", status=400, kind="stale_form")
