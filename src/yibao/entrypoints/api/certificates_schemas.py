"""Request and answer shapes of approvals, filings, referrals and the pilot."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from yibao.entrypoints.api.schemas import ErrorOut, Strict

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Not signed in (not_signed_in, invalid_token)"},
    403: {"model": ErrorOut, "description": "The caller's role or region may not do this"},
    404: {"model": ErrorOut, "description": "Not found, or not the caller's to see"},
    409: {"model": ErrorOut, "description": "Conflicts with what is stored (see code)"},
    422: {"model": ErrorOut, "description": "The request cannot be done as sent (see code)"},
}

# --- requests -----------------------------------------------------------------------


class ApplicationIn(Strict):
    person_id: str = Field(min_length=1, max_length=32)
    disease: str = Field(
        min_length=1,
        max_length=64,
        description="A special outpatient disease of the person's scheme, e.g. dialysis",
    )
    certificate_ref: str = Field(
        min_length=1, max_length=64, description="The diagnosis certificate's reference"
    )
    hospital_id: str = Field(
        min_length=1, max_length=32, description="The designated hospital chosen for treatment"
    )


class DecisionIn(Strict):
    """An approval with its period, or a rejection with its reason."""

    approve: bool
    valid_from: date | None = Field(default=None, description="Approval: first day covered")
    valid_to: date | None = Field(default=None, description="Approval: last day covered")
    reason: str | None = Field(
        default=None, min_length=1, max_length=500, description="Rejection: why"
    )


class FilingIn(Strict):
    person_id: str = Field(min_length=1, max_length=32)
    region: str = Field(
        min_length=1,
        max_length=64,
        description="The region of long residence (not the insured one)",
    )
    valid_from: date
    valid_to: date


class _ReferralFields(Strict):
    """What a referral certificate says, whoever issues or records it."""

    to_region: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Where the patient is sent; may be left out when to_institution is "
        "a registered hospital (its region)",
    )
    to_institution: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="The registered hospital the patient is referred to (in to_region)",
    )
    referred_from: int | None = Field(
        default=None,
        ge=1,
        le=2**63 - 1,
        description="The settlement of the patient's inpatient stay at the issuing hospital "
        "they are referred from (the episode the certificate continues)",
    )
    valid_from: date
    valid_to: date
    diagnosis: str = Field(min_length=1, max_length=16, description="ICD-10")


class ReferralIn(_ReferralFields):
    """The patient by person_id or by card_number (one of them)."""

    person_id: str | None = Field(default=None, min_length=1, max_length=32)
    card_number: str | None = Field(default=None, min_length=1, max_length=32)


class RecordedReferralIn(_ReferralFields):
    """A referral certificate a designated hospital issued on paper, recorded by a clerk."""

    issued_by: str = Field(
        min_length=1, max_length=64, description="The designated hospital that issued it"
    )


class PilotRegistrationIn(Strict):
    person_id: str = Field(min_length=1, max_length=32)
    disease: str = Field(min_length=1, max_length=16, description="A pilot disease (ICD-10)")
    hospital_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="A pilot hospital of the year; a hospital registering leaves it out",
    )
    admission_date: date


# --- answers ------------------------------------------------------------------------


class ApprovalOut(BaseModel):
    id: int
    person_id: str
    disease: str
    hospital_id: str
    certificate_ref: str | None
    status: str = Field(description="applied | approved | rejected")
    applied_on: str | None
    applied_by: str | None
    decided_by: str | None
    decided_at: str | None
    valid_from: str | None
    valid_to: str | None
    rejection_reason: str | None


class QueuedApprovalOut(ApprovalOut):
    person_name: str
    region: str


class FilingOut(BaseModel):
    id: int
    person_id: str
    region: str
    valid_from: str
    valid_to: str
    channel: str = Field(description="online | agency")
    created_by: str | None
    created_at: str | None


class EpisodeStayOut(BaseModel):
    settlement_id: int
    role: str = Field(
        description="referred_from: the stay at the issuing hospital; referred_to: a stay at "
        "the hospital referred to within the certificate's dates"
    )
    date: str
    institution_id: str
    hospital: str = Field(description="The hospital's name")
    kind: str
    status: str


class ReferralOut(BaseModel):
    id: int
    person_id: str
    issued_by: str
    to_region: str
    valid_from: str
    valid_to: str
    diagnosis: str | None
    to_institution: str | None = Field(default=None, description="The hospital referred to")
    to_institution_name: str | None = Field(default=None, description="Its name")
    referred_from: int | None = Field(
        default=None, description="The settlement of the stay it was issued at"
    )
    stays: list[EpisodeStayOut] | None = Field(
        default=None,
        description="The certificate's episode: the stay it was issued at, then the settled "
        "stays at the hospital referred to within its dates (in the answers about one "
        "person's certificates; not in the lists of an institution or a region)",
    )
    created_by: str | None
    created_at: str | None


class PilotHospitalOut(BaseModel):
    region: str
    year: int
    institution_id: str
    added_by: str
    added_at: str | None


class PilotHospitalChangeOut(PilotHospitalOut):
    added: bool = Field(description="False: it was on the list already")


class PilotListedHospitalOut(PilotHospitalOut):
    name: str
    level: int


class PilotDiseaseOut(BaseModel):
    code: str
    name: dict[str, str]
    limited_cost: str


class PilotYearOut(BaseModel):
    region: str
    year: int
    schemes: list[str]
    max_age: int
    rate: str
    diseases: list[PilotDiseaseOut]
    hospitals: list[PilotListedHospitalOut]


class PilotRegistrationOut(BaseModel):
    id: int
    person_id: str
    year: int
    disease: str
    hospital_id: str
    admission_date: str
    scheme: str
    limited_cost: str
    registered_by: str
    registered_at: str | None
