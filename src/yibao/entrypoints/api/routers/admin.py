"""Accounts, sign-in, persons, enrolment at the agency, premiums and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from yibao.domain.access import Role
from yibao.entrypoints.api.admin_responses import (
    AccountMadeOut,
    AccountOut,
    AuditEntryOut,
    EnrolmentOut,
    HouseholdOut,
    IssuedTokenOut,
    MeOut,
    PersonDetailOut,
    PersonOut,
    PremiumSummaryOut,
    RevokedOut,
    TokenOut,
)
from yibao.entrypoints.api.admin_schemas import AccountIn, EnrolIn, HouseholdIn, PersonIn, SignInIn
from yibao.entrypoints.api.deps import Anyone, Clerk, Staff, services
from yibao.entrypoints.api.routers.settlements import ERRORS
from yibao.entrypoints.api.schemas import Name
from yibao.service.enrolment import NewPerson

router = APIRouter(prefix="/v1", tags=["administration"])
Year = Annotated[int, Path(ge=2000, le=2100)]


def _new_person(body: PersonIn) -> NewPerson:
    return NewPerson(body.id_number, body.name, body.region, body.phone, body.assistance)


@router.post("/auth/tokens", status_code=201, responses=ERRORS, response_model=TokenOut)
def sign_in(body: SignInIn, request: Request) -> dict[str, Any]:
    """Exchange an account's password for a bearer token that expires in 12 hours. After
    five wrong passwords in a row from one address for one account, each further try
    from there waits longer (429 with Retry-After); the account is never locked."""
    source = request.client.host if request.client else ""
    return services(request).access.sign_in(body.account, body.password, source=source)


@router.get("/me", responses=ERRORS, response_model=MeOut)
def me(who: Anyone) -> dict[str, Any]:
    """The signed-in account: its role and whose records it works with."""
    return {
        "account": who.account,
        "role": who.role.value,
        "region": who.region,
        "person_id": who.person_id,
        "school_id": who.school_id,
        "institution_id": who.institution_id,
    }


@router.post("/accounts", status_code=201, responses=ERRORS, response_model=AccountMadeOut)
def create_account(body: AccountIn, request: Request, who: Clerk) -> dict[str, Any]:
    """Make an account (clerks). The answer carries its first API token, shown this once."""
    return services(request).access.create_account(
        who,
        body.id,
        body.role,
        body.name,
        region=body.region,
        person_id=body.person_id,
        school_id=body.school_id,
        institution_id=body.institution_id,
        phone=body.phone,
        password=body.password,
    )


@router.get("/accounts", responses=ERRORS, response_model=list[AccountOut])
def list_accounts(
    request: Request, who: Clerk, role: Annotated[Role | None, Query()] = None
) -> list[dict[str, Any]]:
    return services(request).access.accounts(who, role)


@router.post(
    "/accounts/{account_id}/tokens",
    status_code=201,
    responses=ERRORS,
    response_model=IssuedTokenOut,
)
def issue_token(account_id: Name, request: Request, who: Clerk) -> dict[str, str]:
    """A further API token for an account (an institution's second counter, say)."""
    return {"token": services(request).access.issue_token(who, account_id, "issued by a clerk")}


@router.delete("/accounts/{account_id}/tokens", responses=ERRORS, response_model=RevokedOut)
def revoke_tokens(account_id: Name, request: Request, who: Clerk) -> dict[str, int]:
    """Revoke every token of an account: it stops working at once on every worker of the
    server, and on PostgreSQL of every server on the database (on SQLite, where another
    process, `yibao account revoke`, revoked it, within 30 seconds)."""
    return {"revoked": services(request).access.revoke_tokens(who, account_id)}


@router.post("/persons", status_code=201, responses=ERRORS, response_model=PersonOut)
def register_person(body: PersonIn, request: Request, who: Clerk) -> dict[str, Any]:
    """Register a person from their resident ID number (checked per GB 11643)."""
    return services(request).enrolment.register_person(who, _new_person(body))


@router.get("/persons/{person_id}", responses=ERRORS, response_model=PersonDetailOut)
def person(person_id: Name, request: Request, who: Anyone) -> dict[str, Any]:
    """A person with their enrolments, cards, guardians and children: for staff of the
    region, the person, their guardian, and the school they enrolled through."""
    return services(request).enrolment.person(who, person_id)


@router.post("/enrolments", status_code=201, responses=ERRORS, response_model=EnrolmentOut)
def enrol(body: EnrolIn, request: Request, who: Clerk) -> dict[str, Any]:
    """Enrol a registered person for a year at the agency, inside the enrolment window.
    The enrolment is pending until the premium's personal part is collected."""
    return services(request).enrolment.enrol(who, body.person_id, body.year, body.scheme)


@router.post(
    "/enrolments/household", status_code=201, responses=ERRORS, response_model=HouseholdOut
)
def enrol_household(body: HouseholdIn, request: Request, who: Clerk) -> dict[str, Any]:
    """A child under 18 not at school (or settled outside the city), enrolled at the agency
    of the household registration; registered first if new, linked to the guardian."""
    return services(request).enrolment.enrol_household(
        who, _new_person(body.child), body.year, body.guardian_id_number
    )


@router.get("/regions/{region}/premiums/{year}", responses=ERRORS, response_model=PremiumSummaryOut)
def premiums(region: Name, year: Year, request: Request, who: Staff) -> dict[str, Any]:
    """Persons and premium parts (personal, subsidy, assistance) per scheme and status."""
    return services(request).enrolment.premium_summary(who, region, year)


@router.get("/audit", responses=ERRORS, response_model=list[AuditEntryOut])
def audit(
    request: Request,
    who: Staff,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
) -> list[dict[str, Any]]:
    """The audit log, newest first: who changed what, when, with the record before and after."""
    return services(request).enrolment.audit(who, object_type, object_id, actor)
