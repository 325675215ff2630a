"""`POST /fsi/api/callService`: the national interface's one endpoint."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from yibao.fsi.auth import FsiAuth, Refused
from yibao.fsi.fields import FsiError
from yibao.fsi.gateway import Gateway, Pending
from yibao.fsi.jsontext import loads

JSON = "application/json; charset=utf-8"
router = APIRouter(prefix="/fsi/api", tags=["national interface"])


class FsiAnswer(BaseModel):
    infcode: int = Field(description="0 success, -1 failure")
    inf_refmsgid: str
    refmsg_time: str
    respond_time: str
    err_msg: str | None = Field(description="Why it failed, in Chinese, naming the field")
    warn_msg: str | None = None
    cainfo: str | None = None
    signtype: str | None = None
    output: dict[str, Any] | None


REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object"},
                "example": {
                    "infno": "2207",
                    "msgid": "H1234567890120261123120000" + "0001",
                    "mdtrtarea_admvs": "510100",
                    "insuplc_admdvs": "510100",
                    "recer_sys_code": "FSI",
                    "infver": "V1.0",
                    "opter_type": "1",
                    "opter": "001",
                    "opter_name": "收费员",
                    "inf_time": "2026-11-23 12:00:00",
                    "fixmedins_code": "H1",
                    "fixmedins_name": "",
                    "sign_no": "(from 9001)",
                    "input": {"data": {"mdtrt_id": "…", "psn_no": "…"}},
                },
            }
        },
    }
}


@router.post("/rsfComIfsService/callService", response_model=None, include_in_schema=False)
@router.post(
    "/callService",
    response_model=None,
    responses={200: {"model": FsiAnswer, "description": "Always 200: see infcode"}},
    openapi_extra=REQUEST,
)
async def call_service(request: Request) -> Response:
    """Every transaction of the national interface (see docs/national-interface.md; also
    at `/fsi/api/rsfComIfsService/callService`, where some hospital systems post). Always HTTP 200: success or failure is `infcode` (0 / -1), and a
    failure's `err_msg` says, in Chinese, which field is wrong. A repeated `msgid` gets
    the first answer. The caller proves its institution first (fsi/auth.py: a bearer
    token, the x-tif-* signed headers, or a client certificate through a trusted proxy),
    and `fixmedins_code` must be that institution."""
    auth: FsiAuth = request.app.state.fsi_auth
    host = request.client.host if request.client else None
    try:
        # The signature, its clock and nonce, and a credential seen in the last half
        # minute: no I/O, no thread; only a credential not seen lately is read.
        presented = auth.presented(request.headers, host)
        who = auth.cached(presented)
        if who is None:
            who = await run_in_threadpool(auth.principal, presented)
    except Refused as refused:  # before the body is read
        await run_in_threadpool(auth.refused, refused.claimed, refused.message, {"source": host})
        return Response(Gateway.refusal(refused.message), media_type=JSON)

    signing_in: list[str] = []

    def admit(fixmedins_code: str, infno: str, msgid: str) -> None:
        try:
            auth.admit(who, fixmedins_code, infno)
        except Refused as refused:
            raise FsiError(refused.message) from None
        if infno == "9001":
            signing_in.append(msgid)

    body = await request.body()
    gateway = Gateway(
        request.app.state.services, admit, sign_in_hours=request.app.state.fsi_sign_in_hours
    )
    answer = await run_in_threadpool(gateway.begin, body)
    if isinstance(answer, Pending):  # a settlement in a shared transaction: its commit
        with contextlib.suppress(Exception):  # awaited without a thread; finish() says how
            await asyncio.wrap_future(answer.future)
        # Once it committed the answer is at hand; a refusal may read the first answer.
        ok = answer.future.exception() is None
        text = answer.finish() if ok else await run_in_threadpool(answer.finish)
    else:
        text = answer
    if signing_in:
        await run_in_threadpool(auth.signed_in, who, signing_in[0], loads(text))
    return Response(text, media_type=JSON)
