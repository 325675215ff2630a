"""yibao his-sim against a running server, on SQLite and PostgreSQL: hospitals play a day
through the national interface over HTTP (signed x-tif headers), with over-cap prices,
refunds, lost answers and the day's reconciliation, and report no protocol error, no
arithmetic error and every day reconciled; what it reads from the database and the
credentials it signs with come through its entry point's wiring."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from sqlalchemy.engine import Engine

from integration.certificates_world import build
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.entrypoints import his_sim as wiring
from yibao.entrypoints.api.app import create_app
from yibao.fsi.his_sim import main
from yibao.service.services import Services

SECRET = "his-sim-test-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(
    engine: Engine, policies: PolicyLoader, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The API on a port of its own, signing with the secret his-sim's credentials use."""
    monkeypatch.setenv("YIBAO_SECRET_KEY", SECRET)
    build(engine)
    services = Services.build(lambda: UnitOfWork(engine), policies, secret=SECRET.encode())
    port = _free_port()
    config = uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="error")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(200):
        if running.started:
            break
        time.sleep(0.05)
    assert running.started
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


def test_hospitals_play_a_day_and_reconcile(
    engine: Engine, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    argv = ["--url", server, "--database-url", url, "--year", "2026"]
    argv += ["--hospitals", "3", "--days", "2", "--patients", "12", "--inpatient-share", "0.3"]
    code = main(argv, wiring._world, wiring.credentials)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "protocol errors: 0" in out
    assert "arithmetic errors: 0" in out
    assert "days reconciled (3201 + 3202): 6 of 6" in out
    for infno in ("1312", "2207", "2304", "3201", "3202", "9101"):
        assert f"│  {infno} │" in out, out
    # The same days again: yibao now also has the first run's settlements, which this
    # run's books lack, so no day reconciles, and the run fails.
    assert main(argv, wiring._world, wiring.credentials) == 1
    again = capsys.readouterr().out
    assert "protocol errors: 0" in again
    assert "days reconciled (3201 + 3202): 0 of 6" in again


def test_hospitals_that_keep_their_connection_play_the_same_day(
    engine: Engine, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--keep-alive: each hospital sends its messages on one HTTP/1.1 connection."""
    url = engine.url.render_as_string(hide_password=False)
    argv = ["--url", server, "--database-url", url, "--year", "2026", "--keep-alive"]
    argv += ["--hospitals", "2", "--days", "1", "--patients", "8", "--inpatient-share", "0.3"]
    code = main(argv, wiring._world, wiring.credentials)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "protocol errors: 0" in out
    assert "days reconciled (3201 + 3202): 2 of 2" in out
