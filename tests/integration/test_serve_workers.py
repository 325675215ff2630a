"""`yibao serve --workers N` (entrypoints/workers.py): each worker listens on a socket of
its own (SO_REUSEPORT), the kernel spreading connections over them; SIGTERM stops them
all gracefully, kill -9 kills them all; an address in use fails at once; /healthz sums
the workers' figures; SQLite gets one process by default. The real console script, in a
subprocess."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from integration.auth import institution
from integration.test_crash import adopting_orphans, children, crashed, serving_workers
from integration.test_crash_group import _world
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.service.demo import load_demo
from yibao.service.services import Services
from yibao.settings import DEFAULT_PG_WORKERS

YIBAO = str(Path(sys.executable).parent / "yibao")


pytestmark = pytest.mark.database  # an SQLite file, migrated by the server's start (or PG)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listeners(port: int) -> list[int]:
    """The pids of the processes listening on the port: one line a listening socket."""
    ss = shutil.which("ss")
    assert ss, "ss (iproute2) lists the listening sockets"
    out = subprocess.run(
        [ss, "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return [int(pid) for pid in re.findall(r"pid=(\d+)", out)]


def _serve(tmp_path: Path, port: int, workers: int | None, **env: str) -> subprocess.Popen[bytes]:
    """`yibao serve` on an SQLite file in tmp_path (or env's database); workers None:
    the server's default."""
    env = {
        **os.environ,
        "YIBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'yibao.sqlite3'}",
        "YIBAO_SECRET_KEY_FILE": str(tmp_path / "secret.key"),
        **env,
    }
    env.pop("YIBAO_WORKERS", None)
    chosen = [] if workers is None else ["--workers", str(workers)]
    return subprocess.Popen(
        [YIBAO, "serve", "--port", str(port), *chosen],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_each_worker_listens_on_its_own_socket_and_sigterm_stops_them_all(
    tmp_path: Path,
) -> None:
    port = _free_port()
    # Each worker writes its latency log at its lifespan's end: the mark of a graceful stop.
    server = _serve(tmp_path, port, 3, YIBAO_LATENCY_LOG=str(tmp_path / "latency"))
    try:
        deadline = time.monotonic() + 120
        while len(_listeners(port)) < 3 and time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            time.sleep(0.2)
        workers = _listeners(port)
        assert len(workers) == 3  # three sockets, not one shared by three processes
        assert len(set(workers)) == 3
        assert server.pid not in workers  # the supervisor listens on none
        serving_workers(f"http://127.0.0.1:{port}", 3)  # each counted in /healthz
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
        assert _listeners(port) == []
        written = sorted(p.name for p in (tmp_path / "latency").glob("settle-*.json"))
        assert written == sorted(f"settle-{pid}.json" for pid in workers)  # each ended well
        for pid in workers:  # each worker gone, none left behind
            assert (
                not Path(f"/proc/{pid}").exists()
                or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
            )
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_an_address_in_use_is_refused_at_once(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        server = _serve(tmp_path, port, 2)
        try:
            _, err = server.communicate(timeout=120)
            assert server.returncode == 1
            assert f"cannot listen on 127.0.0.1:{port}" in err.decode()
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        assert _listeners(port) == [os.getpid()]


def _listening(server: subprocess.Popen[bytes], port: int, workers: int) -> list[int]:
    deadline = time.monotonic() + 120
    while len(_listeners(port)) < workers and time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        time.sleep(0.2)
    found = _listeners(port)
    assert len(found) == workers
    return found


def test_a_second_server_on_the_same_port_is_refused(tmp_path: Path) -> None:
    """Each worker's socket shares its port (SO_REUSEPORT), but a second server must not:
    it would take part of the clients."""
    port = _free_port()
    (tmp_path / "a").mkdir()
    first = _serve(tmp_path / "a", port, 2)
    try:
        workers = _listening(first, port, 2)
        (tmp_path / "b").mkdir()
        second = _serve(tmp_path / "b", port, 2)
        _, err = second.communicate(timeout=120)
        assert second.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}" in err.decode()
        assert sorted(_listeners(port)) == sorted(workers)  # the first server's, alone
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)


def test_kill_9_of_the_server_kills_every_worker(tmp_path: Path) -> None:
    """kill -9 of `yibao serve` is a crash of the whole server: each worker gets SIGKILL
    (PR_SET_PDEATHSIG), none stops gracefully (none writes its latency log, as each does
    at its lifespan's end), and none keeps the port."""
    port = _free_port()
    with adopting_orphans():
        server = _serve(tmp_path, port, 2, YIBAO_LATENCY_LOG=str(tmp_path / "latency"))
        try:
            workers = _listening(server, port, 2)
            assert sorted(children(server.pid)) == sorted(workers)
            serving_workers(f"http://127.0.0.1:{port}", 2)
            server.kill()
            crashed(server, workers)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    assert _listeners(port) == []
    assert list((tmp_path / "latency").glob("settle-*.json")) == []


def test_without_reuse_port_the_workers_share_one_socket_and_die_with_the_server(
    tmp_path: Path,
) -> None:
    """YIBAO_REUSE_PORT=false: one socket bound by the supervisor, accepted from by every
    worker (uvicorn's way), under the same supervisor: /healthz counts both, and kill -9
    of the server kills both (uvicorn's own supervisor left them serving)."""
    port = _free_port()
    with adopting_orphans():
        server = _serve(tmp_path, port, 2, YIBAO_REUSE_PORT="false")
        try:
            serving_workers(f"http://127.0.0.1:{port}", 2)
            workers = children(server.pid)
            assert len(workers) == 2
            # One socket: the supervisor's, shared by its workers.
            assert sorted(set(_listeners(port))) == sorted([server.pid, *workers])
            server.kill()
            crashed(server, workers)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    assert _listeners(port) == []


def test_sqlite_is_served_by_one_process_by_default(tmp_path: Path) -> None:
    """SQLite takes one writer: no --workers, no YIBAO_WORKERS, one process, no supervisor."""
    port = _free_port()
    server = _serve(tmp_path, port, None)
    try:
        assert _listening(server, port, 1) == [server.pid]
        assert children(server.pid) == []
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()
        assert health == {"status": "ok", "workers": 1}  # no group commit on SQLite
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def test_healthz_sums_every_workers_group_commit(
    tmp_path: Path, pg_engine: Engine, policies: PolicyLoader
) -> None:
    """Settlements on new connections (the kernel spreads them over both workers): each
    /healthz, whichever worker answers, counts every one of them, not its own half."""
    load_demo(lambda: UnitOfWork(pg_engine), policies, persons=20)
    cards, hospital, code = _world(pg_engine)
    signed = institution(Services.build(lambda: UnitOfWork(pg_engine), policies), hospital)
    url = pg_engine.url.render_as_string(hide_password=False)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(tmp_path, port, None, YIBAO_DATABASE_URL=url)  # PostgreSQL's default
    try:
        assert len(_listening(server, port, DEFAULT_PG_WORKERS)) == DEFAULT_PG_WORKERS
        serving_workers(base, DEFAULT_PG_WORKERS)
        settled = 40
        for n in range(settled):
            body = {
                "card_number": cards[n % len(cards)],
                "kind": "outpatient",
                "date": f"2026-03-{1 + n % 28:02d}",
                "lines": [{"code": code, "quantity": "1", "unit_price": "20.00"}],
            }
            with httpx.Client(base_url=base, timeout=30) as http:  # a connection each
                answer = http.post("/v1/settlements", json=body, headers=signed)
            assert answer.status_code == 201, answer.text
        for _ in range(8):  # new connections: both workers answer some of these
            health = httpx.get(f"{base}/healthz", timeout=10).json()
            assert health["workers"] == DEFAULT_PG_WORKERS
            assert health["group_commit"]["bills"] == settled
            assert health["group_commit"]["batches"] >= 1
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
