"""The web pages, served by the same application as the API: the member app ("smart
medical insurance", /app), the staff console (/console), sign-in and the start page.
Server-rendered with Jinja2, in Chinese (default) and English; no front-end build."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from yibao.entrypoints.web import console, member, routes_common
from yibao.entrypoints.web.pages import BadForm, Page, PageForbidden, SignInNeeded

STATIC = Path(__file__).resolve().parent / "static"


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

    @app.exception_handler(BadForm)
    async def bad_form(request: Request, _exc: BadForm) -> Response:
        return Page(request).render("error.html", status=400, kind="stale_form")
