"""Estimate a stay, and the online services: remote-treatment filings, a lost card, manual
reimbursement with receipt photos and its status."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.datastructures import UploadFile

from yibao.domain.model import Kind
from yibao.entrypoints.web.member.common import (
    CAUSES,
    CLAIM_REASONS,
    DELIVERIES,
    LABELS,
    amount_of,
    day_of,
    member,
    person_choice,
    put_error,
    render,
)
from yibao.entrypoints.web.pages import Form, Page, _
from yibao.entrypoints.web.security import receipt_headers
from yibao.service.errors import NotFoundError, ServiceError
from yibao.service.member import ClaimForm
from yibao.service.receipts import MAX_RECEIPT_BYTES, MAX_RECEIPTS

router = APIRouter(prefix="/app", include_in_schema=False)

ESTIMATE_KINDS = ("inpatient", "outpatient")
CLAIM_KINDS = ("outpatient", "emergency", "inpatient")
RECEIPT_LINES = 8  # lines of a receipt the form takes, as printed


# --- estimate ---------------------------------------------------------------------------


@router.get("/estimate")
def estimate_form(request: Request) -> Response:
    page = Page(request)
    who = member(page)
    form = Form(
        {
            "person": who.person_id or "",
            "kind": "inpatient",
            "level": "2",
            "cause": "ordinary",
            "delivery": "",
            "day": page.services.member.clock().isoformat(),
        }
    )
    return _estimate_page(page, form, None)


@router.post("/estimate")
async def estimate(request: Request) -> Response:
    page = Page(request)
    who = member(page)
    form = await page.form()
    family = page.services.member.family(who)
    person = person_choice(page, form, family)
    amount = amount_of(page, form, "amount")
    if amount is not None and amount <= 0:
        form.error("amount", page.t("Enter an amount above 0."))
    kind = form.get("kind")
    if kind not in ESTIMATE_KINDS:
        form.error("kind", page.t("Choose inpatient or outpatient."))
    level = form.get("level")
    if level not in ("0", "1", "2", "3"):
        form.error("level", page.t("Choose the hospital's level."))
    cause, delivery = _encounter_details(page, form)
    day = day_of(page, form, "day")
    answer = None
    if form.ok and person and amount is not None and day is not None:
        try:
            answer = page.services.member.estimate(
                who, person, Kind(kind), int(level), amount, day, cause, delivery or None
            )
        except ServiceError as exc:
            put_error(page, form, exc)
    return _estimate_page(page, form, answer, status=200 if form.ok else 422)


def _encounter_details(page: Page, form: Form) -> tuple[str, str]:
    """The cause of the visit, and a childbirth stay's delivery ("" for none)."""
    cause = form.get("cause") or "ordinary"
    if cause not in CAUSES:
        form.error("cause", page.t("Choose what the visit is for."))
    delivery = form.get("delivery")
    if delivery not in DELIVERIES:
        form.error("delivery", page.t("Choose whether this is a childbirth."))
    elif delivery and form.get("kind") != "inpatient":
        form.error("delivery", page.t("A childbirth is estimated as an inpatient stay."))
    return cause, delivery


def _estimate_page(page: Page, form: Form, answer: object, status: int = 200) -> Response:
    who = member(page)
    return render(
        page,
        "member/estimate.html",
        status=status,
        tab="estimate",
        labels=LABELS,
        form=form,
        family=page.services.member.family(who),
        kinds=ESTIMATE_KINDS,
        causes=CAUSES,
        deliveries=DELIVERIES,
        answer=answer,
    )


# --- the services page ------------------------------------------------------------------


@router.get("/services")
def services_page(request: Request) -> Response:
    page = Page(request)
    who = member(page)
    coverage = page.services.member.coverage(who)
    claims = page.services.member.claims(who)
    return render(
        page,
        "member/services.html",
        tab="services",
        labels=LABELS,
        coverage=coverage,
        claims=claims,
        done=request.query_params.get("done", ""),
    )


# --- remote-treatment filing ------------------------------------------------------------


@router.get("/filings/new")
def filing_form(request: Request) -> Response:
    page = Page(request)
    who = member(page)
    return _filing_page(page, Form({"person": who.person_id or ""}))


@router.post("/filings/new")
async def file_remote_treatment(request: Request) -> Response:
    page = Page(request)
    who = member(page)
    form = await page.form()
    for name in ("region", "valid_from", "valid_to"):
        form.values.setdefault(name, "")
    family = page.services.member.family(who)
    person = person_choice(page, form, family)
    if not form.get("region"):
        form.error("region", page.t("Choose the region where you live."))
    start = day_of(page, form, "valid_from")
    end = day_of(page, form, "valid_to")
    if form.ok and person and start and end:
        try:
            page.services.certificates.file_remote_treatment(
                who, person, form.get("region"), start, end
            )
        except ServiceError as exc:
            put_error(page, form, exc)
        else:
            return page.redirect("/app/services?done=filed")
    return _filing_page(page, form, status=422)


def _elsewhere(regions: list[dict[str, str]], family: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The regions a filing may name: every known region but the family's own (a family
    insured in two regions sees them all; the service refuses a person's own)."""
    homes = {p["region"] for p in family}
    return [r for r in regions if r["code"] not in homes] if len(homes) == 1 else regions


def _filing_page(page: Page, form: Form, status: int = 200) -> Response:
    who = member(page)
    family = page.services.member.family(who)
    return render(
        page,
        "member/filing_new.html",
        status=status,
        tab="services",
        form=form,
        family=family,
        regions=_elsewhere(page.services.member.regions(), family),
        home={p["id"]: p["region"] for p in family},
    )


# --- cards ------------------------------------------------------------------------------


@router.get("/cards")
def cards(request: Request) -> Response:
    page = Page(request)
    who = member(page)
    coverage = page.services.member.coverage(who)
    return render(
        page,
        "member/cards.html",
        tab="services",
        labels=LABELS,
        coverage=coverage,
        done=request.query_params.get("done", ""),
    )


@router.get("/cards/{number}/lost")
def card_lost_form(request: Request, number: str) -> Response:
    page = Page(request)
    who = member(page)
    card = _card(page, number)
    if card is None:
        return page.render("error.html", status=404, kind="not_found")
    del who
    return render(page, "member/card_lost.html", tab="services", card=card, form=Form())


@router.post("/cards/{number}/lost")
async def report_lost(request: Request, number: str) -> Response:
    page = Page(request)
    who = member(page)
    form = await page.form()
    card = _card(page, number)
    if card is None:
        return page.render("error.html", status=404, kind="not_found")
    try:
        page.services.cards.report_loss(who, number)
    except NotFoundError:
        return page.render("error.html", status=404, kind="not_found")
    except ServiceError as exc:
        put_error(page, form, exc)
        return render(
            page, "member/card_lost.html", status=409, tab="services", card=card, form=form
        )
    return page.redirect("/app/cards?done=lost")


def _card(page: Page, number: str) -> dict[str, object] | None:
    who = member(page)
    for person in page.services.member.coverage(who)["persons"]:
        for card in person["cards"]:
            if card["number"] == number:
                return {**card, "name": person["name"]}
    return None


# --- manual reimbursement ---------------------------------------------------------------


@router.get("/claims")
def claims(request: Request) -> Response:
    page = Page(request)
    who = member(page)
    return render(
        page,
        "member/claims.html",
        tab="services",
        labels=LABELS,
        claims=page.services.member.claims(who),
        done=request.query_params.get("done", ""),
    )


@router.get("/claims/{claim_id}/receipts/{n}")
def claim_receipt(request: Request, claim_id: int, n: int) -> Response:
    """A receipt photo of one of the family's claims, shown again."""
    page = Page(request)
    who = member(page)
    try:
        path, kind = page.services.member.claim_receipt(who, claim_id, n)
    except ServiceError:
        return render(page, "error.html", status=404, kind="not_found")
    return FileResponse(path, media_type=kind, headers=receipt_headers(path, n))


@router.get("/claims/new")
def claim_form(request: Request) -> Response:
    page = Page(request)
    who = member(page)
    form = Form({"person": who.person_id or "", "reason": "emergency_elsewhere", "level": "2"})
    return _claim_page(page, form)


@router.post("/claims/new")
async def submit_claim(request: Request) -> Response:
    page = Page(request)
    who = member(page)
    form = await page.form()
    for name in ("hospital_name", "region", "day", "confirm_duplicate", "referred_from"):
        form.values.setdefault(name, "")
    family = page.services.member.family(who)
    person = person_choice(page, form, family)
    _check_claim_fields(page, form)
    origin = _referred_from(page, form)
    day = day_of(page, form, "day")
    lines = _receipt_lines(page, form)
    receipts = await _receipts(request, page, form)
    if form.ok and person and day and lines and receipts is not None:
        claim = ClaimForm(
            person_id=person,
            reason=form.get("reason"),
            kind=Kind(form.get("kind")),
            day=day,
            hospital_name=form.get("hospital_name"),
            hospital_level=int(form.get("level")),
            hospital_region=form.get("region"),
            hospital_designated=form.get("designated") == "yes",
            lines=lines,
            confirm_duplicate=form.get("confirm_duplicate") == "yes",
            referred_from=origin,
        )
        try:
            page.services.member.submit_claim(who, claim, receipts)
        except ServiceError as exc:
            if exc.code in ("unknown_origin", "invalid_referred_from"):
                form.error("referred_from", page.t(NOT_AN_ORIGIN))
            else:
                put_error(page, form, exc, {"date": "day"})
        else:
            return page.redirect("/app/claims?done=submitted")
    return _claim_page(page, form, status=422)


def _check_claim_fields(page: Page, form: Form) -> None:
    if form.get("reason") not in CLAIM_REASONS:
        form.error("reason", page.t("Choose a reason."))
    if form.get("kind") not in CLAIM_KINDS:
        form.error("kind", page.t("Choose the kind of treatment."))
    if not form.get("hospital_name"):
        form.error("hospital_name", page.t("Enter the hospital's name."))
    elif len(form.get("hospital_name")) > 200:
        form.error("hospital_name", page.t("At most 200 characters."))
    if form.get("level") not in ("0", "1", "2", "3"):
        form.error("level", page.t("Choose the hospital's level."))
    if form.get("region") not in {r["code"] for r in page.services.member.regions()}:
        form.error("region", page.t("Choose the hospital's region."))


# The service says exactly why (another person's, later, another year, reversed); the
# family needs what to do.
NOT_AN_ORIGIN = _(
    "That stay cannot be the one this stay was referred from: choose an earlier hospital "
    "stay of the same person in the same year, or none."
)


def _referred_from(page: Page, form: Form) -> int | None:
    """The earlier stay a hospital stay was referred from (a choice of the family's stays,
    by hospital and date), if any; only a hospital stay is referred."""
    raw = form.get("referred_from")
    if not raw:
        return None
    if not raw.isdigit():
        form.error("referred_from", page.t(NOT_AN_ORIGIN))
        return None
    if form.get("kind") != Kind.INPATIENT.value:
        form.error("referred_from", page.t("Only a hospital stay is referred from another."))
        return None
    return int(raw)


def earlier_stays(page: Page, family: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The family's hospital stays of this year and the last (a claim is made within
    months), newest first, as choices: the person, the hospital by name and the date."""
    who = member(page)
    year = page.services.member.clock().year
    found: list[tuple[str, str, str]] = []
    for person in family:
        for y in (year, year - 1):
            for s in page.services.claims.earlier_stays(who, person["id"], y):
                label = f"{person['name']} · {s['hospital']} · {s['date']}"
                found.append((s["date"], str(s["settlement_id"]), label))
    return [(value, label) for _, value, label in sorted(found, reverse=True)]


def _receipt_lines(page: Page, form: Form) -> tuple[tuple[str, Decimal], ...] | None:
    """The receipt's lines as printed (what it says, and the amount): the clerk classes
    them on review. A line needs both; empty lines are left out; one at least."""
    found: list[tuple[str, Decimal]] = []
    for n in range(1, RECEIPT_LINES + 1):
        text, amount = f"item_{n}", f"amount_{n}"
        form.values.setdefault(text, "")
        form.values.setdefault(amount, "")
        if not form.get(text) and not form.get(amount):
            continue
        if not form.get(text):
            form.error(text, page.t("Write what the receipt says for this amount."))
        elif len(form.get(text)) > 100:
            form.error(text, page.t("At most 100 characters."))
        value = amount_of(page, form, amount)
        if value is not None and value <= 0:
            form.error(amount, page.t("Enter an amount in yuan, such as 1200.50."))
        elif value is not None and form.get(text):
            found.append((form.get(text), value))
    if not found and form.ok:
        form.error("item_1", page.t("Copy at least one line of the receipt."))
    return tuple(found) if form.ok else None


async def _receipts(request: Request, page: Page, form: Form) -> list[bytes] | None:
    """The attached files, read up to the size limit (a bigger one is refused, not read)."""
    data = await request.form()
    files = [f for f in data.getlist("receipts") if isinstance(f, UploadFile) and f.filename]
    form.values.setdefault("receipts", "")
    if not files:
        form.error("receipts", page.t("Attach a photo of each receipt."))
        return None
    if len(files) > MAX_RECEIPTS:
        form.error("receipts", page.t("At most 5 receipt files."))
        return None
    out = []
    for f in files:
        content = await f.read(MAX_RECEIPT_BYTES + 1)
        if len(content) > MAX_RECEIPT_BYTES:
            form.error("receipts", page.t("Each receipt file may be at most 5 MB."))
            return None
        out.append(content)
    return out


def _claim_page(page: Page, form: Form, status: int = 200) -> Response:
    who = member(page)
    family = page.services.member.family(who)
    return render(
        page,
        "member/claim_new.html",
        status=status,
        tab="services",
        labels=LABELS,
        form=form,
        family=family,
        stays=earlier_stays(page, family),
        regions=page.services.member.regions(),
        kinds=CLAIM_KINDS,
        receipt_lines=RECEIPT_LINES,
    )
