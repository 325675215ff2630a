"""`yibao serve --workers N` (entrypoints/workers.py): each worker listens on a socket of
its own (SO_REUSEPORT), the kernel spreading connections over them; SIGTERM stops them
all; an address in use fails at once. The real console script, in a subprocess."""

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

YIBAO = str(Path(sys.executable).parent / "yibao")

pytestmark = pytest.mark.database  # an SQLite file, migrated by the server's start


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


def _serve(tmp_path: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "YIBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'yibao.sqlite3'}",
        "YIBAO_SECRET_KEY_FILE": str(tmp_path / "secret.key"),
    }
    return subprocess.Popen(
        [YIBAO, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_each_worker_listens_on_its_own_socket_and_sigterm_stops_them_all(
    tmp_path: Path,
) -> None:
    port = _free_port()
    server = _serve(tmp_path, port, 3)
    try:
        deadline = time.monotonic() + 120
        while len(_listeners(port)) < 3 and time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            time.sleep(0.2)
        workers = _listeners(port)
        assert len(workers) == 3  # three sockets, not one shared by three processes
        assert len(set(workers)) == 3
        assert server.pid not in workers  # the supervisor listens on none
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            assert http.get("/healthz").json()["status"] == "ok"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
        assert _listeners(port) == []
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


def test_the_workers_end_with_their_supervisor_killed(tmp_path: Path) -> None:
    """kill -9 of `yibao serve` leaves no worker serving the port (PR_SET_PDEATHSIG)."""
    port = _free_port()
    server = _serve(tmp_path, port, 2)
    try:
        _listening(server, port, 2)
        server.kill()
        server.wait()
        deadline = time.monotonic() + 60
        while _listeners(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _listeners(port) == []
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
