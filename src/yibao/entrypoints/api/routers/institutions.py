"""Institutions: registered and changed by a clerk (their type and province too, which
a region's decision tables read), and their statements: what the fund owes for a month."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from yibao.domain.access import Principal, Role
from yibao.domain.registry import Institution, InstitutionKind
from yibao.entrypoints.api.deps import Clerk, allow, services
from yibao.entrypoints.api.responses import StatementOut
from yibao.entrypoints.api.routers.settlements import ERRORS
from yibao.entrypoints.api.schemas import Name, Strict
from yibao.service.errors import NotFoundError
from yibao.service.institutions import InstitutionChange
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


InstitutionType = Literal["general", "tcm"]


class InstitutionIn(Strict):
    id: str = Field(min_length=1, max_length=32, pattern=r"^[^\x00-\x1f]+$")
    region: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    level: int = Field(ge=0, le=3)
    kind: InstitutionKind = InstitutionKind.HOSPITAL
    designated: bool = True
    type: InstitutionType = Field(default="general", description="tcm: a TCM hospital (中医院)")
    province: str | None = Field(
        default=None,
        pattern=r"^\d{2}$",
        description="The province's two GB/T 2260 digits; none: its region's",
    )


class InstitutionChangeIn(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    level: int | None = Field(default=None, ge=0, le=3)
    designated: bool | None = None
    type: InstitutionType | None = None
    province: str | None = Field(
        default=None, pattern=r"^(\d{2}|region)$", description="two digits, or region: its region's"
    )


class InstitutionOut(BaseModel):
    id: str
    region: str
    name: str
    level: int
    kind: str
    designated: bool
    pilot: bool
    type: str
    province: str | None


@router.post("", status_code=201, responses=ERRORS, response_model=InstitutionOut)
def register_institution(body: InstitutionIn, request: Request, who: Clerk) -> dict[str, Any]:
    """Register an institution of the clerk's region (audit log)."""
    inst = Institution(
        body.id,
        body.region,
        body.name,
        body.level,
        body.kind,
        body.designated,
        type=body.type,
        province=body.province,
    )
    return services(request).institutions.register(who, inst)


@router.get("/{institution_id}", responses=ERRORS, response_model=InstitutionOut)
def institution(institution_id: Name, request: Request, who: Reader) -> dict[str, Any]:
    """An institution as registered: for staff of its region and the institution itself."""
    return services(request).institutions.get(who, institution_id)


@router.patch("/{institution_id}", responses=ERRORS, response_model=InstitutionOut)
def change_institution(
    institution_id: Name, body: InstitutionChangeIn, request: Request, who: Clerk
) -> dict[str, Any]:
    """Change an institution's name, level, designation, type or province (`region`: back
    to its region's); the audit log keeps it before and after. Bills settled before keep
    the facts they settled with."""
    change = InstitutionChange(
        name=body.name,
        level=body.level,
        designated=body.designated,
        type=body.type,
        province=None if body.province == "region" else body.province,
        clear_province=body.province == "region",
    )
    return services(request).institutions.change(who, institution_id, change)
