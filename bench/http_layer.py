"""The HTTP layer's own CPU a settlement: everything between the socket and the group
committer, with the committer replaced by a thread that answers without a database.

    .venv/bin/python bench/http_layer.py [--seconds 10] [--delay-ms 100] [--clients 64]
                                         [--src OTHER/src] [--database URL]

Starts the real application (`yibao serve`'s uvicorn, 2 workers, the real token check,
body model, middlewares and response) on a database that bench/settle_http.py loaded
(default its yibao_bench; YIBAO_BENCH_DATABASE names another), with `group_commit`
replaced by `Answering`: a thread that answers every queued bill with a fixed settlement
view, a batch at a time after --delay-ms (100 ms: about the rate and the concurrency of
a real run on this machine; 0: as fast as the server can). `wrk` fires valid bills for
--seconds; the server's CPU (its processes, from /proc) divided by the requests is the
figure. --src runs another version's source (a `git archive` of it) the same way, for
a before/after in the same minute. Needs `wrk`.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ADMIN = os.environ.get(
    "YIBAO_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

# A settlement's answer of the usual size (about 1.5 kB of JSON).
VIEW: dict[str, Any] = {
    "id": 1,
    "status": "settled",
    "person_id": "P-000001",
    "institution_id": "H1-001",
    "kind": "outpatient",
    "date": "2026-03-02",
    "total": "125.00",
    "insured_pays": "40.00",
    "fund_owes_institution": "85.00",
    "explanation": [{"step": n, "text": "x" * 60, "amount": "12.30"} for n in range(8)],
    "lines": [{"code": "A-1", "quantity": "1", "unit_price": "30.00", "class": "A"}] * 3,
}


class Answering:
    """In place of the GroupCommitter: `submit` queues, a thread answers the whole queue
    after the delay, from outside the event loop as the committer does."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._changed = threading.Condition()
        self._queue: list[Future[tuple[int, dict[str, Any]]]] = []
        threading.Thread(target=self._answer, daemon=True).start()

    def submit(self, _bill: object, _key: str | None = None) -> Future[tuple[int, dict[str, Any]]]:
        future: Future[tuple[int, dict[str, Any]]] = Future()
        future.set_running_or_notify_cancel()
        with self._changed:
            self._queue.append(future)
            self._changed.notify()
        return future

    def _answer(self) -> None:
        while True:
            with self._changed:
                while not self._queue:
                    self._changed.wait()
                batch, self._queue = self._queue, []
            if self.delay:
                time.sleep(self.delay)
            for future in batch:
                future.set_result((201, VIEW))


def app() -> Any:
    """The server's application factory (uvicorn imports this module in its workers)."""
    from yibao.bootstrap import engine_from, policy_source, services
    from yibao.entrypoints.api.app import create_app
    from yibao.service.services import Services
    from yibao.settings import Settings

    settings = Settings()
    real = services(engine_from(settings), policy_source(settings.policy_path), settings)
    delay = float(os.environ["YIBAO_BENCH_DELAY_MS"]) / 1000
    answering = Services(**{**real.__dict__, "group_commit": Answering(delay)})
    return create_app(answering, threads=settings.threads, settings=settings)


def fire(args: argparse.Namespace, url: str) -> tuple[int, int, float]:
    """Serve, warm both workers, fire; (requests, non-2xx, server CPU seconds)."""
    sys.path.insert(0, str(BENCH))
    from settle_http import cpu_seconds, population

    cards, tokens, items = population(url)
    paths = [p for p in (args.src, str(BENCH)) if p]
    env = {
        **os.environ,
        "YIBAO_DATABASE_URL": url,
        "YIBAO_BENCH_DELAY_MS": str(args.delay_ms),
        "PYTHONPATH": os.pathsep.join(paths),
    }
    run = (
        f"import uvicorn; uvicorn.run('http_layer:app', factory=True, port={args.port}, "
        "workers=2, log_level='warning', access_log=False)"
    )
    server = subprocess.Popen([sys.executable, "-c", run], env=env)
    base = f"http://127.0.0.1:{args.port}"
    try:
        started = time.monotonic()
        while time.monotonic() - started < 120:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        code, price = items[0]
        body = (
            f'{{"card_number":"{cards[0]}","kind":"outpatient","date":"2026-03-02",'
            f'"diagnosis":"J06.9","lines":[{{"code":"{code}","quantity":"1",'
            f'"unit_price":"{price or "12.50"}"}}]}}'
        )
        script = Path(f"/tmp/yibao-http-layer-{os.getpid()}.lua")
        script.write_text(
            f'wrk.method = "POST"\nwrk.body = [[{body}]]\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {tokens[0]}"\n'
        )
        wrk = ["wrk", "-t2", f"-c{args.clients}", "-s", str(script), f"{base}/v1/settlements"]
        subprocess.run([*wrk, "-d3s"], capture_output=True, check=True)  # both workers warm
        before = cpu_seconds(server.pid)[0]
        out = subprocess.run(
            [*wrk, f"-d{int(args.seconds)}s"], capture_output=True, text=True, check=True
        ).stdout
        cpu = cpu_seconds(server.pid)[0] - before
    finally:
        server.terminate()
        server.wait(timeout=30)
    done = re.search(r"(\d+) requests in", out)
    assert done, out
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return int(done.group(1)), int(bad.group(1)) if bad else 0, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--delay-ms", type=float, default=100)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--src", help="Another version's src/ (default: this checkout's).")
    parser.add_argument("--database", help="Default: bench/settle_http.py's database.")
    args = parser.parse_args()
    from sqlalchemy.engine import make_url

    name = os.environ.get("YIBAO_BENCH_DATABASE", "yibao_bench")
    url = args.database or make_url(ADMIN).set(database=name).render_as_string(False)
    requests, bad, cpu = fire(args, url)
    print(
        f"{args.src or 'this checkout'}: {requests:,} requests in {args.seconds:.0f} s "
        f"({requests / args.seconds:,.0f}/s, {bad} not 2xx), answers after {args.delay_ms:g} ms: "
        f"server CPU {cpu * 1000 / max(requests, 1):.3f} ms a request"
    )


if __name__ == "__main__":
    main()
