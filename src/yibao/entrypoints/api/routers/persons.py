"""A person's year: settlements with explanations, accumulators and what remains."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from yibao.entrypoints.api.deps import Anyone, queries
from yibao.entrypoints.api.responses import PersonYearOut
from yibao.entrypoints.api.routers.settlements import ERRORS
from yibao.entrypoints.api.schemas import Name
from yibao.service.queries import Queries

router = APIRouter(prefix="/v1/persons", tags=["persons"])


@router.get("/{person_id}/years/{year}", responses=ERRORS, response_model=PersonYearOut)
def person_year(
    person_id: Name,
    year: Annotated[int, Path(ge=2000, le=2100)],
    service: Annotated[Queries, Depends(queries)],
    who: Anyone,
) -> dict[str, Any]:
    """Every settlement of the year with its explanation; each limit with what is used and
    left. For staff of the region, the person and their guardian."""
    return service.person_year(who, person_id, year)
