"""Looking things up before a visit: the designated institutions (by region, level, kind
and name) and the catalogue (class, price cap, first self-pay, restriction)."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.domain.money import fmt_rate
from yibao.entrypoints.web.member.common import LABELS, member, put_error, render
from yibao.entrypoints.web.pages import Form, Page, _
from yibao.service.errors import ServiceError

router = APIRouter(prefix="/app", include_in_schema=False)

INSTITUTION_KINDS = {
    "hospital": _("Hospital"),
    "clinic": _("Clinic"),
    "pharmacy": _("Pharmacy"),
}
CLASSES = {
    "A": _("Class A: inside the catalogue, no first self-pay"),
    "B": _("Class B: inside the catalogue, a first self-pay share"),
    "self_pay": _("Outside the catalogue: you pay it all"),
}
CATALOGUES = {"drug": _("Drug"), "service": _("Medical service"), "consumable": _("Consumable")}


def _home_region(page: Page) -> str:
    who = member(page)
    family = page.services.member.family(who)
    return str(family[0]["region"]) if family else ""


@router.get("/institutions")
def institutions(request: Request) -> Response:
    page = Page(request)
    who = member(page)
    query = request.query_params
    form = Form({k: query.get(k, "").strip() for k in ("q", "region", "level", "kind")})
    if "region" not in query:
        form.values["region"] = _home_region(page)
    level = form.get("level")
    found: list[dict[str, object]] = []
    try:
        found = page.services.member.lookup.institutions(
            who,
            region=form.get("region") or None,
            level=int(level) if level.isdigit() else None,
            kind=form.get("kind") or None,
            words=form.get("q"),
        )
    except ServiceError as exc:
        put_error(page, form, exc)
    return render(
        page,
        "member/institutions.html",
        tab="services",
        labels=LABELS,
        kinds=INSTITUTION_KINDS,
        form=form,
        found=found,
    )


@router.get("/catalogue")
def catalogue(request: Request) -> Response:
    page = Page(request)
    who = member(page)
    form = Form({"q": request.query_params.get("q", "").strip()})
    found: list[dict[str, object]] | None = None
    if form.get("q"):
        try:
            found = page.services.member.lookup.catalogue(who, _home_region(page), form.get("q"))
        except ServiceError as exc:
            if exc.code == "too_short":
                form.error("q", page.t("Type at least two characters of the name or code."))
            else:
                put_error(page, form, exc)
    return render(
        page,
        "member/catalogue.html",
        tab="services",
        labels=LABELS,
        classes=CLASSES,
        catalogues=CATALOGUES,
        form=form,
        found=found,
        rate=lambda v: fmt_rate(Decimal(str(v))),
    )


NOTICES = {
    "claim.approve": _("The claim for {name} is approved."),
    "claim.reject": _("The claim for {name} is rejected."),
    "claim.pay": _("The claim for {name} is paid."),
    "card.issue": _("The card of {name} is ready: it can be used now."),
    "approval.approve": _("The special-disease application of {name} is approved."),
    "approval.reject": _("The special-disease application of {name} is rejected."),
    "filing.create": _("The remote-treatment filing of {name} is registered."),
    "referral.create": _("A hospital referred {name} for treatment in another region."),
}
LINKS = {"claim": "/app/claims", "card": "/app/cards", "filing": "/app/services"}


@router.get("/notices")
def notices(request: Request) -> Response:
    """The family's notices, newest first; opening the page marks them read."""
    page = Page(request)
    who = member(page)
    found = page.services.member.notices.read(who)
    return render(
        page,
        "member/notices.html",
        tab="notices",
        notices=found["items"],
        texts=NOTICES,
        links=LINKS,
        unread=0,
    )
