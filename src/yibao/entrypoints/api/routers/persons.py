"""A person's year: settlements with explanations, accumulators and what remains."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from yibao.domain.access import Principal, Role
from yibao.entrypoints.api.deps import allow, queries
from yibao.entrypoints.api.responses import PersonYearOut
from yibao.entrypoints.api.routers.settlements import ERRORS
from yibao.entrypoints.api.schemas import Name
from yibao.service.queries import Queries

router = APIRouter(prefix="/v1/persons", tags=["persons"])
# A year of treatment is medical: staff, the person and their guardian; a school sees a
# pupil's enrolment (GET /v1/persons/{id}), never their treatment.
Reader = Annotated[
    Principal, Depends(allow(Role.CLERK, Role.APPROVER, Role.INSURED, Role.GUARDIAN))
]


@router.get("/{person_id}/years/{year}", responses=ERRORS, response_model=PersonYearOut)
def person_year(
    person_id: Name,
    year: Annotated[int, Path(ge=2000, le=2100)],
    service: Annotated[Queries, Depends(queries)],
    who: Reader,
) -> dict[str, Any]:
    """Every settlement of the year with its explanation; each limit with what is used and
    left. For staff of the region, the person and their guardian."""
    return service.person_year(who, person_id, year)
