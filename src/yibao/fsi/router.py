"""`POST /fsi/api/callService`: the national interface's one endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from yibao.fsi.gateway import Gateway

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
    the first answer."""
    body = await request.body()
    gateway = Gateway(request.app.state.services)
    text = await run_in_threadpool(gateway.call, body)
    return Response(text, media_type="application/json; charset=utf-8")
