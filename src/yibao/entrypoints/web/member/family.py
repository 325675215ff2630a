"""Binding a spouse or a parent, with their consent: the request, and the adult's answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.entrypoints.web.member.common import member, put_error, render
from yibao.entrypoints.web.pages import Form, Page, _
from yibao.service.errors import ServiceError

router = APIRouter(prefix="/app", include_in_schema=False)

RELATIONS = {"spouse": _("Spouse"), "parent": _("Parent")}
STATUSES = {
    "pending": _("Waiting for their consent"),
    "accepted": _("Consented"),
    "declined": _("Declined"),
    "withdrawn": _("Withdrawn"),
}


@router.get("/family")
def family(request: Request) -> Response:
    page = Page(request)
    member(page)
    return _page(page, Form({"relation": "spouse"}), done=request.query_params.get("done", ""))


@router.post("/family")
async def ask(request: Request) -> Response:
    page = Page(request)
    who = member(page)
    form = await page.form()
    for name in ("id_number", "name", "relation"):
        form.values.setdefault(name, "")
    if not form.get("name"):
        form.error("name", page.t("Enter the name as on the ID card."))
    if not form.get("id_number"):
        form.error("id_number", page.t("Enter the ID number."))
    if form.ok:
        try:
            page.services.member.links.request(
                who, form.get("id_number"), form.get("name"), form.get("relation")
            )
        except ServiceError as exc:
            put_error(page, form, exc)
        else:
            return page.redirect("/app/family?done=asked")
    return _page(page, form, status=422)


@router.post("/family/{link_id}")
async def answer(request: Request, link_id: int) -> Response:
    page = Page(request)
    who = member(page)
    form = await page.form()
    try:
        page.services.member.links.respond(who, link_id, form.get("answer") == "accept")
    except ServiceError as exc:
        if exc.status == 404:
            return page.render("error.html", status=404, kind="not_found")
        put_error(page, form, exc)
        return _page(page, Form({"relation": "spouse"}, errors=form.errors), status=409)
    return page.redirect(f"/app/family?done={form.get('answer') or 'answered'}")


def _page(page: Page, form: Form, status: int = 200, done: str = "") -> Response:
    who = member(page)
    return render(
        page,
        "member/family.html",
        status=status,
        tab="services",
        form=form,
        links=page.services.member.links.links(who),
        relations=RELATIONS,
        statuses=STATUSES,
        done=done if done in ("asked", "accept", "decline") else "",
    )
