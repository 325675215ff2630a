"""What the console's pages share: the staff check, labels of stored codes in the page's
language, and service refusals translated by their code."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from yibao.domain.access import Principal, Role
from yibao.entrypoints.web.pages import Form, Page, _
from yibao.service.errors import ServiceError

STAFF = (Role.CLERK, Role.APPROVER)

# Service error codes the console meets, beyond the shared ones of pages.ERROR_MESSAGES.
CONSOLE_ERRORS: dict[str, str] = {
    "missing_query": _("Type a name, an ID number or a card number."),
    "query_too_long": _("Too long: at most 100 characters."),
    "unknown_region": _("No such region."),
    "invalid_year": _("Give a year between 2000 and 2100."),
    "unknown_claim": _("No such claim."),
    "claim_status": _("This claim has been reviewed already."),
    "unknown_approval": _("No such application."),
    "already_decided": _("This application has been decided already."),
    "missing_field": _("This field is required."),
    "invalid_field": _("This value is not accepted here."),
    "invalid_period": _("The end date is before the start date."),
    "before_application": _("The approval cannot start before the date of the application."),
    "unknown_batch": _("No such class list."),
    "missing_reason": _("Give the reason for returning the row."),
    "not_reviewable": _("Only submitted rows can be reviewed."),
    "nothing_to_review": _("This class list has no rows waiting for review."),
    "registered_elsewhere": _("The pupil is registered in another region."),
    "outside_enrolment_window": _("Enrolment for that year is not open today."),
    "unknown_card": _("No such card."),
    "card_not_ordered": _("This card is not waiting to be issued."),
    "card_changed": _("The card changed meanwhile: look at it again."),
    "person_exists": _("A person with this ID number is registered already: find them instead."),
    "invalid_name": _("Enter the name: at most 100 characters."),
    "invalid_phone": _("A mobile number has 11 digits and starts with 1."),
    "filing_overlaps": _("The person has a filing for some of these dates already."),
    "same_region": _("Choose a region other than the one the person is insured in."),
    "already_enrolled": _("The person is enrolled for that year already."),
    "unclassified_line": _("Class every line first."),
    "already_reversed": _("This settlement is reversed already."),
    "unknown_institution": _("No such institution."),
    "not_a_designated_hospital": _("Referrals are issued by designated hospitals only."),
    "not_insured_here": _("The hospital is not in the region the person is insured in."),
}

LABELS: dict[str, dict[str, str]] = {
    "scheme": {
        "student": _("Students and children"),
        "resident": _("Urban and rural residents"),
        "employee": _("Employees"),
    },
    "layer": {
        "basic": _("Basic fund"),
        "assistance": _("Medical assistance"),
        "serious_illness": _("Serious illness"),
    },
    "enrolment": {
        "pending": _("pending payment"),
        "active": _("active"),
        "cancelled": _("cancelled"),
    },
    "card": {
        "ordered": _("ordered"),
        "active": _("issued"),
        "lost": _("reported lost"),
        "replaced": _("replaced"),
    },
    "approval": {
        "applied": _("waiting for a decision"),
        "approved": _("approved"),
        "rejected": _("rejected"),
    },
    "claim": {
        "submitted": _("waiting for review"),
        "approved": _("approved"),
        "rejected": _("rejected"),
        "paid": _("paid"),
    },
    "reason": {
        "emergency_elsewhere": _("emergency elsewhere"),
        "card_lost": _("card lost"),
        "other": _("other"),
    },
    "kind": {
        "outpatient": _("outpatient"),
        "emergency": _("emergency"),
        "inpatient": _("inpatient"),
        "special_outpatient": _("special-disease outpatient"),
        "pharmacy": _("pharmacy"),
    },
    "route": {
        "refused": _("refused"),
        "out_of_scope": _("out of scope"),
        "outpatient": _("outpatient"),
        "inpatient": _("inpatient"),
        "special_outpatient": _("special-disease outpatient"),
        "child_major_disease": _("children's major disease"),
        "fixed_sum": _("fixed sum"),
    },
    "settlement": {
        "settled": _("settled"),
        "reversed": _("reversed"),
    },
    "row": {
        "imported": _("imported"),
        "declared": _("declared by the guardian"),
        "submitted": _("submitted"),
        "accepted": _("accepted"),
        "returned": _("returned"),
    },
    "channel": {
        "card": _("card"),
        "claim": _("claim"),
        "agency": _("at the agency"),
        "school": _("through a school"),
        "household": _("household"),
        "demo": _("demo"),
        "online": _("online"),
    },
    "cls": {
        "A": _("class A"),
        "B": _("class B"),
        "self_pay": _("self-paid"),
    },
    "limit": {
        "outpatient_fund": _("Outpatient fund limit"),
        "outpatient_threshold": _("Outpatient threshold"),
        "top_line_pooled_cost": _("Top line of pooled cost"),
        "top_line_fund_payment": _("Top line of fund payments"),
    },
    "disease": {
        "malignant_tumor": _("malignant tumour (radiotherapy, chemotherapy)"),
        "dialysis": _("renal dialysis"),
        "kidney_transplant": _("anti-rejection after a kidney transplant"),
    },
    "top_line": {
        "pooled_cost": _("pooled cost"),
        "fund_payment": _("fund payments"),
        "payment": _("serious-illness payment"),
    },
}


class ConsolePage(Page):
    """A console page: only staff (clerks and approvers) get one."""

    def __init__(self, request: Request, *roles: Role) -> None:
        super().__init__(request)
        self.staff: Principal = self.require(*(roles or STAFF))
        self._institutions: dict[str, str] = {}

    def label(self, kind: str, code: str | None) -> str:
        """A stored code (a scheme, a status...) in the page's language; an unknown code as is."""
        if code is None:
            return ""
        known = LABELS.get(kind, {}).get(code)
        return self.t(known) if known is not None else code

    def refusal(self, exc: ServiceError) -> str:
        known = CONSOLE_ERRORS.get(exc.code)
        return self.t(known) if known is not None else self.error_text(exc)

    def refuse(self, form: Form, exc: ServiceError, fields: dict[str, str] | None = None) -> None:
        """A service's refusal next to the field it names (or on top of the form)."""
        name = str(exc.details.get("field", ""))
        name = (fields or {}).get(name, name)
        form.error(name if name in form.values else "", self.refusal(exc))

    def region_name(self, code: str, regions: list[dict[str, str]]) -> str:
        for r in regions:
            if r["code"] == code:
                return r["name_zh"] if self.lang == "zh" else r["name_en"]
        for known in self.services.member.regions():  # another region (a filing's, a claim's)
            if known["code"] == code:
                return str(known[self.lang] or known["zh"])
        return code

    def institution_name(self, institution_id: str | None) -> str:
        """An institution's name for a page (its id when it is not in the registry)."""
        if not institution_id:
            return ""
        if institution_id not in self._institutions:
            names = self.services.console.records.institution_names(self.staff, [institution_id])
            self._institutions[institution_id] = names.get(institution_id, institution_id)
        return self._institutions[institution_id]

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("section", "")
        context.setdefault("institution_name", self.institution_name)
        return super().render(template, status=status, label=self.label, **context)
