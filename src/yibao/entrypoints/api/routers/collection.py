"""Premium collection and cards."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from yibao.domain.access import Principal, Role
from yibao.domain.collection import MAX_FILE_BYTES
from yibao.entrypoints.api.collection_schemas import (
    BankImportOut,
    CardNumber,
    CardOut,
    OpenAccountsIn,
    OpenAccountsOut,
    OverdueOut,
    ReplacementOut,
)
from yibao.entrypoints.api.deps import Clerk, Staff, allow, services
from yibao.entrypoints.api.schemas import DbId, ErrorOut, Name
from yibao.service.cards import CardsService
from yibao.service.collection import CollectionService
from yibao.service.errors import ServiceError

router = APIRouter(prefix="/v1", tags=["collection"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Not signed in (not_signed_in, invalid_token)"},
    403: {"model": ErrorOut, "description": "The account's role or region may not do this"},
    404: {"model": ErrorOut, "description": "Not found (or not the caller's to see)"},
    409: {"model": ErrorOut, "description": "A duplicate file, or a card in another status"},
    422: {"model": ErrorOut, "description": "The request cannot be done as sent (see code)"},
}

RegionQuery = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]
YearQuery = Annotated[int, Query(ge=2000, le=2100)]
LossReporter = Annotated[Principal, Depends(allow(Role.CLERK, Role.INSURED, Role.GUARDIAN))]
CardReader = Annotated[
    Principal, Depends(allow(Role.CLERK, Role.APPROVER, Role.INSURED, Role.GUARDIAN))
]


def _service(request: Request) -> CollectionService:
    return services(request).collection


Service = Annotated[CollectionService, Depends(_service)]


def _cards(request: Request) -> CardsService:
    return services(request).cards


Cards = Annotated[CardsService, Depends(_cards)]


@router.post("/collection/accounts", responses=ERRORS, response_model=OpenAccountsOut)
def open_accounts(body: OpenAccountsIn, service: Service, who: Clerk) -> dict[str, Any]:
    """Open a collection account for every pending enrolment of the region's year that has
    none. Exempt enrolments (personal part 0) become active at once and their card is ordered."""
    return service.open_accounts(who, body.region, body.year)


@router.get(
    "/collection/accounts.csv",
    responses={**ERRORS, 200: {"content": {"text/csv": {}}, "description": "account,amount,name"}},
    response_class=Response,
)
def export_accounts(region: RegionQuery, year: YearQuery, service: Service, who: Clerk) -> Response:
    """The open accounts of the region's year for the bank: account, amount, name."""
    text = service.export_accounts(who, region, year)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="accounts-{region}-{year}.csv"'},
    )


@router.post("/collection/imports", status_code=201, responses=ERRORS, response_model=BankImportOut)
async def import_bank_file(
    file: Annotated[
        UploadFile, File(description="The bank's result file: account,amount,date,status")
    ],
    service: Service,
    who: Clerk,
) -> dict[str, Any]:
    """Import the bank's result file (CSV with a header: account, amount, date, status —
    success/failed or 成功/失败). Every line is reported with its outcome; only lines paid
    with the exact amount due change anything. The same file twice is refused (409)."""
    data = await file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ServiceError(
            "file_too_large",
            f"file: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: split it",
            status=413,
        )
    name = file.filename or "bank-file.csv"
    result: dict[str, Any] = await run_in_threadpool(service.import_bank_file, who, name, data)
    return result


@router.get("/collection/imports/{import_id}", responses=ERRORS, response_model=BankImportOut)
def bank_import(
    import_id: DbId,
    service: Service,
    who: Staff,
    outcome: Annotated[str | None, Query(max_length=24)] = None,
) -> dict[str, Any]:
    """An imported file with every line's outcome (or the lines of one outcome)."""
    return service.bank_import(who, import_id, outcome)


@router.post("/cards/{number}/issue", responses=ERRORS, response_model=CardOut)
def issue_card(number: CardNumber, service: Cards, who: Clerk) -> dict[str, Any]:
    """Hand an ordered card to its holder: active from today."""
    return service.issue_card(who, number)


@router.post("/cards/{number}/loss", responses=ERRORS, response_model=CardOut)
def report_loss(number: CardNumber, service: Cards, who: LossReporter) -> dict[str, Any]:
    """Report an issued card lost (a clerk, the holder or their guardian). Settlements by
    it are refused from now on; the holder claims manual reimbursement until it is replaced."""
    return service.report_loss(who, number)


@router.post("/cards/{number}/replacement", responses=ERRORS, response_model=ReplacementOut)
def replace_card(number: CardNumber, service: Cards, who: Clerk) -> dict[str, Any]:
    """Replace a lost card: a new number is ordered, the old card points to it."""
    return service.replace_card(who, number)


@router.get("/cards/overdue", responses=ERRORS, response_model=OverdueOut)
def overdue_cards(
    region: RegionQuery,
    service: Cards,
    who: Staff,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """Ordered cards not issued by their due date, the longest overdue first."""
    return service.overdue_cards(who, region, limit)


@router.get("/persons/{person_id}/cards", responses=ERRORS, response_model=list[CardOut])
def cards_of(person_id: Name, service: Cards, who: CardReader) -> list[dict[str, Any]]:
    """Every card the person has had (staff of the region, the holder, their guardian)."""
    return service.cards_of(who, person_id)
