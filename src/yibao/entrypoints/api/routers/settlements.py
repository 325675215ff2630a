"""Real-time card settlement, quotes and reversals, as designated institutions call them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from yibao.domain.access import Principal, Role
from yibao.entrypoints.api.deps import (
    InstitutionCaller,
    allow,
    bounded_header,
    parse_body,
    queries,
    services,
    settlement_service,
)
from yibao.entrypoints.api.plain_bill import card_bill, is_plain
from yibao.entrypoints.api.responses import ReversalOut, SettlementOut, StoredSettlementOut
from yibao.entrypoints.api.schemas import BillFields, BillIn, DbId, ErrorOut, ReversalIn
from yibao.service.group_commit import Answer
from yibao.service.queries import Queries
from yibao.service.services import Services
from yibao.service.settlement import Bill, SettlementService

router = APIRouter(prefix="/v1", tags=["settlements"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Not signed in (not_signed_in, invalid_token)"},
    403: {"model": ErrorOut, "description": "The account's role may not do this (forbidden)"},
    404: {"model": ErrorOut, "description": "Not found"},
    409: {"model": ErrorOut, "description": "Idempotency key reused for another request"},
    422: {"model": ErrorOut, "description": "The bill cannot be settled as sent (see code)"},
}

Service = Annotated[SettlementService, Depends(settlement_service)]
Reader = Annotated[
    Principal,
    Depends(allow(Role.INSTITUTION, Role.CLERK, Role.APPROVER, Role.INSURED, Role.GUARDIAN)),
]
Reverser = Annotated[Principal, Depends(allow(Role.INSTITUTION, Role.CLERK))]


def _institution(who: Principal) -> str:
    assert who.institution_id is not None  # an institution account always names it
    return who.institution_id


def _bill(found: Services, body: BillFields, who: Principal) -> Bill:
    """The bill; an electronic voucher is checked (signature, expiry: no I/O) and stands
    for the person it names."""
    person_id = None
    if body.voucher is not None:
        person_id = found.member.voucher_person(body.voucher)
    return body.to_bill(_institution(who), person_id)


# The hot path reads its own body and header (parse_body, bounded_header): FastAPI's
# generic parameter machinery cost about a seventh of a settlement's CPU. The OpenAPI
# document describes both as FastAPI would have.
IDEMPOTENCY_KEY_MAX = 200
_SETTLE_OPENAPI: dict[str, Any] = {
    "parameters": [
        {
            "in": "header",
            "name": "idempotency-key",
            "required": False,
            "schema": {
                "anyOf": [{"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX}, {"type": "null"}],
                "title": "Idempotency-Key",
            },
        }
    ],
    "requestBody": {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BillIn"}}},
        "required": True,
    },
}


@router.post(
    "/settlements",
    status_code=201,
    responses={
        **ERRORS,
        201: {"model": SettlementOut, "description": "Settled (or the first answer to a retry)"},
    },
    openapi_extra=_SETTLE_OPENAPI,
)
async def settle(request: Request, who: InstitutionCaller) -> Response:
    """Settle a bill by card at the counter: the insured pays `insured_pays`, the fund owes
    the institution `fund_owes_institution`. Send an `Idempotency-Key` header so that a
    retry returns the first answer instead of paying twice. An electronic insurance voucher
    (`voucher`, from the member app) settles in place of the card: invalid_voucher or
    voucher_expired when it does not check."""
    # Served by fast_path.SettleFastPath in front of the router; this route describes the
    # operation in the OpenAPI document and answers the same for an application without it.
    status, view = await settled(
        services(request),
        who,
        await request.body(),
        request.headers.get("idempotency-key"),
        waiting=asyncio.wrap_future,
    )
    return Response(orjson.dumps(view), status_code=status, media_type="application/json")


async def settled(
    found: Services,
    who: Principal,
    raw: bytes,
    key: str | None,
    *,
    waiting: Callable[[Future[Answer]], Awaitable[Answer]],
) -> Answer:
    """A caller's bill settled: (HTTP status, the answer's JSON data). `waiting` turns the
    group committer's future into something the event loop awaits."""
    bill, key = bill_of(found, who, raw, key)
    grouped = found.group_commit
    if grouped is not None:  # answered once the transaction it shared has committed
        return await waiting(grouped.submit(bill, key))
    return await run_in_threadpool(found.settlements.settle, bill, key)


def parse_bill(raw: bytes) -> BillFields:
    """A settlement's body as BillIn reads it, with BillIn's errors. Checking each text
    of the bill (BillIn's and LineIn's validator on every field, the lines twice) was a
    third of the parse; a plain body (is_plain) cannot fail it, and is read without.
    Anything else, and any body the plain model refuses, is BillIn's to read and refuse."""
    if is_plain(raw):
        try:
            return BillFields.model_validate_json(raw)
        except ValidationError:
            pass  # refused: in BillIn's words, below
    return parse_body(raw, BillIn)


def bill_of(
    found: Services, who: Principal, raw: bytes, key: str | None
) -> tuple[Bill, str | None]:
    """The bill of a request's body and its Idempotency-Key, checked in the route's order
    (the body, then the key, then a voucher): what is refused raises the route's error.
    No I/O: the HTTP protocol's own settlement path (protocol.py) calls it on the loop.
    The usual card bill is read by hand (plain_bill.py), anything else by the model."""
    bill = card_bill(raw, _institution(who))
    if bill is not None:
        return bill, bounded_header(key, "idempotency-key", max_length=IDEMPOTENCY_KEY_MAX)
    body = parse_bill(raw)
    key = bounded_header(key, "idempotency-key", max_length=IDEMPOTENCY_KEY_MAX)
    return _bill(found, body, who), key


@router.get("/settlements/{settlement_id}", responses=ERRORS, response_model=StoredSettlementOut)
def get(
    settlement_id: DbId, service: Annotated[Queries, Depends(queries)], who: Reader
) -> dict[str, Any]:
    """A settlement as it stands now (after any adjustment), with its explanation: for the
    institution that made it, staff of the region, and the insured person or their guardian.
    `referrals` names the referral certificates whose episode holds the stay (the stay it
    was issued at, or a stay at the hospital referred to within its dates), read now."""
    return service.settlement(settlement_id, who)


@router.post("/settlements/{settlement_id}/reversal", responses=ERRORS, response_model=ReversalOut)
def reverse(
    settlement_id: DbId, body: ReversalIn, service: Service, who: Reverser
) -> dict[str, Any]:
    """Reverse a settlement (a refund or a correction). Nothing is deleted: a reversing
    entry is stored, and the person's later settlements of the year whose results change
    are re-settled and stored as adjustments, listed in the answer."""
    return service.reverse(settlement_id, body.reason, who)


@router.post("/quotes", responses=ERRORS, response_model=SettlementOut)
def quote(
    request: Request, body: BillIn, service: Service, who: InstitutionCaller
) -> dict[str, Any]:
    """The same computation as a settlement, against the person's year so far, storing nothing."""
    return service.quote(_bill(services(request), body, who))
