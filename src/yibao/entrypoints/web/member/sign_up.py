"""Real-name sign-up: the account is tied to the registered person whose name, ID number
and birth date match."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.entrypoints.web.member.common import day_of, put_error, render
from yibao.entrypoints.web.pages import Form, Page
from yibao.entrypoints.web.session import start_session
from yibao.service.errors import ServiceError
from yibao.service.member import SignUp

router = APIRouter(prefix="/app", include_in_schema=False)

FIELDS = ("name", "id_number", "birth_date", "phone", "password", "password2")


@router.get("/sign-up")
def sign_up_form(request: Request) -> Response:
    page = Page(request)
    return render(page, "member/sign_up.html", form=Form())


@router.post("/sign-up")
async def sign_up(request: Request) -> Response:
    page = Page(request)
    form = await page.form()
    for name in FIELDS:
        form.values.setdefault(name, "")
    if not form.get("name"):
        form.error("name", page.t("Enter your name as on your ID card."))
    if not form.get("id_number"):
        form.error("id_number", page.t("Enter your resident ID number."))
    born = day_of(page, form, "birth_date")
    if not form.get("phone"):
        form.error("phone", page.t("Enter your mobile number."))
    if len(form.get("password")) < 8:
        form.error("password", page.t("The password needs at least 8 characters."))
    elif form.get("password") != form.get("password2"):
        form.error("password2", page.t("The two passwords are not the same."))
    if form.ok and born is not None:
        new = SignUp(
            name=form.get("name"),
            id_number=form.get("id_number"),
            birth_date=born,
            phone=form.get("phone"),
            password=form.get("password"),
        )
        try:
            made = page.services.member.sign_up(new)
            signed = page.services.access.sign_in(made["id"], new.password)
        except ServiceError as exc:
            put_error(page, form, exc)
        else:
            response = page.redirect("/app")
            start_session(request, response, signed["token"])
            return response
    form.values["password"] = form.values["password2"] = ""  # never sent back
    return render(page, "member/sign_up.html", status=422, form=form)
