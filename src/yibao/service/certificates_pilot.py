"""The children's major-disease pilot at the agency: the pilot hospitals of a region's
year (a list clerks keep), the disease list with its limited costs (policy data), and
the registration of a child's pilot treatment (reference §3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.model import Kind, age_on
from yibao.domain.money import fmt, fmt_rate, to_fen
from yibao.domain.parameters import PilotRules, PolicyGapError, RegionPolicy
from yibao.domain.registry import Institution, InstitutionKind, PersonRecord
from yibao.service.access import Forbidden, require, require_region
from yibao.service.base import UseCases
from yibao.service.certificates_common import (
    check_year,
    person_of,
    pilot_hospital_view,
    registration_view,
    text_field,
)
from yibao.service.errors import ConflictError, NotFoundError, ServiceError
from yibao.service.ports import UnitOfWork
from yibao.service.ports.records import DuplicateError


def pilot_rules(policy: RegionPolicy) -> PilotRules:
    if policy.pilot is None:
        raise ServiceError(
            "no_pilot", f"region {policy.code} runs no children's major-disease pilot"
        )
    return policy.pilot


def _in_force(what: str, fn: Any) -> Any:
    try:
        return fn()
    except PolicyGapError as exc:
        raise ServiceError("no_pilot_rules", f"{what}: {exc}") from None


def _institution(uow: UnitOfWork, institution_id: str, field: str) -> Institution:
    inst = uow.registry.institution(institution_id)
    if inst is None:
        raise NotFoundError(
            "unknown_institution",
            f"{field}: institution {institution_id!r} is not registered",
            field=field,
        )
    return inst


def _registering_hospital(who: Principal, hospital_id: str | None) -> str:
    """The hospital a registration is at: an institution registers at itself only."""
    if who.role is Role.INSTITUTION:
        if hospital_id is None:
            hospital_id = who.institution_id
        elif hospital_id != who.institution_id:
            raise Forbidden(
                "forbidden",
                f"hospital_id: institution {who.institution_id} registers treatment at "
                f"itself, not at {hospital_id}",
                field="hospital_id",
            )
    if not hospital_id:
        raise ServiceError("missing_field", "hospital_id: the pilot hospital is needed")
    return hospital_id


def _pilot_terms(
    policy: RegionPolicy, person: PersonRecord, disease: str, admission: date
) -> tuple[Decimal, int, frozenset[str]]:
    """The disease's limited cost, the pilot's maximum age and its schemes, in force on
    the admission date; the disease must be one of the region's pilot diseases."""
    rules = pilot_rules(policy)
    known = rules.diseases.get(disease)
    if known is None:
        raise ServiceError(
            "not_a_pilot_disease",
            f"disease: {disease} is not a pilot disease of {person.region} "
            f"(the list: {', '.join(sorted(rules.diseases))})",
            field="disease",
        )
    what = f"the pilot of {person.region} on {admission.isoformat()}"
    limited = _in_force(what, lambda: known.limited_cost.at(admission).value)
    max_age = _in_force(what, lambda: rules.max_age.at(admission).value)
    schemes = _in_force(what, lambda: rules.schemes.at(admission).value)
    return limited, max_age, schemes


class PilotService(UseCases):
    # --- the pilot hospitals of a year -------------------------------------------------

    def add_pilot_hospital(
        self, who: Principal, region: str, year: int, institution_id: str
    ) -> dict[str, Any]:
        """Put a hospital on the region's pilot list for the year. Putting it there again
        changes nothing (and records nothing): `added` says which it was."""
        require(who, Role.CLERK)
        require_region(who, region)
        check_year(year)
        pilot_rules(self._policy(region))
        with self.uow() as uow:
            inst = _institution(uow, institution_id, "institution_id")
            if inst.region != region:
                raise ServiceError(
                    "other_region",
                    f"institution_id: {inst.id} is in {inst.region}, not {region}",
                    field="institution_id",
                )
            if inst.kind is not InstitutionKind.HOSPITAL or not inst.designated:
                raise ServiceError(
                    "not_a_designated_hospital",
                    f"institution_id: {inst.id} is a {'' if inst.designated else 'non-designated '}"
                    f"{inst.kind.value}: only designated hospitals treat pilot children",
                    field="institution_id",
                )
            found = uow.certificates.pilot_hospital(region, year, inst.id)
            if found is not None:
                return {**pilot_hospital_view(found), "added": False}
            uow.certificates.add_pilot_hospital(region, year, inst.id, who.account)
            row = uow.certificates.pilot_hospital(region, year, inst.id)
            view = pilot_hospital_view(row)
            uow.audit.record(
                who,
                "pilot.hospital.add",
                "pilot_hospital",
                f"{region}/{year}/{inst.id}",
                None,
                view,
            )
            uow.commit()
        return {**view, "added": True}

    def remove_pilot_hospital(
        self, who: Principal, region: str, year: int, institution_id: str
    ) -> dict[str, Any]:
        """Take a hospital off the year's list, unless children are registered there: their
        registrations name it, and the list is what their stays were settled under."""
        require(who, Role.CLERK)
        require_region(who, region)
        check_year(year)
        with self.uow() as uow:
            found = uow.certificates.pilot_hospital(region, year, institution_id)
            if found is None:
                raise NotFoundError(
                    "not_a_pilot_hospital",
                    f"{institution_id} is not on the pilot list of {region} for {year}",
                )
            registered = uow.certificates.count_registrations_at(institution_id, year)
            if registered:
                raise ConflictError(
                    "pilot_hospital_in_use",
                    f"{registered} pilot registration(s) of {year} name {institution_id}: "
                    "it stays on the list",
                    registrations=registered,
                )
            before = pilot_hospital_view(found)
            uow.certificates.remove_pilot_hospital(region, year, institution_id)
            uow.audit.record(
                who,
                "pilot.hospital.remove",
                "pilot_hospital",
                f"{region}/{year}/{institution_id}",
                before,
                None,
            )
            uow.commit()
        return before

    def pilot_year(self, who: Principal, region: str, year: int) -> dict[str, Any]:
        """The pilot of a region's year: who qualifies, the diseases with their limited
        costs (in force on 1 January), and the hospitals. Public information: any
        signed-in caller may read it."""
        del who  # signed in is enough
        check_year(year)
        rules = pilot_rules(self._policy(region))
        jan1 = date(year, 1, 1)
        what = f"the pilot of {region} on {jan1.isoformat()}"
        schemes = _in_force(what, lambda: rules.schemes.at(jan1).value)
        max_age = _in_force(what, lambda: rules.max_age.at(jan1).value)
        rate = _in_force(what, lambda: rules.rate.at(jan1).value)
        diseases = [
            {
                "code": d.code,
                "name": {"zh": d.name.zh, "en": d.name.en},
                "limited_cost": fmt(_in_force(what, lambda d=d: d.limited_cost.at(jan1).value)),
            }
            for d in sorted(rules.diseases.values(), key=lambda d: d.code)
        ]
        with self.uow() as uow:
            rows = uow.certificates.pilot_hospitals(region, year)
        hospitals = [
            {**pilot_hospital_view(r), "name": r.name, "level": int(r.level)} for r in rows
        ]
        return {
            "region": region,
            "year": year,
            "schemes": sorted(schemes),
            "max_age": max_age,
            "rate": fmt_rate(rate),
            "diseases": diseases,
            "hospitals": hospitals,
        }

    # --- registrations -----------------------------------------------------------------

    def register_pilot(
        self,
        who: Principal,
        person_id: str,
        disease: str,
        hospital_id: str | None,
        admission_date: date,
    ) -> dict[str, Any]:
        """Register a child's pilot treatment: a clerk of the child's region, or the pilot
        hospital itself (which registers at itself only)."""
        require(who, Role.CLERK, Role.INSTITUTION)
        disease = text_field(disease, "disease", 16)
        hospital_id = _registering_hospital(who, hospital_id)
        year = admission_date.year
        check_year(year, "admission_date")
        with self.uow() as uow:
            person = self._patient(uow, who, person_id)
            policy = self._policy(person.region)
            limited, max_age, schemes = _pilot_terms(policy, person, disease, admission_date)
            inst = _institution(uow, hospital_id, "hospital_id")
            if not uow.certificates.is_pilot_hospital(inst.id, inst.region, year):
                raise ServiceError(
                    "not_a_pilot_hospital",
                    f"hospital_id: {inst.id} is not a pilot hospital of {inst.region} in {year}",
                    field="hospital_id",
                )
            self._check_child(uow, person, admission_date, max_age, schemes)
            if uow.certificates.registration(person.id, disease, year) is not None:
                raise _already(person, disease, year)
            enrolment = uow.registry.enrolment(person.id, year)
            assert enrolment is not None  # _check_child made sure
            values = {
                "person_id": person.id,
                "year": year,
                "disease": disease,
                "hospital_id": inst.id,
                "admission_date": admission_date,
                "scheme": enrolment.scheme.value,
                "limited_cost_fen": to_fen(limited),
                "registered_by": who.account,
            }
            try:
                new_id = uow.certificates.add_registration(values)
            except DuplicateError:  # the same registration sent twice at once
                raise _already(person, disease, year) from None
            row = uow.certificates.registration_by_id(new_id)
            view = registration_view(row)
            uow.audit.record(who, "pilot.register", "pilot_registration", str(new_id), None, view)
            uow.commit()
        return view

    def pilot_registrations_of(self, who: Principal, person_id: str) -> list[dict[str, Any]]:
        require(who, Role.CLERK, Role.APPROVER, Role.INSURED, Role.GUARDIAN)
        with self.uow() as uow:
            person = person_of(uow, who, person_id)
            rows = uow.certificates.registrations_of(person.id)
        return [registration_view(r) for r in rows]

    def pilot_registrations(self, who: Principal, year: int | None = None) -> list[dict[str, Any]]:
        """An institution's registrations (at itself), or those of a staff member's region."""
        require(who, Role.CLERK, Role.APPROVER, Role.INSTITUTION)
        if year is not None:
            check_year(year)
        with self.uow() as uow:
            if who.role is Role.INSTITUTION:
                rows = uow.certificates.registrations_by(who.institution_id, None, year)
            else:
                rows = uow.certificates.registrations_by(None, who.region, year)
        return [registration_view(r) for r in rows]

    # --- checks ------------------------------------------------------------------------

    def _patient(self, uow: UnitOfWork, who: Principal, person_id: str) -> PersonRecord:
        """A clerk sees the persons of their region; a hospital registers the child in
        front of it, known by id (an unknown id is a 404 either way)."""
        if who.role is Role.INSTITUTION:
            person = uow.registry.person(person_id)
            if person is None:
                raise NotFoundError("unknown_person", f"person {person_id!r} is not known")
            return person
        return person_of(uow, who, person_id)

    @staticmethod
    def _check_child(
        uow: UnitOfWork,
        person: PersonRecord,
        admission: date,
        max_age: int,
        schemes: frozenset[str],
    ) -> None:
        age = age_on(person.birth_date, admission)
        if age > max_age:
            raise ServiceError(
                "too_old_for_pilot",
                f"{person.name} is {age} on the admission date {admission.isoformat()}: the pilot "
                f"is for children aged 0-{max_age}",
            )
        enrolment = uow.registry.enrolment(person.id, admission.year)
        if enrolment is None or enrolment.status == "cancelled":
            raise ServiceError(
                "not_enrolled", f"{person.name} is not enrolled for {admission.year}"
            )
        if enrolment.scheme.value not in schemes:
            raise ServiceError(
                "scheme_not_in_pilot",
                f"{person.name} is insured in the {enrolment.scheme.value} scheme; the pilot is for "
                f"children insured as {' or '.join(sorted(schemes))}",
            )
        if not enrolment.covers(admission):
            raise ServiceError(
                "not_enrolled",
                f"{person.name}'s enrolment for {admission.year} is {enrolment.status} and does not "
                f"cover {admission.isoformat()}",
            )


def treats_pilot(
    uow: UnitOfWork,
    inst: Institution,
    policy: RegionPolicy,
    kind: Kind,
    diagnosis: str | None,
    day: date,
) -> bool:
    """Whether a bill at this institution is at a pilot hospital, for the settlement: the
    institution's own flag (test and demo data set it), or its region's list for the
    year of the stay. The list is read only for an inpatient stay with a pilot diagnosis,
    so no other bill pays for the query."""
    if inst.pilot:
        return True
    if kind is not Kind.INPATIENT or policy.pilot is None or diagnosis not in policy.pilot.diseases:
        return False
    return uow.certificates.is_pilot_hospital(inst.id, inst.region, day.year)


def _already(person: PersonRecord, disease: str, year: int) -> ConflictError:
    return ConflictError(
        "pilot_already_registered",
        f"{person.name} ({person.id}) is already registered for {disease} in {year}",
    )
