"""Manual reimbursement claims: submit, review with the engine's proposal, approve or
reject, pay."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from yibao.entrypoints.api.deps import claims_service
from yibao.entrypoints.api.responses import ClaimOut
from yibao.entrypoints.api.routers.settlements import ERRORS
from yibao.entrypoints.api.schemas import ClaimIn, DbId, RejectionIn, ReviewIn
from yibao.service.claims import ClaimsService

router = APIRouter(prefix="/v1/claims", tags=["claims"])
Service = Annotated[ClaimsService, Depends(claims_service)]


@router.post("", status_code=201, responses=ERRORS, response_model=ClaimOut)
def submit(body: ClaimIn, service: Service) -> dict[str, Any]:
    """Submit a claim with its receipts; the answer carries the engine's proposed split."""
    return service.submit(body.to_claim())


@router.get("", responses=ERRORS, response_model=list[ClaimOut])
def by_status(
    service: Service,
    status: Annotated[str | None, Query(pattern="^(submitted|approved|rejected|paid)$")] = None,
) -> list[dict[str, Any]]:
    """Claims, oldest first, optionally of one status (a clerk's queue: `submitted`)."""
    return service.by_status(status)


@router.get("/{claim_id}", responses=ERRORS, response_model=ClaimOut)
def get(claim_id: DbId, service: Service) -> dict[str, Any]:
    return service.get(claim_id)


@router.post("/{claim_id}/approval", responses=ERRORS, response_model=ClaimOut)
def approve(claim_id: DbId, body: ReviewIn, service: Service) -> dict[str, Any]:
    """Approve with the engine's split: booked as a settlement paid to the person."""
    return service.approve(claim_id, body.reviewer)


@router.post("/{claim_id}/rejection", responses=ERRORS, response_model=ClaimOut)
def reject(claim_id: DbId, body: RejectionIn, service: Service) -> dict[str, Any]:
    return service.reject(claim_id, body.reviewer, body.reason)


@router.post("/{claim_id}/payment", responses=ERRORS, response_model=ClaimOut)
def pay(claim_id: DbId, service: Service) -> dict[str, Any]:
    return service.pay(claim_id)
