"""Institution statements: what the fund owes for a month."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from yibao.domain.access import Principal, Role
from yibao.entrypoints.api.deps import allow, services
from yibao.entrypoints.api.responses import StatementOut
from yibao.entrypoints.api.routers.settlements import ERRORS
from yibao.entrypoints.api.schemas import Name
from yibao.service.errors import NotFoundError
from yibao.service.statements import statement

router = APIRouter(prefix="/v1/institutions", tags=["institutions"])
Reader = Annotated[Principal, Depends(allow(Role.INSTITUTION, Role.CLERK, Role.APPROVER))]


@router.get("/{institution_id}/statements", responses=ERRORS, response_model=StatementOut)
def month_statement(
    institution_id: Name,
    request: Request,
    who: Reader,
    month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$")],
) -> dict[str, Any]:
    """What the fund owes the institution for the month's card settlements (by encounter
    date), by scheme and layer, reversals and adjustments included. For the institution
    itself and the agency's staff."""
    if who.role is Role.INSTITUTION and who.institution_id != institution_id:
        raise NotFoundError(
            "unknown_institution", f"institution {institution_id!r} is not registered"
        )
    return statement(services(request).settlements.uow, institution_id, month)
