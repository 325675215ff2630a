"""Outpatient special-disease approvals, remote-treatment filings, referral certificates, and
the children's major-disease pilot (hospitals per year, registrations: certificates_pilot.py).

The settlement reads what these use cases store (Registry.approvals/filings/referrals)
and checks dates itself: an approval counts only once approved and within its dates, a
filing or a referral only within its dates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.parameters import PolicyGapError
from yibao.domain.registry import Institution, InstitutionKind, PersonRecord
from yibao.service.access import require, require_region
from yibao.service.base import UseCases
from yibao.service.certificates_common import (
    approval_view,
    check_period,
    filing_view,
    person_of,
    referral_view,
    text_field,
)
from yibao.service.certificates_referrals import (
    Target,
    check_origin,
    resolve_target,
    with_episode,
)
from yibao.service.errors import ConflictError, NotFoundError, ServiceError
from yibao.service.ports import UnitOfWork, now

APPROVAL_STATUSES = ("applied", "approved", "rejected")
# Who may read a person's certificates: staff of the region, the person, a guardian.
READERS = (Role.CLERK, Role.APPROVER, Role.INSURED, Role.GUARDIAN)
# Who may apply or file for a person: the counter, or the person (or a guardian) online.
APPLICANTS = (Role.CLERK, Role.INSURED, Role.GUARDIAN)


def _check_decision(
    approve: bool, valid_from: date | None, valid_to: date | None, reason: str | None
) -> str | None:
    """An approval has a period and no reason, a rejection a reason and no period; the
    reason, cleaned."""
    if approve:
        if valid_from is None or valid_to is None:
            missing = "valid_from" if valid_from is None else "valid_to"
            raise ServiceError(
                "missing_field", f"{missing}: an approval needs its period", field=missing
            )
        if reason:
            raise ServiceError(
                "invalid_field", "reason: only a rejection has a reason", field="reason"
            )
        check_period(valid_from, valid_to)
        return None
    if valid_from is not None or valid_to is not None:
        raise ServiceError(
            "invalid_field",
            "valid_from: a rejection has no period",
            field="valid_from" if valid_from is not None else "valid_to",
        )
    return text_field(reason or "", "reason", 500)


def _decision(
    row: Any, approve: bool, valid_from: date | None, valid_to: date | None, reason: str | None
) -> dict[str, Any]:
    """What the decision writes; an approval starts on the application day or later."""
    if not approve:
        return {"status": "rejected", "rejection_reason": reason}
    assert valid_from is not None  # _check_decision, before the transaction
    if row.applied_on is not None and valid_from < row.applied_on:
        raise ServiceError(
            "before_application",
            f"valid_from: {valid_from.isoformat()} is before the application of "
            f"{row.applied_on.isoformat()}",
            field="valid_from",
        )
    return {"status": "approved", "valid_from": valid_from, "valid_to": valid_to}


def _issuer(issuer: Institution | None, who: Principal) -> Institution:
    """The institution issuing a referral, which must be a designated hospital."""
    if issuer is None:  # the account outlived its institution
        raise NotFoundError(
            "unknown_institution", f"institution {who.institution_id!r} is not registered"
        )
    if issuer.kind is not InstitutionKind.HOSPITAL or not issuer.designated:
        raise ServiceError(
            "not_a_designated_hospital",
            f"{issuer.id} is a {issuer.kind.value}: referrals are issued by designated hospitals",
        )
    return issuer


def _check_regions(issuer: Institution, person: PersonRecord, to_region: str) -> None:
    """A hospital of the patient's insured region refers them to another region."""
    if issuer.region != person.region:
        raise ServiceError(
            "not_insured_here",
            f"{person.id} is insured in {person.region}: a referral is issued by a hospital "
            f"of that region, and {issuer.id} is in {issuer.region}",
        )
    if to_region == person.region:
        raise ServiceError(
            "same_region",
            f"to_region: {person.id} is insured in {to_region}; a referral is for "
            "treatment in another region",
            field="to_region",
        )


@dataclass(frozen=True)
class ReferralFields:
    """A referral's own fields, as a hospital issues it or a clerk records it: where to
    (a region, and or the hospital referred to), the dates, the diagnosis, and the
    settlement of the stay at the issuing hospital the patient was referred from."""

    target: Target
    valid_from: date
    valid_to: date
    diagnosis: str
    referred_from: int | None = None

    def checked(self) -> ReferralFields:
        """The diagnosis cleaned and the dates in order (the place is checked against the
        registry in the transaction)."""
        diagnosis = text_field(self.diagnosis, "diagnosis", 16)
        check_period(self.valid_from, self.valid_to)
        return replace(self, diagnosis=diagnosis)


def _add_referral(
    uow: UnitOfWork,
    who: Principal,
    issuer: Institution,
    person: PersonRecord,
    fields: ReferralFields,
) -> dict[str, Any]:
    """The referral stored and in the audit log, after the place, the regions and the
    stay it was referred from are checked."""
    to_region, hospital = resolve_target(uow, fields.target)
    _check_regions(issuer, person, to_region)
    origin = check_origin(uow, person, issuer, fields.referred_from, fields.valid_to)
    new_id = uow.certificates.add_referral(
        {
            "person_id": person.id,
            "issued_by": issuer.id,
            "to_region": to_region,
            "valid_from": fields.valid_from,
            "valid_to": fields.valid_to,
            "diagnosis": fields.diagnosis,
            "created_by": who.account,
            **hospital,
            "referred_from": origin,
        }
    )
    row = uow.certificates.referral(new_id)
    view = referral_view(row)
    uow.audit.record(who, "referral.create", "referral", str(new_id), None, view)
    return with_episode(uow, row, view)


class CertificatesService(UseCases):
    # --- outpatient special-disease approvals -----------------------------------------

    def apply_for_approval(
        self,
        who: Principal,
        person_id: str,
        disease: str,
        certificate_ref: str,
        hospital_id: str,
    ) -> dict[str, Any]:
        """An application for an outpatient special disease, with the diagnosis certificate's
        reference and the hospital chosen for the treatment; the district centre decides."""
        require(who, *APPLICANTS)
        disease = text_field(disease, "disease", 64)
        certificate_ref = text_field(certificate_ref, "certificate_ref", 64)
        today = self.clock()
        with self.uow() as uow:
            person = person_of(uow, who, person_id)
            self._check_special_disease(uow, person, disease, today)
            inst = uow.registry.institution(hospital_id)
            if inst is None:
                raise NotFoundError(
                    "unknown_institution",
                    f"hospital_id: institution {hospital_id!r} is not registered",
                    field="hospital_id",
                )
            if inst.kind is not InstitutionKind.HOSPITAL or not inst.designated:
                raise ServiceError(
                    "not_a_designated_hospital",
                    f"hospital_id: {inst.id} is a {'' if inst.designated else 'non-designated '}"
                    f"{inst.kind.value}: a special disease is treated at a designated hospital",
                    field="hospital_id",
                )
            uow.certificates.lock_person(person.id)
            waiting = uow.certificates.open_application(person.id, disease)
            if waiting is not None:
                raise ConflictError(
                    "application_pending",
                    f"application {waiting.id} for {disease} is waiting for a decision already",
                    approval_id=int(waiting.id),
                )
            new_id = uow.certificates.add_approval(
                {
                    "person_id": person.id,
                    "disease": disease,
                    "hospital_id": inst.id,
                    "certificate_ref": certificate_ref,
                    "status": "applied",
                    "applied_on": today,
                    "applied_by": who.account,
                }
            )
            view = approval_view(uow.certificates.approval(new_id))
            uow.audit.record(who, "approval.apply", "approval", str(new_id), None, view)
            uow.commit()
        return view

    def decide_approval(
        self,
        who: Principal,
        approval_id: int,
        approve: bool,
        *,
        valid_from: date | None = None,
        valid_to: date | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """The district centre's decision: approved for a period (from the application on),
        or rejected with a reason. Only an approver of the person's region decides, once."""
        require(who, Role.APPROVER)
        reason = _check_decision(approve, valid_from, valid_to, reason)
        with self.uow() as uow:
            row = self._visible_approval(uow, who, approval_id, lock=True)
            if row.status != "applied":
                raise ConflictError(
                    "already_decided",
                    f"approval {approval_id} is {row.status} already: a decision is final",
                    status_now=row.status,
                )
            values = _decision(row, approve, valid_from, valid_to, reason)
            before = approval_view(row)
            uow.certificates.update_approval(
                approval_id, decided_by=who.account, decided_at=now(), **values
            )
            after = approval_view(uow.certificates.approval(approval_id))
            action = "approval.approve" if approve else "approval.reject"
            uow.audit.record(who, action, "approval", str(approval_id), before, after)
            uow.commit()
        return after

    def approval(self, who: Principal, approval_id: int) -> dict[str, Any]:
        require(who, *READERS)
        with self.uow() as uow:
            return approval_view(self._visible_approval(uow, who, approval_id))

    def approvals(
        self, who: Principal, status: str | None = "applied", region: str | None = None
    ) -> list[dict[str, Any]]:
        """The district centre's queue (oldest application first): approvals of the
        caller's region, of one status (all of them with status None)."""
        require(who, Role.APPROVER, Role.CLERK)
        if status is not None and status not in APPROVAL_STATUSES:
            raise ServiceError(
                "invalid_status",
                f"status: one of {', '.join(APPROVAL_STATUSES)}, not {status!r}",
                field="status",
            )
        if who.region is not None:
            if region is not None:
                require_region(who, region)
            region = who.region
        with self.uow() as uow:
            rows = uow.certificates.approvals_by_status(status, region)
        return [
            {**approval_view(r), "person_name": r.person_name, "region": r.region} for r in rows
        ]

    def approvals_of(self, who: Principal, person_id: str) -> list[dict[str, Any]]:
        require(who, *READERS)
        with self.uow() as uow:
            person = person_of(uow, who, person_id)
            rows = uow.certificates.approvals_of(person.id)
        return [approval_view(r) for r in rows]

    # --- remote-treatment filings ------------------------------------------------------

    def file_remote_treatment(
        self, who: Principal, person_id: str, region: str, valid_from: date, valid_to: date
    ) -> dict[str, Any]:
        """A filing of long residence elsewhere: treatment in `region` within the dates is
        settled at the local rates. At the agency (a clerk) or online (the insured, a
        guardian). One place at a time: a filing overlapping another is refused."""
        require(who, *APPLICANTS)
        region = text_field(region, "region", 64)
        check_period(valid_from, valid_to)
        channel = "agency" if who.role is Role.CLERK else "online"
        with self.uow() as uow:
            person = person_of(uow, who, person_id)
            if region == person.region:
                raise ServiceError(
                    "same_region",
                    f"region: {person.name} is insured in {region}; a filing names the place of "
                    "long residence elsewhere",
                    field="region",
                )
            uow.certificates.lock_person(person.id)
            clash = uow.certificates.overlapping_filings(person.id, valid_from, valid_to)
            if clash:
                other = clash[0]
                raise ConflictError(
                    "filing_overlaps",
                    f"filing {other.id} ({other.region}, {other.valid_from.isoformat()} to "
                    f"{other.valid_to.isoformat()}) overlaps these dates",
                    filing_id=int(other.id),
                )
            new_id = uow.certificates.add_filing(
                {
                    "person_id": person.id,
                    "region": region,
                    "valid_from": valid_from,
                    "valid_to": valid_to,
                    "channel": channel,
                    "created_by": who.account,
                }
            )
            view = filing_view(uow.certificates.filing(new_id))
            uow.audit.record(who, "filing.create", "filing", str(new_id), None, view)
            uow.commit()
        return view

    def filings_of(self, who: Principal, person_id: str) -> list[dict[str, Any]]:
        require(who, *READERS)
        with self.uow() as uow:
            person = person_of(uow, who, person_id)
            rows = uow.certificates.filings_of(person.id)
        return [filing_view(r) for r in rows]

    # --- referral certificates ---------------------------------------------------------

    def issue_referral(
        self,
        who: Principal,
        *,
        person_id: str | None = None,
        card_number: str | None = None,
        to_region: str | None = None,
        valid_from: date,
        valid_to: date,
        diagnosis: str,
        to_institution: str | None = None,
        referred_from: int | None = None,
    ) -> dict[str, Any]:
        """A referral certificate, issued by a designated hospital of the patient's insured
        region for treatment in another region within the dates: the region, and or the
        hospital referred to (which gives its region). The patient is named by person id
        or by card number; referred_from: the settlement of the patient's stay at the
        issuing hospital (the episode the certificate continues)."""
        fields = ReferralFields(
            Target(to_region, to_institution), valid_from, valid_to, diagnosis, referred_from
        )
        with self.uow() as uow:
            view = self.issue_referral_in(
                uow, who, fields, person_id=person_id, card_number=card_number
            )
            uow.commit()
        return view

    def issue_referral_in(
        self,
        uow: UnitOfWork,
        who: Principal,
        fields: ReferralFields,
        *,
        person_id: str | None = None,
        card_number: str | None = None,
    ) -> dict[str, Any]:
        """issue_referral in the caller's unit of work, which commits (the national
        interface's 2501 referral filing: one message, one transaction)."""
        require(who, Role.INSTITUTION)
        if (person_id is None) == (card_number is None):
            raise ServiceError(
                "missing_field",
                "person_id: name the patient by person_id or by card_number (one of them)",
                field="person_id",
            )
        fields = fields.checked()
        issuer = _issuer(uow.registry.institution(str(who.institution_id)), who)
        person = self._patient_by(uow, person_id, card_number)
        return _add_referral(uow, who, issuer, person, fields)

    def record_referral(
        self,
        who: Principal,
        person_id: str,
        *,
        issued_by: str,
        to_region: str | None = None,
        valid_from: date,
        valid_to: date,
        diagnosis: str,
        to_institution: str | None = None,
        referred_from: int | None = None,
    ) -> dict[str, Any]:
        """A referral certificate a designated hospital issued on paper, recorded at the
        agency by a clerk of the patient's region: the same checks and the same record as
        the hospital's own (issue_referral), the clerk named as who recorded it."""
        require(who, Role.CLERK)
        issued_by = text_field(issued_by, "issued_by", 64)
        fields = ReferralFields(
            Target(to_region, to_institution), valid_from, valid_to, diagnosis, referred_from
        ).checked()
        with self.uow() as uow:
            person = person_of(uow, who, person_id)
            issuer = uow.registry.institution(issued_by)
            if issuer is None:
                raise NotFoundError(
                    "unknown_institution",
                    f"issued_by: institution {issued_by!r} is not registered",
                    field="issued_by",
                )
            issuer = _issuer(issuer, who)
            view = _add_referral(uow, who, issuer, person, fields)
            uow.commit()
        return view

    def referral(self, who: Principal, referral_id: int) -> dict[str, Any]:
        """One referral: for the hospital that issued it, staff of the region, the person and
        their guardians."""
        require(who, Role.INSTITUTION, *READERS)
        with self.uow() as uow:
            row = uow.certificates.referral(referral_id)
            missing = NotFoundError("unknown_referral", f"referral {referral_id} is not known")
            if row is None:
                raise missing
            if who.role is Role.INSTITUTION:
                if row.issued_by != who.institution_id:
                    raise missing
            else:
                try:
                    person_of(uow, who, row.person_id)
                except NotFoundError:
                    raise missing from None
            return with_episode(uow, row, referral_view(row))

    def referrals(self, who: Principal) -> list[dict[str, Any]]:
        """An institution's own referrals; staff's region's (newest first)."""
        require(who, Role.INSTITUTION, Role.CLERK, Role.APPROVER)
        with self.uow() as uow:
            if who.role is Role.INSTITUTION:
                rows = uow.certificates.referrals_by(str(who.institution_id), None)
            else:
                rows = uow.certificates.referrals_by(None, who.region)
        return [referral_view(r) for r in rows]

    def referrals_of(self, who: Principal, person_id: str) -> list[dict[str, Any]]:
        require(who, *READERS)
        with self.uow() as uow:
            person = person_of(uow, who, person_id)
            rows = uow.certificates.referrals_of(person.id)
            return [with_episode(uow, r, referral_view(r)) for r in rows]

    # --- checks ------------------------------------------------------------------------

    def _visible_approval(
        self, uow: UnitOfWork, who: Principal, approval_id: int, *, lock: bool = False
    ) -> Any:
        """The approval, if its person is one the caller may see; 404 otherwise (an
        approver of another region does not learn that it exists)."""
        row = uow.certificates.approval(approval_id, lock=lock)
        missing = NotFoundError("unknown_approval", f"approval {approval_id} is not known")
        if row is None:
            raise missing
        try:
            person_of(uow, who, row.person_id)
        except NotFoundError:
            raise missing from None
        return row

    def _check_special_disease(
        self, uow: UnitOfWork, person: PersonRecord, disease: str, today: date
    ) -> None:
        """The disease must be a special outpatient disease of the person's scheme (this
        year's enrolment, or next year's when applying inside the window)."""
        enrolment = next(
            (
                e
                for e in (
                    uow.registry.enrolment(person.id, y) for y in (today.year, today.year + 1)
                )
                if e is not None and e.status != "cancelled"
            ),
            None,
        )
        if enrolment is None:
            raise ServiceError(
                "not_enrolled",
                f"{person.name} is not enrolled for {today.year}: nothing to approve",
            )
        rules = self._policy(person.region).schemes.get(enrolment.scheme.value)
        special = None if rules is None else rules.special_outpatient
        if special is None:
            raise ServiceError(
                "special_not_offered",
                f"the {enrolment.scheme.value} scheme of {person.region} has no outpatient special "
                "diseases",
            )
        try:
            diseases = special.diseases.at(today).value
        except PolicyGapError as exc:
            raise ServiceError("no_policy_in_force", str(exc)) from None
        if disease not in diseases:
            raise ServiceError(
                "not_a_special_disease",
                f"disease: {disease} is not an outpatient special disease of the "
                f"{enrolment.scheme.value} scheme (the list: {', '.join(sorted(diseases))})",
                field="disease",
            )

    @staticmethod
    def _patient_by(
        uow: UnitOfWork, person_id: str | None, card_number: str | None
    ) -> PersonRecord:
        """The patient in front of the hospital, by person id or card; 404 when unknown."""
        if card_number is not None:
            card = uow.registry.card(card_number)
            if card is None:
                raise NotFoundError(
                    "unknown_card",
                    f"card_number: card {card_number!r} is not known",
                    field="card_number",
                )
            person_id = card.person_id
        person = uow.registry.person(str(person_id))
        if person is None:
            raise NotFoundError("unknown_person", f"person {person_id!r} is not known")
        return person
