"""A server killed (SIGKILL) while its settlements go through group commit, under load:
no acknowledged settlement is missing, none is stored twice, and every request sent
again with its key after a restart is answered with the one settlement it made (or
settled now, once). On PostgreSQL, where the server groups settlements."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from integration.auth import institution
from integration.test_crash import (
    YIBAO,
    _free_port,
    adopting_orphans,
    children,
    crashed,
    serving_workers,
)
from yibao.adapters.db import tables as t
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.service.demo import load_demo
from yibao.service.services import Services
from yibao.service.verify import verify
from yibao.settings import DEFAULT_PG_WORKERS

CLIENTS = 16
ACKNOWLEDGED_BEFORE_KILL = 150


@contextmanager
def serving(engine: Engine) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    env = {**os.environ, "YIBAO_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    env.pop("YIBAO_WORKERS", None)  # the server's default on PostgreSQL: two workers
    server = subprocess.Popen(
        [YIBAO, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base, server
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=10)


def _world(engine: Engine) -> tuple[list[str], str, str]:
    with engine.connect() as conn:
        cards = list(
            conn.execute(text("SELECT number FROM cards WHERE status = 'active'")).scalars()
        )
        hospital = conn.execute(
            text(
                "SELECT id FROM institutions WHERE designated AND kind = 'hospital' "
                "AND region = 'sample-city' ORDER BY id LIMIT 1"
            )
        ).scalar_one()
        code = conn.execute(
            text(
                "SELECT code FROM catalogue_items WHERE region = 'sample-city' AND cls = 'A' "
                "AND unit_price_fen IS NULL ORDER BY code LIMIT 1"
            )
        ).scalar_one()
    return cards, str(hospital), str(code)


@pytest.mark.database
def test_a_server_killed_during_group_commits_loses_and_doubles_nothing(
    pg_engine: Engine, policies: PolicyLoader
) -> None:
    engine = pg_engine
    load_demo(lambda: UnitOfWork(engine), policies, persons=200)
    cards, hospital, code = _world(engine)
    signed = institution(Services.build(lambda: UnitOfWork(engine), policies), hospital)
    sent: dict[str, dict[str, Any]] = {}  # every request, by its key, before it goes
    acknowledged: dict[str, int] = {}  # key -> the settlement a 201 answered
    refused: list[str] = []  # any answer but 201 (there should be none)
    stop = threading.Event()

    def client(base: str, n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=base, timeout=30) as http:
            i = 0
            while not stop.is_set():
                i += 1
                key = f"crash-{n}-{i}"
                body = {
                    "card_number": rng.choice(cards),
                    "kind": "outpatient",
                    "date": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    "lines": [
                        {"code": code, "quantity": "1", "unit_price": f"{rng.randint(5, 400)}.00"}
                    ],
                }
                sent[key] = body
                try:
                    answer = http.post(
                        "/v1/settlements", json=body, headers={**signed, "Idempotency-Key": key}
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if answer.status_code != 201:
                    refused.append(answer.text)
                    return
                acknowledged[key] = answer.json()["id"]

    with adopting_orphans(), serving(engine) as (base, server):
        serving_workers(base, DEFAULT_PG_WORKERS)
        workers = children(server.pid)
        assert len(workers) == DEFAULT_PG_WORKERS
        threads = [threading.Thread(target=client, args=(base, n)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.01)
        grouped = httpx.get(f"{base}/healthz", timeout=5).json()["group_commit"]
        os.kill(server.pid, signal.SIGKILL)  # mid-flight: batches are being settled
        crashed(server, workers)  # every worker with it: none finished its batch
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    assert refused == []
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
    assert grouped["largest"] > 1  # the settlements went through shared transactions
    with engine.connect() as conn:
        stored = set(conn.execute(select(t.settlements.c.id)).scalars())
        answers = conn.execute(select(func.count()).select_from(t.idempotency_keys)).scalar_one()
    assert set(acknowledged.values()) <= stored  # nothing acknowledged is missing
    assert answers == len(stored)  # each stored settlement with its one answer: none doubled

    # Every request again with its key, to a new server: each answered once, as first.
    with serving(engine) as (base, _), httpx.Client(base_url=base, timeout=30) as http:
        for key, body in sent.items():
            answer = http.post(
                "/v1/settlements", json=body, headers={**signed, "Idempotency-Key": key}
            )
            assert answer.status_code == 201, answer.text
            if key in acknowledged:
                assert answer.json()["id"] == acknowledged[key]
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(t.settlements)).scalar_one()
    assert total == len(sent)
    report = verify(lambda: UnitOfWork(engine), policies)
    assert report.problems == []
    assert report.settlements == len(sent)
