"""A server killed (SIGKILL) while 16 hospitals' 2207 go through group commit, under load:
no acknowledged settlement is missing, none is stored twice, and every 2207 sent again
with its msgid after a restart is answered with the one settlement it made (or settled
now, once). On PostgreSQL, where the server groups the national interface's settlements."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from integration.fsi_hospitals import Hospital, demo_world
from integration.test_crash import adopting_orphans, children, crashed, serving_workers
from integration.test_crash_group import serving
from yibao.adapters.db import tables as t
from yibao.adapters.db.tables_fsi import fsi_settlements
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.entrypoints.his_sim import credentials
from yibao.fsi.auth import Credential
from yibao.fsi.jsontext import dumps, loads
from yibao.service.demo import load_demo
from yibao.service.verify import verify
from yibao.settings import DEFAULT_PG_WORKERS

HOSPITALS = 16
ACKNOWLEDGED_BEFORE_KILL = 60
PATH = "/fsi/api/callService"


def _sender(http: httpx.Client, credential: Credential) -> Any:
    def send(body: bytes) -> bytes:
        headers = {"Content-Type": "application/json", **credential.headers()}
        return http.post(PATH, content=body, headers=headers).content

    return send


@pytest.mark.database
def test_a_server_killed_during_grouped_2207_loses_and_doubles_nothing(
    pg_engine: Engine, policies: PolicyLoader, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = pg_engine
    monkeypatch.setenv("YIBAO_SECRET_KEY", "crash-fsi-group-secret")  # the server's too
    load_demo(lambda: UnitOfWork(engine), policies, persons=200)
    world = demo_world(engine)
    url = engine.url.render_as_string(hide_password=False)
    issued = credentials(url, world.hospitals[:HOSPITALS])
    sent: dict[str, dict[str, Any]] = {}  # every 2207, by its msgid, before it goes
    acknowledged: dict[str, str] = {}  # msgid -> the setl_id an infcode 0 answered
    refused: list[str] = []  # any 2207 answer but infcode 0 (there should be none)
    stop = threading.Event()

    def hospital(base: str, code: str, n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=base, timeout=30) as http:
            his = Hospital(code, _sender(http, issued[code]))
            try:
                his.sign_in()
                while not stop.is_set():
                    price = Decimal(rng.randint(500, 40_000)).scaleb(-2)
                    message = his.open_visit(rng.choice(world.patients), world.code, price)
                    sent[message["msgid"]] = message
                    answer = his.send(message)
                    if answer["infcode"] != 0:
                        refused.append(str(answer["err_msg"]))
                        return
                    acknowledged[message["msgid"]] = answer["output"]["setlinfo"]["setl_id"]
            except (httpx.HTTPError, AssertionError, ValueError):
                return  # the server is gone (mid-message: no answer, or a broken one)

    with adopting_orphans(), serving(engine) as (base, server):
        serving_workers(base, DEFAULT_PG_WORKERS)
        workers = children(server.pid)
        assert len(workers) == DEFAULT_PG_WORKERS
        threads = [
            threading.Thread(target=hospital, args=(base, code, n))
            for n, code in enumerate(world.hospitals[:HOSPITALS])
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 180
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.01)
        answered = len(acknowledged)  # before the committer's figures are read
        health = httpx.get(f"{base}/healthz", timeout=5).json()
        grouped = health["group_commit"]  # the figures of every worker, summed
        os.kill(server.pid, signal.SIGKILL)  # mid-flight: 2207 batches are being committed
        crashed(server, workers)  # every worker with it: none finished its batch
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    assert refused == []
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
    assert health["workers"] == DEFAULT_PG_WORKERS
    assert grouped["bills"] >= answered  # the 2207 went through the committers
    assert grouped["largest"] > 1  # and shared transactions
    with engine.connect() as conn:
        stored = {str(i) for i in conn.execute(select(t.settlements.c.id)).scalars()}
        visits = conn.execute(
            select(fsi_settlements.c.mdtrt_id, func.count()).group_by(fsi_settlements.c.mdtrt_id)
        ).all()
        keys = conn.execute(select(func.count()).select_from(t.idempotency_keys)).scalar_one()
    assert set(acknowledged.values()) <= stored  # nothing acknowledged is missing
    assert all(n == 1 for _, n in visits)  # no visit settled twice
    assert len(visits) == len(stored) == keys  # each settlement with its visit and key

    # Every 2207 again with its msgid, to a new server: each answered, as first if it was.
    with serving(engine) as (base, _), httpx.Client(base_url=base, timeout=30) as http:
        for msgid, message in sent.items():
            code = message["fixmedins_code"]
            answer = loads(_sender(http, issued[code])(dumps(message).encode()))
            assert answer["infcode"] == 0, answer["err_msg"]
            if msgid in acknowledged:
                assert answer["output"]["setlinfo"]["setl_id"] == acknowledged[msgid]
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(t.settlements)).scalar_one()
    assert total == len(sent)  # one settlement for each visit sent to be settled
    report = verify(lambda: UnitOfWork(engine), policies)
    assert report.problems == []
    assert report.settlements == len(sent)
