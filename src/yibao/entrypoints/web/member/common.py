"""What the member app's pages share: the roles, labels of codes, error messages of the
services' refusals, and parsing of typed values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi.responses import Response

from yibao.domain.access import Principal, Role
from yibao.domain.money import AmountError, parse_amount
from yibao.entrypoints.web import words
from yibao.entrypoints.web.pages import Form, Page, _
from yibao.service.errors import ServiceError

MEMBER_ROLES = (Role.INSURED, Role.GUARDIAN)


def member(page: Page) -> Principal:
    """The signed-in member (insured or guardian); sign-in or a 403 page otherwise."""
    return page.require(*MEMBER_ROLES)


# Codes the services answer with -> what the member reads (before the common ones).
MEMBER_ERRORS: dict[str, str] = {
    "missing_field": _("Fill this in."),
    "invalid_field": _("This value is not accepted."),
    "birth_date_mismatch": _("The birth date does not match the ID number."),
    "invalid_phone": _("A mobile number has 11 digits and starts with 1."),
    "real_name_mismatch": _(
        "The name, ID number and birth date do not match an insured person's record."
    ),
    "account_exists": _("You already have an account: sign in instead."),
    "same_region": _("Choose a region other than the one you are insured in."),
    "filing_overlaps": _("You already have a filing for some of these dates."),
    "invalid_period": _("The end date is before the start date."),
    "invalid_year": _("This date is too far away."),
    "card_not_active": _("Only a card in use can be reported lost."),
    "card_changed": _("The card changed meanwhile: look at it again."),
    "unknown_card": _("No such card."),
    "missing_receipts": _("Attach a photo of each receipt."),
    "too_many_receipts": _("At most 5 receipt files."),
    "receipt_too_large": _("Each receipt file may be at most 5 MB."),
    "receipt_type": _("A receipt must be a JPEG or PNG photo or a PDF."),
    "empty_receipt": _("A receipt file is empty."),
    "amount_too_large": _("The amount is too large."),
    "no_policy_in_force": _("No rules are in force on that date."),
    "invalid_bill": _("This cannot be computed: check the amounts."),
    "unclassified_line": _("Enter at least one amount."),
    "not_an_adult": _(
        "Bind an adult other than yourself: children are linked on your coverage page."
    ),
    "already_linked": _("This person is bound already, or asked."),
    "link_status": _("This request was answered already."),
    "duplicate_claim": _(
        "You have claimed a bill of the same day, hospital and total already. If this is "
        "another bill, tick the box and send it again."
    ),
}

SCHEMES = {
    "student": _("Students and children"),
    "resident": _("Urban and rural residents"),
    "employee": _("Employees"),
}
KINDS = {
    "outpatient": _("Outpatient"),
    "emergency": _("Emergency"),
    "inpatient": _("Inpatient"),
    "special_outpatient": _("Special-disease outpatient"),
    "pharmacy": _("Pharmacy"),
}
ENROLMENT_STATUSES = {
    "pending": _("Premium not yet paid"),
    "active": _("Insured"),
    "cancelled": _("Cancelled"),
}
CARD_STATUSES = {
    "ordered": _("Being made"),
    "active": _("In use"),
    "lost": _("Reported lost"),
    "replaced": _("Replaced"),
}
CLAIM_STATUSES = {
    "submitted": _("Submitted, waiting for review"),
    "approved": _("Approved"),
    "rejected": _("Rejected"),
    "paid": _("Paid"),
}
CLAIM_REASONS = {
    "emergency_elsewhere": _("Emergency treatment elsewhere"),
    "card_lost": _("Card lost"),
    "other": _("Other"),
}
LIMITS = {
    "outpatient_fund": _("Outpatient fund limit for the year"),
    "outpatient_threshold": _("Outpatient threshold for the year"),
    "top_line_pooled_cost": _("Top line (pooled cost of the year)"),
    "top_line_fund_payment": _("Top line (fund payments of the year)"),
    "segment": _("Inpatient segment {lower}–{upper} (pooled cost)"),
    "serious_illness_deductible": _("Serious-illness deductible"),
}
LEVELS = {
    0: _("Level 0 (community clinic)"),
    1: _("Level 1"),
    2: _("Level 2"),
    3: _("Level 3"),
}
CAUSES = {
    "ordinary": _("An illness"),
    "accident": _("An accidental injury (no one else is liable)"),
}
DELIVERIES = {
    "": _("Not a childbirth"),
    "natural": _("Childbirth, natural delivery"),
    "caesarean": _("Childbirth, caesarean section"),
}
LINE_CLASSES = {
    "A": _("Class A items"),
    "B": _("Class B items"),
    "self_pay": _("Items outside the catalogue"),
}
LABELS = {
    "line_classes": LINE_CLASSES,
    "schemes": SCHEMES,
    "kinds": KINDS,
    "enrolment": ENROLMENT_STATUSES,
    "cards": CARD_STATUSES,
    "claims": CLAIM_STATUSES,
    "reasons": CLAIM_REASONS,
    "limits": LIMITS,
    "levels": LEVELS,
    "causes": CAUSES,
    "deliveries": DELIVERIES,
}


def error_text(page: Page, exc: ServiceError) -> str:
    known = MEMBER_ERRORS.get(exc.code)
    if known is not None:
        return page.t(known)
    return page.error_text(exc)


def put_error(
    page: Page, form: Form, exc: ServiceError, fields: Mapping[str, str] | None = None
) -> None:
    """A service's refusal next to the field it names (or on top of the form)."""
    name = str(exc.details.get("field", ""))
    name = (fields or {}).get(name, name)
    form.error(name if name in form.values else "", error_text(page, exc))


def day_of(page: Page, form: Form, name: str) -> date | None:
    raw = form.get(name)
    if not raw:
        form.error(name, page.t("Enter a date."))
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        form.error(name, page.t("Enter a date as YYYY-MM-DD."))
        return None


def amount_of(page: Page, form: Form, name: str, *, required: bool = True) -> Decimal | None:
    """A yuan amount: exact, at most two decimals, at most 10,000,000."""
    raw = form.get(name).replace(",", "")
    if not raw:
        if required:
            form.error(name, page.t("Enter an amount in yuan."))
            return None
        return Decimal(0)
    try:
        value = parse_amount(raw)
    except AmountError:
        form.error(name, page.t("Enter an amount in yuan, such as 1200.50."))
        return None
    if value > Decimal("10000000"):
        form.error(name, page.t("At most 10,000,000 yuan."))
        return None
    return value


def person_choice(page: Page, form: Form, family: list[dict[str, str]]) -> str | None:
    chosen = form.get("person")
    if chosen not in {p["id"] for p in family}:
        form.error("person", page.t("Choose a person."))
        return None
    return chosen


def render(page: Page, template: str, status: int = 200, **context: Any) -> Response:
    """A member page: the tabs need this year, and which tab is open (none on sign-up)."""
    today = page.services.member.clock()
    context.setdefault("tab", "")
    regions = {r["code"]: r[page.lang] or r["zh"] for r in page.services.member.regions()}
    unread = 0
    if page.who is not None and page.who.role in MEMBER_ROLES:
        unread = page.services.member.notices.unread(page.who)
    context.setdefault("unread", unread)
    return page.render(
        template,
        status=status,
        current_year=today.year,
        today=today,
        region_names=regions,
        **context,
    )


def person_label(page: Page, person: Mapping[str, Any]) -> str:
    """A person as a family tells them apart in a list: name and age (and the school)."""
    age = words.age_on(person.get("birth_date"), page.services.member.clock())
    parts = [str(person["name"])]
    if age is not None:
        parts.append(page.t("{n} years old", n=age))
    if person.get("school"):
        parts.append(str(person["school"]))
    return " · ".join(parts)
