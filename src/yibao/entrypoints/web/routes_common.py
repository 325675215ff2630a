"""The pages every user meets: the start page, sign-in and sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.domain.access import MEMBERS, STAFF
from yibao.entrypoints.web.pages import Page, _
from yibao.entrypoints.web.session import SESSION_COOKIE, end_session, start_session
from yibao.service.errors import ServiceError

router = APIRouter(include_in_schema=False)

TITLE_SIGN_IN = _("Sign in")


def home_of(page: Page) -> str:
    if page.who is None:
        return "/"
    if page.who.role in MEMBERS:
        return "/app"
    if page.who.role in STAFF:
        return "/console"
    return "/"


def _safe_next(path: str | None) -> str | None:
    """Only a path of this site: never an address elsewhere (an open redirect)."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return None


@router.get("/")
def start(request: Request) -> Response:
    page = Page(request)
    target = home_of(page)
    if target != "/":
        return page.redirect(target)
    return page.render("start.html")


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    page = Page(request)
    form_next = _safe_next(request.query_params.get("next")) or ""
    return page.render("sign_in.html", form=_blank(form_next))


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    page = Page(request)
    form = await page.form()
    if not form.get("account"):
        form.error(
            "account", page.t("Enter your account: your ID number, or the name you were given.")
        )
    if not form.get("password"):
        form.error("password", page.t("Enter your password."))
    if form.ok:
        try:
            source = request.client.host if request.client else ""
            made = page.services.access.sign_in(
                form.get("account"), form.get("password"), source=source
            )
        except ServiceError as exc:
            form.error("", page.error_text(exc))
        else:
            page.who = page.services.access.authenticate(made["token"])
            response = page.redirect(_safe_next(form.get("next")) or home_of(page))
            start_session(request, response, made["token"])
            return response
    form.values.pop("password", None)  # never sent back
    return page.render("sign_in.html", status=422, form=form)


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    page = Page(request)
    await page.form()
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        page.services.access.revoke_token(token)
    response = page.redirect("/")
    end_session(response)
    return response


def _blank(next_path: str) -> object:
    from yibao.entrypoints.web.pages import Form

    return Form({"next": next_path})
