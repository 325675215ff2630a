"""A settlement as the clerk reads it (with its reversal), the audit log with filters,
and the fund's income, spending and balance by month."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.domain.access import Role
from yibao.entrypoints.web.console.common import ConsolePage
from yibao.entrypoints.web.pages import Form, _
from yibao.service.errors import NotFoundError, ServiceError

router = APIRouter(include_in_schema=False)

# The audit log's actions and records, as a clerk names them.
ACTIONS = {
    "settlement.reverse": _("settlement reversed"),
    "person.create": _("person registered"),
    "person.update": _("person corrected"),
    "enrolment.create": _("enrolled"),
    "enrolment.activate": _("premium paid, insured"),
    "guardian.link": _("child linked to a guardian"),
    "account.sign_up": _("signed up online"),
    "account.create": _("account made"),
    "account.role": _("account's role changed"),
    "account.password": _("password changed"),
    "token.issue": _("API token issued"),
    "token.revoke": _("API token revoked"),
    "claim.approve": _("claim approved"),
    "claim.reject": _("claim rejected"),
    "card.order": _("card ordered"),
    "card.issue": _("card issued"),
    "card.loss": _("card reported lost"),
    "card.replace": _("card replaced"),
    "batch.upload": _("class list uploaded"),
    "batch.submit": _("class list submitted"),
    "row.accept": _("pupil accepted"),
    "row.return": _("pupil returned"),
    "school.create": _("school added"),
    "collection.open": _("premium collection opened"),
    "collection.import": _("bank's result imported"),
    "catalogue.import": _("catalogue imported"),
    "catalogue.unmap": _("catalogue mapping cancelled"),
}
OBJECTS = {
    "settlement": _("Settlement"),
    "person": _("Person"),
    "enrolment": _("Enrolment"),
    "claim": _("Claim"),
    "card": _("Card"),
    "approval": _("Approval"),
    "filing": _("Filing"),
    "referral": _("Referral"),
    "account": _("Account"),
    "school_batch": _("Class list"),
}


@router.get("/console/settlements/{settlement_id}")
def settlement(request: Request, settlement_id: int) -> Response:
    page = ConsolePage(request)
    return _settlement_page(page, settlement_id, Form())


@router.post("/console/settlements/{settlement_id}/reversal")
async def reverse(request: Request, settlement_id: int) -> Response:
    page = ConsolePage(request, Role.CLERK)  # the API's reversers: institutions and clerks
    form = await page.form()
    reason = form.get("reason")
    if not reason:
        form.error("reason", page.t("Give the reason for the reversal."))
    elif len(reason) > 200:
        form.error("reason", page.t("At most 200 characters."))
    if form.ok:
        try:
            page.services.settlements.reverse(settlement_id, reason, page.staff)
        except NotFoundError:
            return page.render("error.html", status=404, kind="not_found")
        except ServiceError as exc:
            page.refuse(form, exc, {"reason": "reason"})
        else:
            return page.redirect(f"/console/settlements/{settlement_id}?reversed=1")
    return _settlement_page(page, settlement_id, form, status=422)


def _settlement_page(
    page: ConsolePage, settlement_id: int, form: Form, status: int = 200
) -> Response:
    try:
        found = page.services.console.records.settlement(page.staff, settlement_id)
    except NotFoundError:
        return page.render("error.html", status=404, kind="not_found")
    return page.render(
        "console/settlement.html",
        status=status,
        s=found,
        form=form,
        may_reverse=page.staff.role is Role.CLERK,
        reversed_now=page.request.query_params.get("reversed") == "1",
        region_names={
            r["code"]: str(r[page.lang] or r["zh"]) for r in page.services.member.regions()
        },
        section="persons",
    )


@router.get("/console/audit")
def audit(request: Request) -> Response:
    page = ConsolePage(request)
    query = request.query_params
    form = Form({k: query.get(k, "").strip()[:64] for k in ("object_type", "object_id", "actor")})
    entries = page.services.enrolment.audit(
        page.staff,
        object_type=form.get("object_type") or None,
        object_id=form.get("object_id") or None,
        actor=form.get("actor") or None,
    )
    return page.render(
        "console/audit.html",
        form=form,
        entries=entries,
        actions=ACTIONS,
        objects=OBJECTS,
        section="audit",
    )


@router.get("/console/fund")
def fund(request: Request) -> Response:
    page = ConsolePage(request)
    regions = page.services.console.regions(page.staff)
    query = request.query_params
    form = Form(
        {
            "region": query.get("region", "").strip() or (regions[0]["code"] if regions else ""),
            "year": query.get("year", "").strip() or str(page.services.console.clock().year),
        }
    )
    found = None
    try:
        found = page.services.console.records.fund_months(
            page.staff, form.get("region"), int(form.get("year"))
        )
    except ValueError:
        form.error("year", page.t("Give a year between 2000 and 2100."))
    except ServiceError as exc:
        page.refuse(form, exc)
    return page.render(
        "console/fund.html",
        status=200 if form.ok else 422,
        form=form,
        found=found,
        regions=regions,
        section="fund",
    )
