"""The clerk's work on persons at the counter: registering a person, correcting one
(name, mobile, assistance: in the audit log), enrolling them for a year, and recording a
remote-treatment filing or a referral certificate a hospital issued on paper. Each is the
same use case as the API's; clerks only."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from yibao.domain.access import Role
from yibao.domain.model import Scheme
from yibao.entrypoints.web.console.common import ConsolePage
from yibao.entrypoints.web.pages import Form, _
from yibao.service.enrolment import NewPerson
from yibao.service.errors import NotFoundError, ServiceError

router = APIRouter(include_in_schema=False)
FORMS = ("correct", "enrol", "filing", "referral")


@router.get("/console/persons/new")
def new_person_form(request: Request) -> Response:
    page = ConsolePage(request, Role.CLERK)
    regions = page.services.console.regions(page.staff)
    return _new_page(page, Form({"region": regions[0]["code"] if regions else ""}))


@router.post("/console/persons/new")
async def register(request: Request) -> Response:
    page = ConsolePage(request, Role.CLERK)
    form = await page.form()
    for name in ("id_number", "name", "region", "phone"):
        form.values.setdefault(name, "")
    if not form.get("name"):
        form.error("name", page.t("Enter the name as on the ID card."))
    if form.ok:
        try:
            made = page.services.enrolment.register_person(
                page.staff,
                NewPerson(
                    form.get("id_number"),
                    form.get("name"),
                    form.get("region"),
                    form.get("phone") or None,
                    form.get("assistance") == "yes",
                ),
            )
        except ServiceError as exc:
            page.refuse(form, exc, {"id_number": "id_number"})
        else:
            return page.redirect(f"/console/persons/{made['id']}/work?done=registered")
    return _new_page(page, form, status=422)


def _new_page(page: ConsolePage, form: Form, status: int = 200) -> Response:
    return page.render(
        "console/person_new.html",
        status=status,
        form=form,
        regions=page.services.console.regions(page.staff),
        section="persons",
    )


@router.get("/console/persons/{person_id}/work")
def work(request: Request, person_id: str) -> Response:
    page = ConsolePage(request, Role.CLERK)
    return _work_page(page, person_id, {}, done=request.query_params.get("done", ""))


@router.post("/console/persons/{person_id}/work")
async def act(request: Request, person_id: str) -> Response:
    page = ConsolePage(request, Role.CLERK)
    form = await page.form()
    action = form.get("action")
    if action not in FORMS:
        return _work_page(page, person_id, {}, status=422)
    try:
        _do(page, person_id, action, form)
    except NotFoundError as exc:
        if exc.code == "unknown_person":
            return page.render("error.html", status=404, kind="not_found")
        page.refuse(form, exc)
    except ServiceError as exc:
        dates = {"valid_from": "referral_from", "valid_to": "referral_to"}
        page.refuse(form, exc, {"day": "valid_from", **(dates if action == "referral" else {})})
    if form.ok:
        return page.redirect(f"/console/persons/{person_id}/work?done={action}")
    return _work_page(page, person_id, {action: form}, status=422)


def _do(page: ConsolePage, person_id: str, action: str, form: Form) -> None:
    """One of the clerk's actions, its fields checked first (errors stay on the form)."""
    who, services = page.staff, page.services
    if action == "correct":
        services.console.records.correct_person(
            who,
            person_id,
            form.get("name"),
            form.get("phone") or None,
            form.get("assistance") == "yes",
        )
    elif action == "enrol":
        year = _int(page, form, "year")
        if form.get("scheme") not in {s.value for s in Scheme}:
            form.error("scheme", page.t("Choose a scheme."))
        if form.ok and year is not None:
            services.enrolment.enrol(who, person_id, year, Scheme(form.get("scheme")))
    elif action == "filing":
        start, end = _day(page, form, "valid_from"), _day(page, form, "valid_to")
        if not form.get("region"):
            form.error("region", page.t("Choose a region."))
        if form.ok and start and end:
            services.certificates.file_remote_treatment(
                who, person_id, form.get("region"), start, end
            )
    else:
        _referral(page, person_id, form)


def _referral(page: ConsolePage, person_id: str, form: Form) -> None:
    """A referral certificate from the hospital's paper: who issued it, where to (the
    region, or the hospital referred to, which gives its region), the dates, the diagnosis
    (the dates' fields are named apart from the filing's on the page)."""
    start, end = _day(page, form, "referral_from"), _day(page, form, "referral_to")
    if not form.get("issued_by"):
        form.error("issued_by", page.t("Choose the hospital that issued the referral."))
    if not form.get("to_region") and not form.get("to_institution"):
        form.error("to_region", page.t("Choose a region."))
    if not form.get("diagnosis"):
        form.error("diagnosis", page.t("Enter the diagnosis code as on the referral."))
    origin = form.get("referred_from")
    if origin and not origin.isdigit():
        form.error("referred_from", page.t(NOT_THE_ORIGIN))
    if form.ok and start and end:
        try:
            page.services.certificates.record_referral(
                page.staff,
                person_id,
                issued_by=form.get("issued_by"),
                to_region=form.get("to_region") or None,
                valid_from=start,
                valid_to=end,
                diagnosis=form.get("diagnosis"),
                to_institution=form.get("to_institution") or None,
                referred_from=int(origin) if origin else None,
            )
        except ServiceError as exc:
            # The service names the stay by its id and hospital code; the clerk chose it by
            # hospital and date, so the page says what to choose instead.
            if exc.code not in ("unknown_origin", "invalid_referred_from"):
                raise
            form.error("referred_from", page.t(NOT_THE_ORIGIN))


# The service says exactly why (another hospital's stay, a reversed one, one after the
# certificate's end); the clerk needs what to choose.
NOT_THE_ORIGIN = _(
    "That stay cannot be the one the patient was referred from: choose a hospital stay at "
    "the hospital that issued the referral, begun by the referral's last day, or none."
)


def _earlier_stays(page: ConsolePage, person_id: str) -> list[tuple[str, str]]:
    """The person's settled hospital stays of this year and the last, newest first, as
    choices by hospital name and date: the stay a referral may be issued at."""
    year = page.services.console.clock().year
    found = [
        (s["date"], str(s["settlement_id"]), f"{s['hospital']} · {s['date']}")
        for y in (year, year - 1)
        for s in page.services.claims.earlier_stays(page.staff, person_id, y)
    ]
    return [(value, label) for _, value, label in sorted(found, reverse=True)]


def _int(page: ConsolePage, form: Form, name: str) -> int | None:
    try:
        return int(form.get(name))
    except ValueError:
        form.error(name, page.t("Give a year between 2000 and 2100."))
        return None


def _day(page: ConsolePage, form: Form, name: str) -> date | None:
    try:
        return date.fromisoformat(form.get(name))
    except ValueError:
        form.error(name, page.t("Give a date as YYYY-MM-DD."))
        return None


def _work_page(
    page: ConsolePage, person_id: str, forms: dict[str, Form], status: int = 200, done: str = ""
) -> Response:
    try:
        person = page.services.enrolment.person(page.staff, person_id)
    except NotFoundError:
        return page.render("error.html", status=404, kind="not_found")
    year = page.services.console.clock().year
    blank: dict[str, dict[str, Any]] = {
        "correct": {
            "name": person["name"],
            "phone": person["phone"] or "",
            "assistance": "yes" if person["assistance"] else "",
        },
        "enrol": {"year": str(year + 1), "scheme": "resident"},
        "filing": {"region": "", "valid_from": "", "valid_to": ""},
        "referral": {
            "issued_by": "",
            "to_region": "",
            "to_institution": "",
            "referral_from": "",
            "referral_to": "",
            "diagnosis": "",
            "referred_from": "",
        },
    }
    for name in FORMS:
        forms.setdefault(name, Form({k: str(v) for k, v in blank[name].items()}))
    regions = [r for r in page.services.member.regions() if r["code"] != person["region"]]
    hospitals = page.services.member.lookup.institutions(
        page.staff, region=person["region"], kind="hospital"
    )
    # The hospitals a patient may be referred to: those of the other regions, by name.
    elsewhere = [
        {**h, "region_name": r["zh"] if page.lang == "zh" else r["en"]}
        for r in regions
        for h in page.services.member.lookup.institutions(
            page.staff, region=r["code"], kind="hospital"
        )
    ]
    return page.render(
        "console/person_work.html",
        status=status,
        person=person,
        forms=forms,
        regions=regions,
        hospitals=hospitals,
        elsewhere=elsewhere,
        stays=_earlier_stays(page, person_id),
        schemes=[s.value for s in Scheme],
        done=done if done in (*FORMS, "registered") else "",
        section="persons",
    )
