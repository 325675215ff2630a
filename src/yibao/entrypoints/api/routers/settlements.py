"""Real-time card settlement, quotes and reversals, as designated institutions call them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse

from yibao.entrypoints.api.deps import caller_institution, queries, settlement_service
from yibao.entrypoints.api.responses import ReversalOut, SettlementOut, StoredSettlementOut
from yibao.entrypoints.api.schemas import BillIn, DbId, ErrorOut, ReversalIn
from yibao.service.queries import Queries
from yibao.service.settlement import SettlementService

router = APIRouter(prefix="/v1", tags=["settlements"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No X-Institution header (missing_institution)"},
    404: {"model": ErrorOut, "description": "Not found"},
    409: {"model": ErrorOut, "description": "Idempotency key reused for another request"},
    422: {"model": ErrorOut, "description": "The bill cannot be settled as sent (see code)"},
}

Service = Annotated[SettlementService, Depends(settlement_service)]
Institution = Annotated[str, Depends(caller_institution)]


@router.post(
    "/settlements",
    status_code=201,
    responses={
        **ERRORS,
        201: {"model": SettlementOut, "description": "Settled (or the first answer to a retry)"},
    },
)
def settle(
    body: BillIn,
    service: Service,
    institution: Institution,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Settle a bill by card at the counter: the insured pays `insured_pays`, the fund owes
    the institution `fund_owes_institution`. Send an `Idempotency-Key` header so that a
    retry returns the first answer instead of paying twice."""
    status, view = service.settle(body.to_bill(institution), idempotency_key)
    # The view is plain JSON data already: send it as it is (the hot path).
    return JSONResponse(view, status_code=status)


@router.get("/settlements/{settlement_id}", responses=ERRORS, response_model=StoredSettlementOut)
def get(
    settlement_id: DbId, service: Annotated[Queries, Depends(queries)], institution: Institution
) -> dict[str, Any]:
    """A settlement as it stands now (after any adjustment), with its explanation."""
    return service.settlement(settlement_id, institution)


@router.post("/settlements/{settlement_id}/reversal", responses=ERRORS, response_model=ReversalOut)
def reverse(
    settlement_id: DbId, body: ReversalIn, service: Service, institution: Institution
) -> dict[str, Any]:
    """Reverse a settlement (a refund or a correction). Nothing is deleted: a reversing
    entry is stored, and the person's later settlements of the year whose results change
    are re-settled and stored as adjustments, listed in the answer."""
    return service.reverse(settlement_id, body.reason, institution)


@router.post("/quotes", responses=ERRORS, response_model=SettlementOut)
def quote(body: BillIn, service: Service, institution: Institution) -> dict[str, Any]:
    """The same computation as a settlement, against the person's year so far, storing nothing."""
    return service.quote(body.to_bill(institution))
