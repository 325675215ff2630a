"""A server killed in the middle of settling loses nothing it acknowledged, and leaves
nothing half-written: every 201 it answered is stored, and `verify` finds the stored
years, splits and ledger consistent. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.engine import Engine

from integration.auth import institution
from integration.world import register
from yibao.adapters.db import tables as t
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.scenario_files import load_scenario
from yibao.bootstrap import PolicyLoader
from yibao.service.services import Services
from yibao.service.verify import verify

ROOT = Path(__file__).resolve().parents[2]
YIBAO = str(Path(sys.executable).parent / "yibao")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_killed_server_loses_no_acknowledged_settlement(
    engine: Engine, policies: PolicyLoader
) -> None:
    scenario = load_scenario(ROOT / "examples" / "student-outpatient-cap.yaml")
    with UnitOfWork(engine) as uow:
        who = register(uow, scenario)
        uow.commit()
    signed = institution(Services.build(lambda: UnitOfWork(engine), policies), "C1")
    port = _free_port()
    env = {**os.environ, "YIBAO_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    server = subprocess.Popen(
        [YIBAO, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        acknowledged: list[int] = []
        stop = threading.Event()

        def client(n: int) -> None:
            with httpx.Client(base_url=base, timeout=5) as http:
                i = 0
                while not stop.is_set():
                    i += 1
                    body = {
                        "card_number": who.card_number,
                        "kind": "outpatient",
                        "date": (date(2026, 1, 1) + timedelta(days=(n * 37 + i) % 360)).isoformat(),
                        "lines": [{"code": "TEST-A", "quantity": "1", "unit_price": "50.00"}],
                    }
                    try:
                        answer = http.post("/v1/settlements", json=body, headers=signed)
                    except httpx.HTTPError:
                        return  # the server is gone
                    if answer.status_code == 201:
                        acknowledged.append(answer.json()["id"])

        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(server.pid, signal.SIGKILL)  # mid-flight: requests are being settled
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=10)

    assert len(acknowledged) >= 20
    with engine.connect() as conn:
        stored = set(conn.execute(select(t.settlements.c.id)).scalars())
    assert set(acknowledged) <= stored
    report = verify(lambda: UnitOfWork(engine), policies)
    assert report.problems == []
    assert report.settlements == len(stored)
