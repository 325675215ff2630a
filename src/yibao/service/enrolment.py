"""Enrolment at the agency: registering a person, enrolling them for a year inside the
window, with the premium split into its personal, subsidy and assistance parts; the
per-region premium summary.

Household enrolment calls `enrol_in` inside its own unit of work; a school batch
(service/schools.py) checks each row with `new_enrolment` and writes them all at once in
its unit of work, so a batch is enrolled whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.enrolment import premium_for, window_for
from yibao.domain.ids import ResidentIdError, parse_resident_id
from yibao.domain.model import Scheme, age_on
from yibao.domain.money import fmt, from_fen
from yibao.domain.parameters import PolicyGapError, RegionPolicy
from yibao.domain.registry import Enrolment, PersonRecord
from yibao.service.access import require, require_region, visible_person
from yibao.service.base import UseCases
from yibao.service.cards import in_order
from yibao.service.errors import ConflictError, NotFoundError, ServiceError
from yibao.service.ports import UnitOfWork

# Schemes enrolled at the agency or through schools; employees enrol through their employer.
RESIDENT_SCHEMES = (Scheme.STUDENT, Scheme.RESIDENT)


@dataclass(frozen=True)
class NewPerson:
    id_number: str
    name: str
    region: str
    phone: str | None = None
    assistance: bool = False


def person_id_for(id_number: str) -> str:
    """Registry ids of persons enrolled by the agency: P + the ID number (unique already)."""
    return f"P{id_number}"


def enrolment_view(e: Enrolment) -> dict[str, Any]:
    return {
        "person_id": e.person_id,
        "year": e.year,
        "scheme": e.scheme.value,
        "status": e.status,
        "valid_from": e.valid_from.isoformat(),
        "valid_to": e.valid_to.isoformat(),
        "channel": e.channel,
        "school_id": e.school_id,
        "premium": {
            "personal": fmt(e.personal),
            "subsidy": fmt(e.subsidy),
            "assistance": fmt(e.assistance),
        },
        "paid_on": None if e.paid_on is None else e.paid_on.isoformat(),
    }


def person_view(p: PersonRecord) -> dict[str, Any]:
    return {
        "id": p.id,
        "id_number": p.id_number,
        "name": p.name,
        "birth_date": p.birth_date.isoformat(),
        "sex": p.sex,
        "region": p.region,
        "phone": p.phone,
        "assistance": p.assistance,
    }


def record_for(new: NewPerson) -> PersonRecord:
    """A registry record from what was typed: the ID number gives birth date and sex."""
    try:
        number = parse_resident_id(new.id_number)
    except ResidentIdError as exc:
        raise ServiceError("invalid_id_number", f"id_number: {exc}", field="id_number") from None
    if not new.name.strip():
        raise ServiceError("invalid_name", "name: the name is empty", field="name")
    return PersonRecord(
        id=person_id_for(number.number),
        id_number=number.number,
        name=new.name.strip(),
        birth_date=number.birth_date,
        sex=number.sex,
        region=new.region,
        phone=new.phone,
        assistance=new.assistance,
    )


def enrolment_rules_of(policy: RegionPolicy) -> Any:
    if policy.enrolment is None:
        raise ServiceError(
            "no_enrolment_rules", f"region {policy.code} has no enrolment.yaml: it cannot enrol"
        )
    return policy.enrolment


def check_window(policy: RegionPolicy, year: int, today: date) -> None:
    rules = enrolment_rules_of(policy)
    try:
        opens, closes, _ = window_for(rules, year)
    except PolicyGapError as exc:
        raise ServiceError("no_enrolment_rules", str(exc)) from None
    if not opens <= today <= closes:
        raise ServiceError(
            "outside_enrolment_window",
            f"enrolment for {year} is open from {opens.isoformat()} to {closes.isoformat()}; "
            f"today is {today.isoformat()}",
            opens=opens.isoformat(),
            closes=closes.isoformat(),
        )


def check_student_age(policy: RegionPolicy, person: PersonRecord, year: int) -> None:
    rules = enrolment_rules_of(policy)
    start = date(year, 1, 1)
    limit = rules.max_student_age.at(start).value
    age = age_on(person.birth_date, start)
    if age >= limit:
        raise ServiceError(
            "too_old_for_student_scheme",
            f"{person.name} is {age} on {start.isoformat()}: the student scheme is for children "
            f"under {limit}; adults enrol in the resident scheme",
        )


def new_enrolment(
    policy: RegionPolicy,
    person: PersonRecord,
    year: int,
    scheme: Scheme,
    today: date,
    *,
    channel: str,
    school_id: str | None = None,
) -> Enrolment:
    """A person's enrolment for a year as the rules allow it, pending until the premium
    is collected: the scheme, the window, the age, and the premium's split. Pure: whether
    the person is enrolled already is the caller's to know."""
    if scheme not in RESIDENT_SCHEMES:
        raise ServiceError(
            "scheme_not_enrolled_here",
            f"the {scheme.value} scheme is enrolled through the employer, not at the agency",
        )
    try:
        offered = policy.offered.at(date(year, 1, 1)).value
    except PolicyGapError as exc:
        raise ServiceError("no_enrolment_rules", str(exc)) from None
    if scheme.value not in offered:
        raise ServiceError(
            "scheme_not_offered",
            f"{policy.code} does not offer the {scheme.value} scheme in {year}",
        )
    check_window(policy, year, today)
    if scheme is Scheme.STUDENT:
        check_student_age(policy, person, year)
    split = premium_for(enrolment_rules_of(policy), scheme.value, year, person.assistance)
    return Enrolment(
        person_id=person.id,
        year=year,
        scheme=scheme,
        status="pending",
        valid_from=date(year, 1, 1),
        valid_to=date(year, 12, 31),
        channel=channel,
        school_id=school_id,
        personal=split.personal,
        subsidy=split.subsidy,
        assistance=split.assistance,
    )


def already_enrolled(person: PersonRecord, year: int) -> ConflictError:
    return ConflictError(
        "already_enrolled", f"{person.name} ({person.id}) is already enrolled for {year}"
    )


def record_enrolment(who: Principal, uow: UnitOfWork, enrolment: Enrolment) -> None:
    uow.audit.record(
        who,
        "enrolment.create",
        "enrolment",
        f"{enrolment.person_id}/{enrolment.year}",
        None,
        enrolment_view(enrolment),
    )


def enrol_in(
    uow: UnitOfWork,
    policy: RegionPolicy,
    who: Principal,
    person: PersonRecord,
    year: int,
    scheme: Scheme,
    today: date,
    *,
    channel: str,
    school_id: str | None = None,
) -> Enrolment:
    """Enrol one registered person for a year, pending until the premium is collected.
    Checks the window, the scheme and age, and that the person is not enrolled already."""
    enrolment = new_enrolment(
        policy, person, year, scheme, today, channel=channel, school_id=school_id
    )
    if uow.registry.enrolment(person.id, year) is not None:
        raise already_enrolled(person, year)
    uow.registry.add_enrolment(enrolment)
    record_enrolment(who, uow, enrolment)
    return enrolment


class EnrolmentService(UseCases):
    def register_person(self, who: Principal, new: NewPerson) -> dict[str, Any]:
        """Put a person in the registry (a clerk at the counter, with their ID card)."""
        require(who, Role.CLERK)
        require_region(who, new.region)
        self._policy(new.region)
        record = record_for(new)
        with self.uow() as uow:
            if uow.registry.person_by_id_number(record.id_number) is not None:
                raise ConflictError(
                    "person_exists", f"a person with ID number {record.id_number} is registered"
                )
            uow.registry.add_person(record)
            uow.audit.record(who, "person.create", "person", record.id, None, person_view(record))
            uow.commit()
        return person_view(record)

    def enrol(self, who: Principal, person_id: str, year: int, scheme: Scheme) -> dict[str, Any]:
        """Enrol a registered person at the agency (adult residents; children not at school)."""
        require(who, Role.CLERK)
        with self.uow() as uow:
            person = visible_person(uow, who, person_id)
            policy = self._policy(person.region)
            e = enrol_in(uow, policy, who, person, year, scheme, self.clock(), channel="agency")
            uow.commit()
        return enrolment_view(e)

    def enrol_household(
        self,
        who: Principal,
        child: NewPerson,
        year: int,
        guardian_id_number: str | None = None,
    ) -> dict[str, Any]:
        """A child under 18 not at school (or settled outside the city) enrolled by a clerk
        at the agency of the household registration: registered if new, linked to the
        guardian when the guardian is registered, and enrolled in the student scheme."""
        require(who, Role.CLERK)
        require_region(who, child.region)
        policy = self._policy(child.region)
        record = record_for(child)
        with self.uow() as uow:
            existing = uow.registry.person_by_id_number(record.id_number)
            if existing is None:
                uow.registry.add_person(record)
                uow.audit.record(
                    who, "person.create", "person", record.id, None, person_view(record)
                )
            else:
                if existing.region != child.region:
                    raise ServiceError(
                        "other_household_region",
                        f"{existing.name} is registered in {existing.region}: enrol at that agency",
                    )
                record = existing
            if guardian_id_number:
                guardian = uow.registry.person_by_id_number(guardian_id_number)
                if guardian is None:
                    raise NotFoundError(
                        "unknown_guardian",
                        f"guardian_id_number: no registered person has ID number {guardian_id_number}",
                        field="guardian_id_number",
                    )
                uow.registry.add_guardian(record.id, guardian.id)
            e = enrol_in(
                uow, policy, who, record, year, Scheme.STUDENT, self.clock(), channel="household"
            )
            uow.commit()
        return {"person": person_view(record), "enrolment": enrolment_view(e)}

    def person(self, who: Principal, person_id: str) -> dict[str, Any]:
        """A person's record with their enrolments and cards, for whoever may see it."""
        with self.uow() as uow:
            person = visible_person(uow, who, person_id)
            enrolments = uow.registry.enrolments_of(person.id)
            cards = in_order(uow.registry.cards_of(person.id))
            children = uow.registry.children_of(person.id)
            guardians = uow.registry.guardians_of(person.id)
        return {
            **person_view(person),
            "enrolments": [enrolment_view(e) for e in enrolments],
            "cards": [
                {
                    "number": c.number,
                    "status": c.status.value,
                    "ordered_on": None if c.ordered_on is None else c.ordered_on.isoformat(),
                    "due_on": None if c.due_on is None else c.due_on.isoformat(),
                    "issued_on": None if c.issued_on is None else c.issued_on.isoformat(),
                    "replaced_by": c.replaced_by,
                }
                for c in cards
            ],
            "children": children,
            "guardians": guardians,
        }

    def premium_summary(self, who: Principal, region: str, year: int) -> dict[str, Any]:
        """Persons and premium parts per scheme and status for a region's year: what the
        families pay, what the government subsidises, what assistance pays for the exempt."""
        require(who, Role.CLERK, Role.APPROVER)
        require_region(who, region)
        self._policy(region)
        with self.uow() as uow:
            rows = uow.registry.premium_totals(region, year)
        lines = [
            {
                "scheme": r.scheme,
                "status": r.status,
                "persons": int(r.persons),
                "exempt_persons": int(r.exempt),
                "personal": fmt(from_fen(int(r.personal))),
                "subsidy": fmt(from_fen(int(r.subsidy))),
                "assistance": fmt(from_fen(int(r.assistance))),
            }
            for r in rows
        ]
        totals = {
            key: fmt(from_fen(sum(int(getattr(r, key)) for r in rows)))
            for key in ("personal", "subsidy", "assistance")
        }
        return {
            "region": region,
            "year": year,
            "lines": lines,
            "persons": sum(int(r.persons) for r in rows),
            "totals": totals,
        }

    def audit(
        self,
        who: Principal,
        object_type: str | None = None,
        object_id: str | None = None,
        actor: str | None = None,
    ) -> list[dict[str, Any]]:
        """The audit log for staff, newest first (200 entries): staff of one region see
        what their region's accounts did; staff of every region see everything."""
        require(who, Role.CLERK, Role.APPROVER)
        with self.uow() as uow:
            return uow.audit.entries(
                object_type=object_type, object_id=object_id, actor=actor, region=who.region
            )
