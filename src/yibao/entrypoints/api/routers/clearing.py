"""Monthly clearing between regions (reference §9): run a month, read the statements,
the net payer confirms and records the payment, statements as CSV or .xlsx."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from yibao.entrypoints.api.deps import Staff, services
from yibao.entrypoints.api.schemas import DbId, ErrorOut, Strict
from yibao.service.clearing import ClearingService

router = APIRouter(prefix="/v1", tags=["clearing"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Not signed in (not_signed_in, invalid_token)"},
    403: {"model": ErrorOut, "description": "Not the caller's to do (forbidden: not the payer)"},
    404: {"model": ErrorOut, "description": "No such clearing, or not of the caller's region"},
    409: {"model": ErrorOut, "description": "Not in a state for this (confirmed, paid already)"},
    422: {"model": ErrorOut, "description": "The request cannot be done as sent (see code)"},
}
MonthText = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", examples=["2026-03"])]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def clearing(request: Request) -> ClearingService:
    return services(request).clearing


Service = Annotated[ClearingService, Depends(clearing)]


class RunIn(Strict):
    month: MonthText


class PaymentIn(Strict):
    reference: str = Field(min_length=1, max_length=64, description="The bank transfer's reference")


class StatementOut(BaseModel):
    id: int
    month: str
    region_a: str
    region_b: str
    a_advanced: str = Field(
        description="What region_a's institutions advanced for region_b's insured"
    )
    b_advanced: str = Field(
        description="What region_b's institutions advanced for region_a's insured"
    )
    net: str
    payer: str | None = Field(description="The region that pays the net (None: nothing to pay)")
    payee: str | None
    entries: int
    status: str = Field(description="stated | confirmed | paid")
    confirmed_by: str | None
    paid_by: str | None
    payment_ref: str | None


class LineOut(BaseModel):
    settlement_id: int
    entry: str = Field(description="settlement | reversal | adjustment")
    month: str
    date: str = Field(description="The encounter's date")
    person_id: str
    institution_id: str
    institution_name: str | None
    treated: str = Field(description="The place of treatment, which advanced the amount")
    insured: str = Field(description="The insured place, which owes it")
    amount: str


class StatementWithLinesOut(StatementOut):
    lines: list[LineOut]


class RunOut(BaseModel):
    month: str
    made: list[int] = Field(description="The clearings this run made (none: nothing was left)")
    moved_to_open_month: int
    statements: list[StatementOut]


class BalanceOut(BaseModel):
    region: str
    counterparty: str
    side: str = Field(description="receivable | payable")
    open: str


@router.post("/clearings", responses=ERRORS, response_model=RunOut)
def run(body: RunIn, service: Service, who: Staff) -> dict[str, Any]:
    """Clear a month that is over: a statement per pair of regions of every settlement,
    reversal and adjustment between them not yet cleared. Running it again changes nothing."""
    return service.run(body.month, who)


@router.get("/clearings", responses=ERRORS, response_model=list[StatementOut])
def statements(
    service: Service,
    who: Staff,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
) -> list[dict[str, Any]]:
    """The clearing statements of the caller's region (a month's, or all)."""
    return service.statements(who, month)


@router.get("/clearings/balances", responses=ERRORS, response_model=list[BalanceOut])
def balances(service: Service, who: Staff) -> list[dict[str, Any]]:
    """What each region's books hold open: receivables from and payables to each other."""
    return service.balances(who)


@router.get("/clearings/{clearing_id}", responses=ERRORS, response_model=StatementWithLinesOut)
def statement(clearing_id: DbId, service: Service, who: Staff) -> dict[str, Any]:
    """A statement with every movement on it, both directions."""
    return service.statement(who, clearing_id)


@router.post(
    "/clearings/{clearing_id}/confirmation", responses=ERRORS, response_model=StatementWithLinesOut
)
def confirm(clearing_id: DbId, service: Service, who: Staff) -> dict[str, Any]:
    """The net payer's agency confirms the statement."""
    return service.confirm(who, clearing_id)


@router.post(
    "/clearings/{clearing_id}/payment", responses=ERRORS, response_model=StatementWithLinesOut
)
def pay(clearing_id: DbId, body: PaymentIn, service: Service, who: Staff) -> dict[str, Any]:
    """Record the net payment: the statement's receivables and payables close."""
    return service.pay(who, clearing_id, body.reference)


@router.get(
    "/clearings/{clearing_id}/export",
    responses={
        **ERRORS,
        200: {"content": {"text/csv": {}, XLSX: {}}, "description": "The statement as a file"},
    },
    response_class=Response,
)
def export(
    clearing_id: DbId,
    service: Service,
    who: Staff,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
) -> Response:
    """The statement as CSV (UTF-8) or an .xlsx workbook."""
    data = service.export(who, clearing_id, format)
    media = "text/csv; charset=utf-8" if format == "csv" else XLSX
    name = f"clearing-{clearing_id}.{format}"
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
