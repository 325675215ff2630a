"""What an x-tif credential check costs a national-interface message, as the route makes
it (fsi_router.answer: presented and cached on the event loop, principal in a thread
when cached says None), on PostgreSQL.

    .venv/bin/python bench/fsi_auth_cost.py [--messages 2000] [--rounds 3]

Run the code of two commits beside each other, alternating, on one database:

    PYTHONPATH=/tmp/before/src .venv/bin/python bench/fsi_auth_cost.py
    .venv/bin/python bench/fsi_auth_cost.py

It prints the wall time and the process's CPU time (time.process_time: this process's
threads, not PostgreSQL's) a message, each message signed anew (a fresh nonce) by one
institution whose credential stays cached.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from starlette.concurrency import run_in_threadpool

from settle_http import fresh_database  # bench/settle_http.py
from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.migrate import upgrade
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader, services
from yibao.domain.access import Role
from yibao.domain.registry import Institution, InstitutionKind
from yibao.fsi.auth import FsiAuth, issue_credential, tif_headers
from yibao.service.access import OPERATOR
from yibao.settings import Settings

SECRET = b"fsi-auth-cost"


async def check(auth: FsiAuth, headers: dict[str, str]) -> None:
    presented = auth.presented(headers, None)
    who = auth.cached(presented)
    if who is None:
        who = await run_in_threadpool(auth.principal, presented)


async def rounds(auth: FsiAuth, made: dict[str, str], messages: int, count: int) -> None:
    for _ in range(count):
        signed = [tif_headers(made["paasid"], made["paas_token"]) for _ in range(messages)]
        wall, cpu = time.perf_counter(), time.process_time()
        for headers in signed:
            await check(auth, headers)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"{wall / messages * 1e6:7.1f} µs wall  {cpu / messages * 1e6:7.1f} µs CPU a message")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = fresh_database("yibao_fsi_auth_cost")
    engine = make_engine(url)
    upgrade(engine)
    built = services(engine, PolicyLoader([]), Settings(secret_key=SECRET.decode()))
    with UnitOfWork(engine) as uow:
        uow.registry.add_region("sample-city", "样本市", "Sample City", "990100")
        uow.registry.add_institution(
            Institution("H1", "sample-city", "H1", 2, InstitutionKind.HOSPITAL, True)
        )
        uow.commit()
    built.access.create_account(OPERATOR, "h1", Role.INSTITUTION, "H1", institution_id="H1")
    made = issue_credential(built.access, built.secret, OPERATOR, "h1")
    auth = FsiAuth(built.access, built.secret)
    asyncio.run(rounds(auth, made, 200, 1))  # warm: the pool, prepared plans
    asyncio.run(rounds(auth, made, args.messages, args.rounds))
    engine.dispose()


if __name__ == "__main__":
    main()
