"""A server killed in the middle of settling loses nothing it acknowledged, and leaves
nothing half-written: every 201 it answered is stored, and `verify` finds the stored
years, splits and ledger consistent. On SQLite and PostgreSQL."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

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
from yibao.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
YIBAO = str(Path(sys.executable).parent / "yibao")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


@contextmanager
def adopting_orphans() -> Iterator[None]:
    """This process as a subreaper while a server is killed: its workers, orphaned by
    the kill of their supervisor, become this process's children, whose end (and the
    signal that ended them) `crashed` can read."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    assert libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    try:
        yield
    finally:
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def children(pid: int) -> list[int]:
    """A server's workers: the processes whose parent is `pid`, but multiprocessing's
    resource tracker (which every spawning process starts, serves nothing, and ends when
    its parent does)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile
        if int(text.rsplit(")", 1)[1].split()[1]) == pid and b"resource_tracker" not in command:
            found.append(int(stat.parent.name))
    return found


def serving_workers(base: str, workers: int) -> None:
    """Wait until /healthz counts `workers` processes serving (each made its app)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).json()["workers"] == workers:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"fewer than {workers} workers serving after 120 s")


def crashed(server: subprocess.Popen[bytes], workers: list[int]) -> None:
    """The server and each of its workers ended by SIGKILL, none by a graceful stop:
    under adopting_orphans, the orphaned workers are this process's to wait for."""
    assert server.wait(timeout=10) == -signal.SIGKILL
    for pid in workers:
        deadline = time.monotonic() + 10
        while True:
            try:
                reaped, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not yet handed to this process
                reaped, status = 0, 0
            if reaped:
                break
            assert time.monotonic() < deadline, f"worker {pid} survived its server's kill -9"
            time.sleep(0.01)
        assert os.WIFSIGNALED(status), f"worker {pid} ended by itself (status {status})"
        assert os.WTERMSIG(status) == signal.SIGKILL


def test_a_killed_server_loses_no_acknowledged_settlement(
    engine: Engine, policies: PolicyLoader
) -> None:
    scenario = load_scenario(ROOT / "examples" / "student-outpatient-cap.yaml")
    with UnitOfWork(engine) as uow:
        who = register(uow, scenario)
        uow.commit()
    signed = institution(Services.build(lambda: UnitOfWork(engine), policies), "C1")
    port = _free_port()
    url = engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "YIBAO_DATABASE_URL": url}
    env.pop("YIBAO_WORKERS", None)  # the server's default: two on PostgreSQL, one on SQLite
    expected = Settings(database_url=url, workers=None).server_workers()
    with adopting_orphans():
        server = subprocess.Popen(
            [YIBAO, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        acknowledged = _settle_until_killed(
            server, f"http://127.0.0.1:{port}", who, signed, expected
        )

    assert len(acknowledged) >= 20
    with engine.connect() as conn:
        stored = set(conn.execute(select(t.settlements.c.id)).scalars())
    assert set(acknowledged) <= stored
    report = verify(lambda: UnitOfWork(engine), policies)
    assert report.problems == []
    assert report.settlements == len(stored)


def _settle_until_killed(
    server: subprocess.Popen[bytes], base: str, who: Any, signed: dict[str, str], expected: int
) -> list[int]:
    """Four clients settle until the server (and each of its `expected` workers) is
    killed with SIGKILL mid-flight; the settlements answered 201."""
    try:
        serving_workers(base, expected)
        workers = children(server.pid)
        assert len(workers) == (expected if expected > 1 else 0)  # one: no supervisor
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
        crashed(server, workers)  # the whole server, not its supervisor alone
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=10)
    return acknowledged
