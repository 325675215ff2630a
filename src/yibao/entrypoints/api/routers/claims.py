"""Manual reimbursement claims: submit, review with the engine's proposal, approve or
reject, pay."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from yibao.domain.access import Principal, Role
from yibao.entrypoints.api.deps import Clerk, allow, claims_service
from yibao.entrypoints.api.responses import ClaimOut
from yibao.entrypoints.api.routers.settlements import ERRORS
from yibao.entrypoints.api.schemas import ClaimIn, DbId, RejectionIn
from yibao.service.claims import ClaimsService

router = APIRouter(prefix="/v1/claims", tags=["claims"])
Service = Annotated[ClaimsService, Depends(claims_service)]
# A claim is submitted at the counter by a clerk, or online by the insured or a guardian.
Claimant = Annotated[Principal, Depends(allow(Role.CLERK, Role.INSURED, Role.GUARDIAN))]


@router.post("", status_code=201, responses=ERRORS, response_model=ClaimOut)
def submit(body: ClaimIn, service: Service, who: Claimant) -> dict[str, Any]:
    """Submit a claim with its receipts; the answer carries the engine's proposed split. A
    hospital stay may name the stay it was referred from (`referred_from`, a settlement;
    or `referred_from_claim`, an approved claim): it settles along that chain as the
    counter would, and an origin that cannot start one is refused (422)."""
    return service.submit(who, body.to_claim())


@router.get("", responses=ERRORS, response_model=list[ClaimOut])
def by_status(
    service: Service,
    who: Clerk,
    status: Annotated[str | None, Query(pattern="^(submitted|approved|rejected|paid)$")] = None,
) -> list[dict[str, Any]]:
    """Claims, oldest first, optionally of one status (a clerk's queue: `submitted`)."""
    return service.by_status(who, status)


@router.get("/{claim_id}", responses=ERRORS, response_model=ClaimOut)
def get(claim_id: DbId, service: Service, who: Claimant) -> dict[str, Any]:
    """A claim, for clerks and for the claimant or their guardian."""
    return service.get(who, claim_id)


@router.post("/{claim_id}/approval", responses=ERRORS, response_model=ClaimOut)
def approve(claim_id: DbId, service: Service, who: Clerk) -> dict[str, Any]:
    """Approve with the engine's split: booked as a settlement paid to the person."""
    return service.approve(who, claim_id)


@router.post("/{claim_id}/rejection", responses=ERRORS, response_model=ClaimOut)
def reject(claim_id: DbId, body: RejectionIn, service: Service, who: Clerk) -> dict[str, Any]:
    return service.reject(who, claim_id, body.reason)


@router.post("/{claim_id}/payment", responses=ERRORS, response_model=ClaimOut)
def pay(claim_id: DbId, service: Service, who: Clerk) -> dict[str, Any]:
    return service.pay(who, claim_id)
