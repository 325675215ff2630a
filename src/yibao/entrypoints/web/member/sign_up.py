"""Real-name sign-up: the account is tied to the registered person whose name, ID number
and birth date match."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.domain.ids import ResidentIdError, parse_resident_id
from yibao.entrypoints.web.member.common import day_of, error_text, put_error, render
from yibao.entrypoints.web.pages import Form, Page
from yibao.entrypoints.web.session import start_session
from yibao.service.errors import ServiceError
from yibao.service.member import PHONE, SignUp

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
    _check_all(page, form, born)  # every field's mistake at once, not one per try
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


def _check_all(page: Page, form: Form, born: date | None) -> None:
    """The checks the service makes one at a time (ID number, its birth date, the mobile
    number), all made here so that the form shows every mistake together."""
    if form.get("id_number"):
        try:
            number = parse_resident_id(form.get("id_number"))
        except ResidentIdError:
            form.error("id_number", error_text(page, ServiceError("invalid_id_number", "")))
        else:
            if born is not None and number.birth_date != born:
                form.error("birth_date", error_text(page, ServiceError("birth_date_mismatch", "")))
    if form.get("phone") and not PHONE.match(form.get("phone")):
        form.error("phone", error_text(page, ServiceError("invalid_phone", "")))
