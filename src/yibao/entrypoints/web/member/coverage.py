"""My coverage (with the insurance voucher) and my reimbursements, for the member and each
child they are guardian of."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.entrypoints.web.member.common import LABELS, member, render
from yibao.entrypoints.web.pages import Page
from yibao.service.errors import NotFoundError, ServiceError

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("")
def coverage(request: Request) -> Response:
    page = Page(request)
    who = member(page)
    found = page.services.member.coverage(who)
    linked = request.query_params.get("linked")
    step = request.query_params.get("code")
    phone = None
    if found["linkable"] and step in ("sent", "wrong", "wait"):
        phone = page.services.member.linkable_children(who)["phone"]
    return render(
        page,
        "member/coverage.html",
        tab="coverage",
        labels=LABELS,
        coverage=found,
        linked=linked if linked and linked.isdigit() else None,
        code_step=step if phone else None,
        phone=phone,
    )


@router.post("/children/code")
async def send_code(request: Request) -> Response:
    """A one-time code to the phone the children were registered with."""
    page = Page(request)
    who = member(page)
    await page.form()
    try:
        page.services.member.send_guardian_code(who)
    except ServiceError:
        return page.redirect("/app")
    return page.redirect("/app?code=sent")


@router.post("/children")
async def link_children(request: Request) -> Response:
    """The children linked, given the code sent to the phone on file."""
    page = Page(request)
    who = member(page)
    form = await page.form()
    try:
        linked = page.services.member.link_children(who, form.get("code"))
    except ServiceError as exc:
        return page.redirect("/app?code=wait" if exc.status == 429 else "/app?code=wrong")
    return page.redirect(f"/app?linked={len(linked)}")


@router.get("/years/{year}")
def my_year(request: Request, year: int) -> Response:
    page = Page(request)
    who = member(page)
    assert who.person_id is not None
    return _year(page, who.person_id, year)


@router.get("/persons/{person_id}/years/{year}")
def person_year(request: Request, person_id: str, year: int) -> Response:
    page = Page(request)
    member(page)
    return _year(page, person_id, year)


def _year(page: Page, person_id: str, year: int) -> Response:
    who = member(page)
    if not 2000 <= year <= 2100:
        return page.render("error.html", status=404, kind="not_found")
    try:
        found = page.services.member.year(who, person_id, year)
    except NotFoundError:
        return page.render("error.html", status=404, kind="not_found")
    except ServiceError as exc:
        if exc.code != "not_enrolled":
            raise
        found = None  # no enrolment that year: nothing to show but the way to other years
    family = page.services.member.family(who)
    return render(
        page,
        "member/year.html",
        tab="years",
        labels=LABELS,
        found=found,
        year=year,
        person_id=person_id,
        family=family,
        me=who.person_id,
    )
