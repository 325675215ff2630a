"""What an x-tif credential costs a national-interface message, as the route makes it
(fsi_router.answer), on PostgreSQL.

    .venv/bin/python bench/fsi_auth_cost.py [--messages 2000] [--rounds 3]
                                            [--credential x-tif|bearer|none] [--database NAME]

Each message is a 3201 (a day's totals, none settled: its opening read, one read and its
stored answer) signed anew (a fresh nonce, a fresh msgid) by one institution whose
credential stays cached, answered as the route answers it: the credential checked on the
event loop (presented, cached, and where the code has it `deferred`), `principal` in a
thread when that says None (the nonce recorded on a connection of its own), the message
in a thread (`Gateway.begin`, given the nonce where the code takes one), and the nonce
recorded apart where its transaction did not. With `--credential bearer` (a cached API
token: no nonce) or `none` (the gateway alone), the difference is what x-tif costs.

Run the code of two commits beside each other, alternating, on one database:

    PYTHONPATH=/tmp/before/src .venv/bin/python bench/fsi_auth_cost.py
    .venv/bin/python bench/fsi_auth_cost.py

It prints the wall time and the process's CPU time (time.process_time: this process's
threads, not PostgreSQL's) a message, and PostgreSQL's (its backends' CPU, from
/proc/PID/stat, on this machine). Under callgrind, with --callgrind, the measured rounds'
instructions only (this process's; divide the total by --messages × --rounds):

    valgrind --tool=callgrind --collect-atstart=no .venv/bin/python bench/fsi_auth_cost.py \
        --callgrind --messages 500 --rounds 1
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from fsi_cpu import callgrind_toggle  # bench/fsi_cpu.py
from settle_http import fresh_database  # bench/settle_http.py
from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.migrate import upgrade
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader, services
from yibao.domain.access import Role
from yibao.domain.registry import Institution, InstitutionKind
from yibao.fsi.auth import FsiAuth, issue_credential, tif_headers
from yibao.fsi.gateway import Gateway
from yibao.service.access import OPERATOR
from yibao.settings import Settings

SECRET = b"fsi-auth-cost"
HEAD = {
    "mdtrtarea_admvs": "990100",
    "opter_type": "1",
    "opter": "001",
    "opter_name": "收费员",
    "inf_time": "2026-06-01 09:00:00",
    "fixmedins_code": "H1",
}
TOTALS = {"stmt_begndate": "2026-06-01", "stmt_enddate": "2026-06-01", "medfee_sumamt": "0"}
TOTALS |= {"fund_pay_sumamt": "0", "fixmedins_setl_cnt": "0", "clr_type": "11"}


def body(infno: str, data: dict[str, Any]) -> bytes:
    msgid = f"H1{time.time_ns()}"
    return json.dumps({"infno": infno, "msgid": msgid, **HEAD, "input": data}).encode()


def pg_cpu(pids: list[int]) -> float:
    """The CPU seconds (user + system) of these PostgreSQL backends so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


async def message(
    auth: FsiAuth, gateway: Gateway, headers: dict[str, str] | None, deferring: bool
) -> str:
    """One message as fsi_router.answer answers it (no audit of a sign-in: a 3201)."""
    nonce = None
    if headers is not None:
        presented = auth.presented(headers, None)
        who = auth.cached(presented)
        if who is None:
            deferred = auth.deferred(presented) if deferring else None
            if deferred is not None:
                who, nonce = deferred
            else:
                who = await run_in_threadpool(auth.principal, presented)
    raw = body("3201", {"data": TOTALS})
    if nonce is None:
        text_ = await run_in_threadpool(gateway.begin, raw)
    else:
        text_ = await run_in_threadpool(gateway.begin, raw, nonce)
        if not nonce.kept:
            await run_in_threadpool(auth.spend, nonce)
    assert isinstance(text_, str)
    assert '"infcode":0' in text_.replace(" ", ""), text_
    return text_


async def rounds(
    auth: FsiAuth,
    gateway: Gateway,
    signed: Any,
    messages: int,
    count: int,
    pids: list[int],
    toggle: Any = lambda: None,
) -> None:
    deferring = hasattr(auth, "deferred")
    for _ in range(count):
        headers = [signed() for _ in range(messages)]
        wall, cpu, pg = time.perf_counter(), time.process_time(), pg_cpu(pids)
        toggle()
        for h in headers:
            await message(auth, gateway, h, deferring)
        toggle()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        pg = pg_cpu(pids) - pg
        print(
            f"{wall / messages * 1e6:7.1f} µs wall  {cpu / messages * 1e6:7.1f} µs CPU  "
            f"{pg / messages * 1e6:7.1f} µs PostgreSQL's CPU a message"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--credential", choices=["x-tif", "bearer", "none"], default="x-tif")
    parser.add_argument("--database", default="yibao_fsi_auth_cost")
    parser.add_argument("--callgrind", action="store_true", help="count the rounds' only")
    args = parser.parse_args()
    toggle = callgrind_toggle() if args.callgrind else lambda: None
    url = fresh_database(args.database)
    engine = make_engine(url)
    upgrade(engine)
    built = services(engine, PolicyLoader([]), Settings(secret_key=SECRET.decode()))
    with UnitOfWork(engine) as uow:
        uow.registry.add_region("sample-city", "样本市", "Sample City", "990100")
        uow.registry.add_institution(
            Institution("H1", "sample-city", "H1", 2, InstitutionKind.HOSPITAL, True)
        )
        uow.commit()
    made = built.access.create_account(OPERATOR, "h1", Role.INSTITUTION, "H1", institution_id="H1")
    issued = issue_credential(built.access, built.secret, OPERATOR, "h1")
    auth = FsiAuth(built.access, built.secret)
    gateway = Gateway(built)
    signed_in = gateway.call(body("9001", {"signIn": {"opter_no": "1", "mac": "0", "ip": "0"}}))
    assert '"infcode":0' in signed_in.replace(" ", ""), signed_in
    if args.credential == "x-tif":
        signed: Any = lambda: tif_headers(issued["paasid"], issued["paas_token"])  # noqa: E731
    elif args.credential == "bearer":
        signed = lambda: {"authorization": f"Bearer {made['token']}"}  # noqa: E731
    else:
        signed = lambda: None  # noqa: E731
    with engine.connect() as conn:  # every backend of this database: the pools' and guards'
        asyncio.run(rounds(auth, gateway, signed, 200, 1, []))  # warm: pools, plans
        pids = list(
            conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars()
        )
        print(
            f"{args.credential}; code takes a nonce: {'nonce' in inspect.signature(gateway.begin).parameters}"
        )
        asyncio.run(rounds(auth, gateway, signed, args.messages, args.rounds, pids, toggle))
    engine.dispose()


if __name__ == "__main__":
    main()
