"""Approvals, filings, referrals and the pilot."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from yibao.domain.access import Principal, Role
from yibao.entrypoints.api.certificates_schemas import (
    ERRORS,
    ApplicationIn,
    ApprovalOut,
    DecisionIn,
    FilingIn,
    FilingOut,
    PilotHospitalChangeOut,
    PilotHospitalOut,
    PilotRegistrationIn,
    PilotRegistrationOut,
    PilotYearOut,
    QueuedApprovalOut,
    RecordedReferralIn,
    ReferralIn,
    ReferralOut,
)
from yibao.entrypoints.api.deps import Anyone, Approver, Clerk, InstitutionCaller, allow, services
from yibao.entrypoints.api.schemas import DbId, Name
from yibao.service.certificates import CertificatesService
from yibao.service.certificates_pilot import PilotService

router = APIRouter(prefix="/v1", tags=["certificates"])


def certificates(request: Request) -> CertificatesService:
    return services(request).certificates


def pilot(request: Request) -> PilotService:
    return services(request).pilot


Service = Annotated[CertificatesService, Depends(certificates)]
Pilot = Annotated[PilotService, Depends(pilot)]
Readers = Annotated[
    Principal, Depends(allow(Role.CLERK, Role.APPROVER, Role.INSURED, Role.GUARDIAN))
]
Applicants = Annotated[Principal, Depends(allow(Role.CLERK, Role.INSURED, Role.GUARDIAN))]
Staff = Annotated[Principal, Depends(allow(Role.CLERK, Role.APPROVER))]
Year = Annotated[int, Path(ge=2000, le=2100)]
Region = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]

# --- outpatient special-disease approvals ---------------------------------------------


@router.post("/approvals", status_code=201, responses=ERRORS, response_model=ApprovalOut)
def apply(body: ApplicationIn, service: Service, who: Applicants) -> dict[str, Any]:
    """Apply for an outpatient special disease (status `applied`): at the counter, or online
    by the insured person or a guardian. The district centre decides."""
    return service.apply_for_approval(
        who, body.person_id, body.disease, body.certificate_ref, body.hospital_id
    )


@router.get("/approvals", responses=ERRORS, response_model=list[QueuedApprovalOut])
def queue(
    service: Service,
    who: Staff,
    status: Annotated[Literal["applied", "approved", "rejected", "all"], Query()] = "applied",
) -> list[dict[str, Any]]:
    """The district centre's queue: the region's approvals of a status, oldest application
    first (`status=all` for every one)."""
    return service.approvals(who, None if status == "all" else status)


@router.get("/approvals/{approval_id}", responses=ERRORS, response_model=ApprovalOut)
def approval(approval_id: DbId, service: Service, who: Readers) -> dict[str, Any]:
    """One approval: for staff of the person's region, the person, a guardian."""
    return service.approval(who, approval_id)


@router.post("/approvals/{approval_id}/decision", responses=ERRORS, response_model=ApprovalOut)
def decide(approval_id: DbId, body: DecisionIn, service: Service, who: Approver) -> dict[str, Any]:
    """Approve for a period (`valid_from` not before the application) or reject with a
    reason. An approver of the person's region decides, once (a second decision is a 409)."""
    return service.decide_approval(
        who,
        approval_id,
        body.approve,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        reason=body.reason,
    )


@router.get("/persons/{person_id}/approvals", responses=ERRORS, response_model=list[ApprovalOut])
def approvals_of(person_id: Name, service: Service, who: Readers) -> list[dict[str, Any]]:
    """A person's approvals and applications, whatever their status."""
    return service.approvals_of(who, person_id)


# --- remote-treatment filings ---------------------------------------------------------


@router.post("/filings", status_code=201, responses=ERRORS, response_model=FilingOut)
def file(body: FilingIn, service: Service, who: Applicants) -> dict[str, Any]:
    """File long residence in another region: treatment there within the dates is settled
    at the local rates. Online (insured, guardian) or at the agency (clerk)."""
    return service.file_remote_treatment(
        who, body.person_id, body.region, body.valid_from, body.valid_to
    )


@router.get("/persons/{person_id}/filings", responses=ERRORS, response_model=list[FilingOut])
def filings_of(person_id: Name, service: Service, who: Readers) -> list[dict[str, Any]]:
    """A person's remote-treatment filings, in date order."""
    return service.filings_of(who, person_id)


# --- referral certificates ------------------------------------------------------------


@router.post("/referrals", status_code=201, responses=ERRORS, response_model=ReferralOut)
def refer(body: ReferralIn, service: Service, who: InstitutionCaller) -> dict[str, Any]:
    """Issue a referral certificate (a designated hospital of the patient's region): the
    settlement of treatment in `to_region` within the dates gets the referral rate."""
    return service.issue_referral(
        who,
        person_id=body.person_id,
        card_number=body.card_number,
        to_region=body.to_region,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        diagnosis=body.diagnosis,
        to_institution=body.to_institution,
        referred_from=body.referred_from,
    )


@router.post(
    "/persons/{person_id}/referrals", status_code=201, responses=ERRORS, response_model=ReferralOut
)
def record_referral(
    person_id: Name, body: RecordedReferralIn, service: Service, who: Clerk
) -> dict[str, Any]:
    """Record at the agency a referral certificate that a designated hospital of the
    person's region issued on paper (a clerk of that region): checked and settled as the
    hospital's own."""
    return service.record_referral(
        who,
        person_id,
        issued_by=body.issued_by,
        to_region=body.to_region,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        diagnosis=body.diagnosis,
        to_institution=body.to_institution,
        referred_from=body.referred_from,
    )


@router.get("/referrals", responses=ERRORS, response_model=list[ReferralOut])
def referrals(
    service: Service,
    who: Annotated[Principal, Depends(allow(Role.INSTITUTION, Role.CLERK, Role.APPROVER))],
) -> list[dict[str, Any]]:
    """An institution's own referrals; staff see those of their region's persons."""
    return service.referrals(who)


@router.get("/referrals/{referral_id}", responses=ERRORS, response_model=ReferralOut)
def referral(referral_id: DbId, service: Service, who: Anyone) -> dict[str, Any]:
    """One referral: for the hospital that issued it, staff of the region, the person, a
    guardian."""
    return service.referral(who, referral_id)


@router.get("/persons/{person_id}/referrals", responses=ERRORS, response_model=list[ReferralOut])
def referrals_of(person_id: Name, service: Service, who: Readers) -> list[dict[str, Any]]:
    """A person's referral certificates, in date order."""
    return service.referrals_of(who, person_id)


# --- the children's major-disease pilot -----------------------------------------------


@router.get("/pilot/{region}/{year}", responses=ERRORS, response_model=PilotYearOut)
def pilot_year(region: Region, year: Year, service: Pilot, who: Anyone) -> dict[str, Any]:
    """The pilot of a region's year: who qualifies, the diseases with their limited costs
    (policy data), and the pilot hospitals."""
    return service.pilot_year(who, region, year)


@router.put(
    "/pilot/{region}/{year}/hospitals/{institution_id}",
    responses=ERRORS,
    response_model=PilotHospitalChangeOut,
)
def add_pilot_hospital(
    region: Region, year: Year, institution_id: Name, service: Pilot, who: Clerk
) -> dict[str, Any]:
    """Put a designated hospital of the region on the year's pilot list (again: no change)."""
    return service.add_pilot_hospital(who, region, year, institution_id)


@router.delete(
    "/pilot/{region}/{year}/hospitals/{institution_id}",
    responses=ERRORS,
    response_model=PilotHospitalOut,
)
def remove_pilot_hospital(
    region: Region, year: Year, institution_id: Name, service: Pilot, who: Clerk
) -> dict[str, Any]:
    """Take a hospital off the year's pilot list (not while registrations name it: 409)."""
    return service.remove_pilot_hospital(who, region, year, institution_id)


@router.post(
    "/pilot/registrations",
    status_code=201,
    responses=ERRORS,
    response_model=PilotRegistrationOut,
)
def register_pilot(
    body: PilotRegistrationIn,
    service: Pilot,
    who: Annotated[Principal, Depends(allow(Role.CLERK, Role.INSTITUTION))],
) -> dict[str, Any]:
    """Register a child's pilot treatment: a clerk, or the pilot hospital itself. One per
    child, disease and year."""
    return service.register_pilot(
        who, body.person_id, body.disease, body.hospital_id, body.admission_date
    )


@router.get("/pilot/registrations", responses=ERRORS, response_model=list[PilotRegistrationOut])
def pilot_registrations(
    service: Pilot,
    who: Annotated[Principal, Depends(allow(Role.CLERK, Role.APPROVER, Role.INSTITUTION))],
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[dict[str, Any]]:
    """A hospital's registrations (at itself); staff see those of their region's children."""
    return service.pilot_registrations(who, year)


@router.get(
    "/persons/{person_id}/pilot-registrations",
    responses=ERRORS,
    response_model=list[PilotRegistrationOut],
)
def pilot_registrations_of(person_id: Name, service: Pilot, who: Readers) -> list[dict[str, Any]]:
    """A child's pilot registrations."""
    return service.pilot_registrations_of(who, person_id)
