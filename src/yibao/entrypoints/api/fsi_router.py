"""`POST /fsi/api/callService`: the national interface's one endpoint."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from yibao.entrypoints.api.fast_path import read_body
from yibao.fsi.auth import REPLAY, FsiAuth, Nonce, Refused
from yibao.fsi.fields import FsiError
from yibao.fsi.gateway import Gateway, Pending
from yibao.fsi.jsontext import loads

JSON = "application/json; charset=utf-8"
router = APIRouter(prefix="/fsi/api", tags=["national interface"])
PATHS = frozenset({"/fsi/api/callService", "/fsi/api/rsfComIfsService/callService"})


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
    host = request.client.host if request.client else None
    text = await answer(request.app.state, request.headers, host, request.body)
    return Response(text, media_type=JSON)


async def answer(
    state: Any, headers: Mapping[str, str], host: str | None, body: Callable[[], Awaitable[bytes]]
) -> str:
    """The answer envelope of one message (the route's, and FsiFastPath's): the credential,
    then the message, in a request thread; a settlement handed to the group committer is
    awaited without one."""
    auth: FsiAuth = state.fsi_auth
    nonce: Nonce | None = None
    try:
        # The signature, its clock, and a credential seen in the last half minute: no
        # I/O, no thread; an x-tif nonce is then recorded in the database (shared by the
        # workers) by the message's own transaction. A credential not seen lately is
        # read, and its nonce recorded first, in a thread.
        presented = auth.presented(headers, host)
        who = auth.cached(presented)
        if who is None:
            deferred = auth.deferred(presented)
            if deferred is not None:
                who, nonce = deferred
            else:
                who = await run_in_threadpool(auth.principal, presented)
    except Refused as refused:  # before the body is read
        await run_in_threadpool(auth.refused, refused.claimed, refused.message, {"source": host})
        return Gateway.refusal(refused.message)

    signing_in: list[str] = []

    def admit(fixmedins_code: str, infno: str, msgid: str) -> None:
        if nonce is not None and fixmedins_code != who.institution_id:
            auth.spend(nonce)  # a replay is refused as one, as before its message was read
            if nonce.replayed:
                raise FsiError(REPLAY)
        try:
            auth.admit(who, fixmedins_code, infno)
        except Refused as refused:
            raise FsiError(refused.message) from None
        if infno == "9001":
            signing_in.append(msgid)

    raw = await body()
    gateway = Gateway(state.services, admit, sign_in_hours=state.fsi_sign_in_hours)
    begun = await run_in_threadpool(gateway.begin, raw, nonce)
    if isinstance(begun, Pending):  # a settlement in a shared transaction: its commit
        with contextlib.suppress(Exception):  # awaited without a thread; finish() says how
            await asyncio.wrap_future(begun.future)
        # Once it committed the answer is at hand; a refusal may read the first answer.
        ok = begun.future.exception() is None
        text = begun.finish() if ok else await run_in_threadpool(begun.finish)
    else:
        text = begun
    if (
        nonce is not None
        and not nonce.kept
        and await run_in_threadpool(replayed, auth, nonce, host)
    ):
        return Gateway.refusal(REPLAY)
    if signing_in:
        await run_in_threadpool(auth.signed_in, who, signing_in[0], loads(text))
    return text


def replayed(auth: FsiAuth, nonce: Nonce, host: str | None) -> bool:
    """A message whose transaction did not record its nonce (it had none, or rolled back):
    recorded apart now. Seen before (there, or here), the message is a replay: its
    refusal is logged as it was when the nonce was checked before the message."""
    auth.spend(nonce)
    if nonce.replayed:
        auth.refused(nonce.paasid, REPLAY, {"source": host})
    return nonce.replayed


class FsiFastPath:
    """POST /fsi/api/callService (and /fsi/api/rsfComIfsService/callService) answered
    without FastAPI's router, as fast_path.py answers a card settlement: route matching
    against every path, dependency solving and a Request object cost the server about a
    tenth of a message's CPU, for a route that reads its headers and body and sends one
    JSON text. It sits inside BodyLimit and SecurityHeaders (app.py), which see every
    request; the route above stays, for the OpenAPI document and any application without
    this layer, and both answer through `answer`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in PATHS:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        headers = Headers(scope=scope)
        text = await answer(
            scope["app"].state, headers, client[0] if client else None, lambda: read_body(receive)
        )
        body = text.encode()
        # The headers Starlette's Response(text, media_type=JSON) sends.
        start = [(b"content-length", str(len(body)).encode()), (b"content-type", JSON.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": start})
        await send({"type": "http.response.body", "body": body})
