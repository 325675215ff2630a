"""Real-time card settlement, quotes and reversals, as designated institutions call them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response

from yibao.entrypoints.api.deps import caller_institution, settlement_service
from yibao.entrypoints.api.schemas import BillIn, ErrorOut
from yibao.service.settlement import SettlementService

router = APIRouter(prefix="/v1", tags=["settlements"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "Not found"},
    409: {"model": ErrorOut, "description": "Idempotency key reused for another request"},
    422: {"model": ErrorOut, "description": "The bill cannot be settled as sent (see code)"},
}

Service = Annotated[SettlementService, Depends(settlement_service)]
Institution = Annotated[str, Depends(caller_institution)]


@router.post("/settlements", status_code=201, responses=ERRORS)
def settle(
    body: BillIn,
    service: Service,
    institution: Institution,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Settle a bill by card at the counter: the insured pays `insured_pays`, the fund owes
    the institution `fund_owes_institution`. Send an `Idempotency-Key` header so that a
    retry returns the first answer instead of paying twice."""
    status, view = service.settle(body.to_bill(institution), idempotency_key)
    response.status_code = status
    return view


@router.post("/quotes", responses=ERRORS)
def quote(body: BillIn, service: Service, institution: Institution) -> dict[str, Any]:
    """The same computation as a settlement, against the person's year so far, storing nothing."""
    return service.quote(body.to_bill(institution))
