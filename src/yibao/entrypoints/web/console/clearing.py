"""Monthly clearing between regions in the console (reference §9): the statements of the
staff's region by month, running a month that is over, a statement with every movement,
confirmation and payment by the net payer, and its CSV and .xlsx."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.entrypoints.web.console.common import ConsolePage
from yibao.entrypoints.web.pages import Form, _
from yibao.service.errors import NotFoundError, ServiceError

router = APIRouter(include_in_schema=False)

STATUS = {
    "stated": _("stated, waiting for the payer's confirmation"),
    "confirmed": _("confirmed, waiting for payment"),
    "paid": _("paid and closed"),
}
ENTRY = {
    "settlement": _("settlement"),
    "reversal": _("reversal"),
    "adjustment": _("adjustment"),
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _names(page: ConsolePage) -> dict[str, str]:
    return {
        r["code"]: r["zh"] if page.lang == "zh" else r["en"] for r in page.services.member.regions()
    }


@router.get("/console/clearing")
def clearings(request: Request) -> Response:
    page = ConsolePage(request)
    return _list_page(page, Form({"month": request.query_params.get("month", "").strip()[:7]}))


@router.post("/console/clearing")
async def run_month(request: Request) -> Response:
    page = ConsolePage(request)
    form = await page.form()
    form.values.setdefault("month", "")
    if not form.get("month"):
        form.error("month", page.t("Give the month to clear, as 2026-03."))
    if form.ok:
        try:
            page.services.clearing.run(form.get("month"), page.staff)
        except ServiceError as exc:
            form.error("month", _refusal(page, exc))
        else:
            return page.redirect(f"/console/clearing?month={form.get('month')}")
    return _list_page(page, form, status=422)


def _list_page(page: ConsolePage, form: Form, status: int = 200) -> Response:
    month = form.get("month") if form.ok else ""
    try:
        rows = page.services.clearing.statements(page.staff, month or None)
    except ServiceError:
        rows = page.services.clearing.statements(page.staff)
    return page.render(
        "console/clearings.html",
        status=status,
        form=form,
        statements=rows,
        names=_names(page),
        status_text={k: page.t(v) for k, v in STATUS.items()},
        section="clearing",
    )


@router.get("/console/clearing/{clearing_id}")
def statement(request: Request, clearing_id: int) -> Response:
    page = ConsolePage(request)
    return _statement_page(page, clearing_id, Form({"reference": ""}))


@router.post("/console/clearing/{clearing_id}")
async def act(request: Request, clearing_id: int) -> Response:
    """Confirm the statement, or record its payment (with the bank's reference)."""
    page = ConsolePage(request)
    form = await page.form()
    form.values.setdefault("reference", "")
    try:
        if form.get("action") == "pay":
            if not form.get("reference"):
                form.error("reference", page.t("Give the bank transfer's reference."))
            else:
                page.services.clearing.pay(page.staff, clearing_id, form.get("reference"))
        else:
            page.services.clearing.confirm(page.staff, clearing_id)
    except NotFoundError:
        return page.render("error.html", status=404, kind="not_found")
    except ServiceError as exc:
        form.error("", _refusal(page, exc))
    if form.ok:
        return page.redirect(f"/console/clearing/{clearing_id}")
    return _statement_page(page, clearing_id, form, status=422)


def _statement_page(page: ConsolePage, clearing_id: int, form: Form, status: int = 200) -> Response:
    try:
        found: dict[str, Any] = page.services.clearing.statement(page.staff, clearing_id)
    except NotFoundError:
        return page.render("error.html", status=404, kind="not_found")
    payer = found["payer"]
    may_act = page.staff.region is None or payer is None or page.staff.region == payer
    return page.render(
        "console/clearing.html",
        status=status,
        form=form,
        found=found,
        names=_names(page),
        may_act=may_act,
        status_text={k: page.t(v) for k, v in STATUS.items()},
        entry_text={k: page.t(v) for k, v in ENTRY.items()},
        section="clearing",
    )


@router.get("/console/clearing/{clearing_id}/export.{kind}")
def export(request: Request, clearing_id: int, kind: str) -> Response:
    page = ConsolePage(request)
    try:
        data = page.services.clearing.export(page.staff, clearing_id, kind)
    except ServiceError:
        return page.render("error.html", status=404, kind="not_found")
    media = "text/csv; charset=utf-8" if kind == "csv" else XLSX
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="clearing-{clearing_id}.{kind}"'},
    )


def _refusal(page: ConsolePage, exc: ServiceError) -> str:
    known = {
        "month_not_over": _("That month is not over yet: a month is cleared after it ends."),
        "invalid_month": _("Give the month to clear, as 2026-03."),
        "forbidden": _("Only the region that pays the net confirms and pays."),
        "clearing_not_stated": _("This statement is confirmed already."),
        "clearing_not_confirmed": _("Confirm the statement before recording its payment."),
    }.get(exc.code)
    return page.t(known) if known is not None else page.refusal(exc)
