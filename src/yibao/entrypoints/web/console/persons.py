"""The console's home (the queues' counts and the search box), person search, and a
person's page: enrolments, cards, approvals, filings, referrals, claims and a year's
settlements with their split."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.entrypoints.web.console.common import ConsolePage
from yibao.entrypoints.web.pages import Form
from yibao.service.errors import NotFoundError, ServiceError

router = APIRouter(include_in_schema=False)


@router.get("/console")
def home(request: Request) -> Response:
    page = ConsolePage(request)
    counts = page.services.console.queue_counts(page.staff)
    return page.render("console/home.html", counts=counts, form=Form(), section="home")


@router.get("/console/persons")
def persons(request: Request) -> Response:
    page = ConsolePage(request)
    form = Form({"q": request.query_params.get("q", "").strip()})
    results: list[dict[str, Any]] | None = None
    if "q" in request.query_params:
        try:
            results = page.services.console.search(page.staff, form.get("q"))
        except ServiceError as exc:
            page.refuse(form, exc)
    regions = page.services.console.regions(page.staff)
    return page.render(
        "console/persons.html",
        status=200 if form.ok else 422,
        form=form,
        results=results,
        regions=regions,
        region_name=lambda code: page.region_name(code, regions),
        section="persons",
    )


@router.get("/console/persons/{person_id}")
def person(request: Request, person_id: str) -> Response:
    page = ConsolePage(request)
    who = page.staff
    services = page.services
    try:
        found = services.enrolment.person(who, person_id)
    except NotFoundError:
        return page.render("error.html", status=404, kind="not_found")
    years = sorted({int(e["year"]) for e in found["enrolments"]})
    form = Form({"year": request.query_params.get("year", "").strip()})
    year: int | None = None
    if form.get("year"):
        try:
            year = int(form.get("year"))
        except ValueError:
            form.error("year", page.t("Choose one of the person's years."))
        else:
            if year not in years:
                form.error("year", page.t("Choose one of the person's years."))
                year = None
    if year is None and years:
        this_year = services.console.clock().year
        year = this_year if this_year in years else years[-1]
        if form.ok:
            form.values["year"] = str(year)
    year_view: dict[str, Any] | None = None
    year_error = ""
    if year is not None:
        try:
            year_view = services.queries.person_year(who, found["id"], year)
            for limit in year_view["limits"]:
                limit["share"] = _share(limit["used"], limit["limit"])
        except ServiceError as exc:
            year_error = page.refusal(exc)
    regions = services.console.regions(who)
    names = services.console.records.institution_names(
        who, [s["institution_id"] for s in (year_view or {}).get("settlements", [])]
    )
    return page.render(
        "console/person.html",
        institution_names=names,
        status=200 if form.ok else 422,
        person=found,
        approvals=services.certificates.approvals_of(who, found["id"]),
        filings=services.certificates.filings_of(who, found["id"]),
        referrals=services.certificates.referrals_of(who, found["id"]),
        claims=services.console.person_claims(who, found["id"]),
        years=years,
        year=year,
        year_view=year_view,
        year_error=year_error,
        form=form,
        region_name=lambda code: page.region_name(code, regions),
        section="persons",
    )


def _share(used: str, limit: str) -> str:
    """How much of a limit is used, in percent (for the bar's width), at most 100."""
    whole = Decimal(limit)
    if whole <= 0:
        return "0"
    return str(min(Decimal(100), Decimal(used) / whole * 100).quantize(Decimal("0.1")))
