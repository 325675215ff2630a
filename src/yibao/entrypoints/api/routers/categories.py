"""A person's categories over dates (低保 low income, 特困 special hardship, 建档立卡
poverty registered): recorded and ended by a clerk, with the audit log; read by the
staff, the person and their guardian. The decision tables of a region's policy read
the category in force on a bill's date (docs/policies.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from yibao.domain.access import Principal
from yibao.entrypoints.api.deps import Clerk, allow, services
from yibao.entrypoints.api.routers.settlements import ERRORS
from yibao.entrypoints.api.schemas import Name, Strict
from yibao.service.categories import READERS

router = APIRouter(prefix="/v1/persons", tags=["persons"])
Reader = Annotated[Principal, Depends(allow(*READERS))]


class CategoryIn(Strict):
    category: str = Field(
        min_length=1,
        max_length=32,
        description="low_income, special_hardship or poverty_registered",
    )
    valid_from: date | None = Field(default=None, description="First day; none: open")
    valid_to: date | None = Field(default=None, description="Last day; none: open")


class CategoryEndIn(Strict):
    valid_to: date = Field(description="The open category's last day (inclusive)")


class CategoryOut(BaseModel):
    category: str
    valid_from: date | None
    valid_to: date | None


class RecordedCategoryOut(CategoryOut):
    person_id: str


@router.get("/{person_id}/categories", responses=ERRORS, response_model=list[CategoryOut])
def categories_of(person_id: Name, request: Request, who: Reader) -> list[dict[str, Any]]:
    """The person's categories over dates, as recorded; `general` on every other day."""
    return services(request).categories.of(who, person_id)


@router.post(
    "/{person_id}/categories",
    status_code=201,
    responses=ERRORS,
    response_model=RecordedCategoryOut,
)
def record_category(
    person_id: Name, body: CategoryIn, request: Request, who: Clerk
) -> dict[str, Any]:
    """Record a category from `valid_from` to `valid_to` (clerks; audit log). A span that
    overlaps one recorded is refused (409): a person has one category a day."""
    return services(request).categories.record(
        who, person_id, body.category, body.valid_from, body.valid_to
    )


@router.post("/{person_id}/categories/end", responses=ERRORS, response_model=RecordedCategoryOut)
def end_category(
    person_id: Name, body: CategoryEndIn, request: Request, who: Clerk
) -> dict[str, Any]:
    """End the person's open category on `valid_to` (clerks; audit log with the span
    before and after). None open is a 409; a last day before its first a 422."""
    return services(request).categories.end(who, person_id, body.valid_to)
