"""The work queues: class lists to review, approvals to decide, manual reimbursements to
review (with the engine's proposed split), cards past their due date.

The actions are the services' use cases, which check the role and the region
themselves: clerks review claims, class lists and cards; approvers decide approvals. A
refusal is shown next to the field it names, translated."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from yibao.domain.access import Role
from yibao.entrypoints.web.console.common import ConsolePage
from yibao.entrypoints.web.pages import Form, _
from yibao.entrypoints.web.security import receipt_headers
from yibao.service.errors import NotFoundError, ServiceError

router = APIRouter(include_in_schema=False)

MAX_REASON = 500

# ?done=... after an action: what the queue page says happened.
DONE: dict[str, str] = {
    "claim_approved": _("Claim {id} approved: the fund's part is booked."),
    "claim_rejected": _("Claim {id} rejected."),
    "approval_approved": _("Application {id} approved."),
    "approval_rejected": _("Application {id} rejected."),
    "batch_accepted": _("The submitted rows of class list {id} are accepted and enrolled."),
    "row_returned": _("Row {id} returned to the school."),
    "card_issued": _("Card {id} issued."),
}


def _done(page: ConsolePage) -> str:
    key = page.request.query_params.get("done", "")
    text = DONE.get(key)
    ident = page.request.query_params.get("id", "")
    if text is None or not ident.replace("-", "").isalnum():
        return ""
    return page.t(text, id=ident)


def _not_found(page: ConsolePage) -> Response:
    return page.render("error.html", status=404, kind="not_found")


def _decision(page: ConsolePage, form: Form) -> str:
    decision = form.get("decision")
    if decision not in ("approve", "reject"):
        form.error("decision", page.t("Choose to approve or to reject."))
    return decision


def _reason(page: ConsolePage, form: Form, needed: bool) -> str:
    reason = form.get("reason")
    if needed and not reason:
        form.error("reason", page.t("Give the reason: the applicant reads it."))
    elif len(reason) > MAX_REASON:
        form.error("reason", page.t("At most 500 characters."))
    return reason


def _day(page: ConsolePage, form: Form, name: str) -> date | None:
    raw = form.get(name)
    if not raw:
        form.error(name, page.t("Give the date."))
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        form.error(name, page.t("Give a date as YYYY-MM-DD."))
        return None


# --- manual reimbursement claims ---------------------------------------------------------


@router.get("/console/queues/claims")
def claims_queue(request: Request) -> Response:
    page = ConsolePage(request)
    claims: list[dict[str, Any]] = []
    refused = ""
    try:
        claims = page.services.claims.by_status(page.staff, "submitted")
    except ServiceError as exc:
        refused = page.refusal(exc)
    names = _names(page, [c["person_id"] for c in claims])
    return page.render(
        "console/claims.html",
        claims=claims,
        names=names,
        refused=refused,
        done=_done(page),
        section="claims",
    )


def _names(page: ConsolePage, person_ids: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for pid in dict.fromkeys(person_ids):
        try:
            names[pid] = page.services.enrolment.person(page.staff, pid)["name"]
        except ServiceError:
            names[pid] = pid
    return names


def _claim_page(page: ConsolePage, claim_id: int, form: Form, status: int = 200) -> Response:
    try:
        claim = page.services.claims.get(page.staff, claim_id)
    except NotFoundError:
        return _not_found(page)
    return page.render(
        "console/claim.html",
        status=status,
        claim=claim,
        name=_names(page, [claim["person_id"]])[claim["person_id"]],
        region_names={r["code"]: r[page.lang] or r["zh"] for r in page.services.member.regions()},
        form=form,
        may_review=page.staff.role is Role.CLERK,
        section="claims",
    )


@router.get("/console/queues/claims/{claim_id}")
def claim(request: Request, claim_id: int) -> Response:
    page = ConsolePage(request)
    return _claim_page(page, claim_id, Form({"decision": "approve"}))


@router.get("/console/queues/claims/{claim_id}/receipts/{n}")
def claim_receipt(request: Request, claim_id: int, n: int) -> Response:
    """A receipt photo of the claim, for the clerk reviewing it."""
    page = ConsolePage(request)
    try:
        path, kind = page.services.member.claim_receipt(page.staff, claim_id, n)
    except ServiceError:
        return _not_found(page)
    return FileResponse(path, media_type=kind, headers=receipt_headers(path, n))


@router.post("/console/queues/claims/{claim_id}")
async def review_claim(request: Request, claim_id: int) -> Response:
    page = ConsolePage(request)
    form = await page.form()
    decision = _decision(page, form)
    reason = _reason(page, form, needed=decision == "reject")
    if form.ok:
        try:
            if decision == "approve":
                page.services.claims.approve(page.staff, claim_id)
            else:
                page.services.claims.reject(page.staff, claim_id, reason)
        except NotFoundError:
            return _not_found(page)
        except ServiceError as exc:
            page.refuse(form, exc)
        else:
            done = "claim_approved" if decision == "approve" else "claim_rejected"
            return page.redirect(f"/console/queues/claims?done={done}&id={claim_id}")
    return _claim_page(page, claim_id, form, status=422)


@router.post("/console/queues/claims/{claim_id}/lines")
async def classify_claim(request: Request, claim_id: int) -> Response:
    """The clerk classes the receipt lines as printed: a class, or a catalogue code."""
    page = ConsolePage(request)
    form = await page.form()
    try:
        lines = page.services.claims.get(page.staff, claim_id)["lines"]
    except NotFoundError:
        return _not_found(page)
    classes = []
    for n in range(1, len(lines) + 1):
        code, cls = form.get(f"code_{n}"), form.get(f"cls_{n}")
        if not code and cls not in ("A", "B", "self_pay"):
            form.error(f"cls_{n}", page.t("Choose a class, or give a catalogue code."))
        classes.append(code or cls)
    if form.ok:
        try:
            page.services.claims.classify(page.staff, claim_id, classes)
        except NotFoundError:
            return _not_found(page)
        except ServiceError as exc:
            page.refuse(form, exc)
        else:
            return page.redirect(f"/console/queues/claims/{claim_id}")
    return _claim_page(page, claim_id, form, status=422)


# --- special-disease approvals -----------------------------------------------------------


@router.get("/console/queues/approvals")
def approvals_queue(request: Request) -> Response:
    page = ConsolePage(request)
    approvals = page.services.certificates.approvals(page.staff, "applied")
    return page.render(
        "console/approvals.html", approvals=approvals, done=_done(page), section="approvals"
    )


def _approval_page(page: ConsolePage, approval_id: int, form: Form, status: int = 200) -> Response:
    try:
        approval = page.services.certificates.approval(page.staff, approval_id)
    except NotFoundError:
        return _not_found(page)
    return page.render(
        "console/approval.html",
        status=status,
        approval=approval,
        name=_names(page, [approval["person_id"]])[approval["person_id"]],
        form=form,
        may_decide=page.staff.role is Role.APPROVER,
        section="approvals",
    )


@router.get("/console/queues/approvals/{approval_id}")
def approval(request: Request, approval_id: int) -> Response:
    page = ConsolePage(request)
    return _approval_page(page, approval_id, Form({"decision": "approve"}))


@router.post("/console/queues/approvals/{approval_id}")
async def decide_approval(request: Request, approval_id: int) -> Response:
    page = ConsolePage(request)
    form = await page.form()
    decision = _decision(page, form)
    reason = _reason(page, form, needed=decision == "reject")
    valid_from = valid_to = None
    if decision == "approve":
        valid_from = _day(page, form, "valid_from")
        valid_to = _day(page, form, "valid_to")
        if reason:
            form.error("reason", page.t("Only a rejection has a reason."))
    if form.ok:
        try:
            page.services.certificates.decide_approval(
                page.staff,
                approval_id,
                decision == "approve",
                valid_from=valid_from,
                valid_to=valid_to,
                reason=reason if decision == "reject" else None,
            )
        except NotFoundError:
            return _not_found(page)
        except ServiceError as exc:
            page.refuse(form, exc)
        else:
            done = "approval_approved" if decision == "approve" else "approval_rejected"
            return page.redirect(f"/console/queues/approvals?done={done}&id={approval_id}")
    return _approval_page(page, approval_id, form, status=422)


# --- school class lists ------------------------------------------------------------------


@router.get("/console/queues/schools")
def schools_queue(request: Request) -> Response:
    page = ConsolePage(request)
    batches = page.services.console.school_queue(page.staff)
    return page.render("console/schools.html", batches=batches, done=_done(page), section="schools")


def _batch_page(
    page: ConsolePage, batch_id: int, form: Form, form_row: int | None = None, status: int = 200
) -> Response:
    try:
        rows = page.services.schools.rows(page.staff, batch_id, status="submitted")
        school = page.services.schools.school(page.staff, rows["batch"]["school_id"])
    except NotFoundError:
        return _not_found(page)
    return page.render(
        "console/batch.html",
        status=status,
        batch=rows["batch"],
        rows=rows["rows"],
        school=school,
        form=form,
        form_row=form_row,
        may_review=page.staff.role is Role.CLERK,
        done=_done(page),
        section="schools",
    )


@router.get("/console/queues/schools/{batch_id}")
def batch(request: Request, batch_id: int) -> Response:
    page = ConsolePage(request)
    return _batch_page(page, batch_id, Form())


@router.post("/console/queues/schools/{batch_id}/accept")
async def accept_batch(request: Request, batch_id: int) -> Response:
    page = ConsolePage(request)
    form = await page.form()
    try:
        page.services.schools.review(page.staff, batch_id, accept_all=True)
    except NotFoundError as exc:
        if exc.code == "unknown_batch":
            return _not_found(page)
        page.refuse(form, exc)
    except ServiceError as exc:
        page.refuse(form, exc)
    else:
        return page.redirect(f"/console/queues/schools?done=batch_accepted&id={batch_id}")
    return _batch_page(page, batch_id, form, status=422)


@router.post("/console/queues/schools/{batch_id}/return")
async def return_row(request: Request, batch_id: int) -> Response:
    page = ConsolePage(request)
    form = await page.form()
    try:
        row_no = int(form.get("row"))
    except ValueError:
        return _not_found(page)
    reason = form.get("reason")
    if not reason:
        form.error("reason", page.t("Give the reason: the school reads it to correct the row."))
    elif len(reason) > MAX_REASON:
        form.error("reason", page.t("At most 500 characters."))
    if form.ok:
        try:
            page.services.schools.review(page.staff, batch_id, returns=[(row_no, reason)])
        except NotFoundError as exc:
            if exc.code == "unknown_batch":
                return _not_found(page)
            page.refuse(form, exc)
        except ServiceError as exc:
            page.refuse(form, exc)
        else:
            return page.redirect(
                f"/console/queues/schools/{batch_id}?done=row_returned&id={row_no}"
            )
    return _batch_page(page, batch_id, form, form_row=row_no, status=422)


# --- cards past their due date -----------------------------------------------------------


def _cards_page(page: ConsolePage, form: Form, status: int = 200) -> Response:
    regions = page.services.console.regions(page.staff)
    overdue: list[dict[str, Any]] = []
    today = ""
    for region in regions:
        found = page.services.cards.overdue_cards(page.staff, region["code"])
        today = found["today"]
        overdue += [{**card, "region": region["code"]} for card in found["cards"]]
    overdue.sort(key=lambda c: (c["due_on"], c["number"]))
    return page.render(
        "console/cards.html",
        status=status,
        cards=overdue,
        today=today,
        form=form,
        may_issue=page.staff.role is Role.CLERK,
        region_name=lambda code: page.region_name(code, regions),
        done=_done(page),
        section="cards",
    )


@router.get("/console/queues/cards")
def cards_queue(request: Request) -> Response:
    page = ConsolePage(request)
    return _cards_page(page, Form())


@router.post("/console/queues/cards/{number}/issue")
async def issue_card(request: Request, number: str) -> Response:
    page = ConsolePage(request)
    form = await page.form()
    try:
        page.services.cards.issue_card(page.staff, number)
    except ServiceError as exc:
        page.refuse(form, exc)
        return _cards_page(page, form, status=422)
    return page.redirect(f"/console/queues/cards?done=card_issued&id={number}")
