"""Load benchmark: real-time settlements per second through a real server on PostgreSQL.

    .venv/bin/python bench/settle_http.py [--persons 3000] [--seconds 30] [--clients 64] [--workers N]
                                          [--no-pgbench] [--profile] [--no-split] [--warmup 3]

Creates a PostgreSQL database of its own (YIBAO_BENCH_POSTGRES_URL, default
127.0.0.1:5432 as postgres), loads the demo population, starts `yibao serve` as a
separate process, and fires settlements from concurrent clients for a fixed time.
The clients are `wrk` (Debian package; it costs the server little CPU) when it is
installed, else Python (httpx), which takes a core of its own on a 2-core machine.
Prints a table (settlements/s counted from the database, p50/p99 latency, errors, and the
CPU milliseconds each settlement cost the server and PostgreSQL, read from /proc, which
other work on the machine does not disturb) and appends to bench/results.csv.
Before and after the settlements it runs pgbench's tpcb-like transaction at the same
client count on the same server (bench/pgbench.py) and prints the ratios: the machine is
shared and noisy, so the settlement rate means something only beside PostgreSQL's own.
The server records where each settlement's time went (YIBAO_LATENCY_LOG; bench/
server_split.py prints the parts: queued, the batch, the way back to the event loop ...,
p50 to max, and the garbage collector's pauses); --no-split runs it without, and records
the collector's pauses alone (YIBAO_GC_LOG).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from common import children_cpu_seconds, machine_busy_seconds  # bench/common.py
from flame import Profiler  # bench/flame.py
from pgbench import (  # bench/pgbench.py
    Latency,
    Pgbench,
    PgbenchFailedError,
    PgbenchRun,
    postgres_cpu_seconds,
    postmaster_pid,
)
from yibao.adapters.db.uow import UnitOfWork
from yibao.service.access import OPERATOR, AccessService
from yibao.settings import DEFAULT_PG_WORKERS

ROOT = Path(__file__).resolve().parents[1]
YIBAO = str(Path(sys.executable).parent / "yibao")
ADMIN = os.environ.get(
    "YIBAO_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def make_database() -> str:
    # YIBAO_BENCH_DATABASE: engineers sharing one PostgreSQL each bench a database of their own.
    return fresh_database(os.environ.get("YIBAO_BENCH_DATABASE", "yibao_bench"))


def fresh_database(name: str) -> str:
    """An empty database `name` on the benchmarks' PostgreSQL (dropped first if it is
    there); its URL. The other PostgreSQL benchmarks use it too."""
    drop_database(name)
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(ADMIN).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str) -> None:
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def demo_choices(conn: Any) -> tuple[list[str], list[str], list[tuple[str, int | None]]]:
    """What a benchmark's bills are drawn from in the demo region: the active cards, the
    designated hospitals (no pharmacy) and the catalogue items a bill may claim, each with
    its fixed price in fen if it has one; in a fixed order, so that a seeded draw repeats."""
    cards = [
        r[0]
        for r in conn.execute(
            text("SELECT number FROM cards WHERE status = 'active' ORDER BY number")
        )
    ]
    places = [
        r[0]
        for r in conn.execute(
            text(
                "SELECT id FROM institutions WHERE designated AND region = 'sample-city' "
                "AND kind <> 'pharmacy' ORDER BY id"
            )
        )
    ]
    items = [
        (r[0], r[1])
        for r in conn.execute(
            text(
                "SELECT code, unit_price_fen FROM catalogue_items "
                "WHERE cls <> 'self_pay' AND region = 'sample-city' ORDER BY code"
            )
        )
    ]
    return cards, places, items


def population(url: str) -> tuple[list[str], list[str], list[tuple[str, str | None]]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        cards, hospitals, priced = demo_choices(conn)
    items = [(code, None if fen is None else f"{fen / 100:.2f}") for code, fen in priced]
    # Each hospital signs its requests with its own API token (the demo made the accounts).
    access = AccessService(lambda: UnitOfWork(engine))
    tokens = [access.issue_token(OPERATOR, hospital.lower(), "bench") for hospital in hospitals]
    engine.dispose()
    return cards, tokens, items


def _proc_stat(pid: int, task: str = "") -> tuple[str, int, float] | None:
    """(command, parent pid, CPU seconds used) of a live process (or of one of its
    threads: task="task/<tid>/"), from /proc."""
    try:
        raw = Path(f"/proc/{pid}/{task}stat").read_text()
    except OSError:
        return None
    command = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return command, int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks


POSTMASTER = postmaster_pid(ADMIN)


def cpu_seconds(server: int) -> tuple[float, float]:
    """CPU seconds used so far by the server (its process and every descendant) and by
    PostgreSQL (bench/pgbench.py reads it the same way for pgbench): the machine's cost of
    the settlements, whatever else shares the machine."""
    stats = _tree(server)
    return sum(cpu for _, _, cpu in stats.values()), postgres_cpu_seconds(POSTMASTER)


def _tree(server: int) -> dict[int, tuple[str, int, float]]:
    """/proc's (command, parent, CPU seconds) of the server's process and descendants."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    ours = {server}
    grew = True
    while grew:
        more = {pid for pid, (_, parent, _) in stats.items() if parent in ours} - ours
        ours |= more
        grew = bool(more)
    return {pid: stats[pid] for pid in ours if pid in stats}


def loop_seconds(server: int) -> float:
    """CPU seconds of the main threads of the server's processes: in a uvicorn worker,
    the event loop (the HTTP layer: sockets, parsing, the route, the answers); the other
    threads are the group committer's and the thread pool's."""
    total = 0.0
    for pid in _tree(server):
        if (stat := _proc_stat(pid, f"task/{pid}/")) is not None:
            total += stat[2]
    return total


def stored_settlements(url: str) -> int:
    """Settlements in the database: the rate is counted from what was stored, not from
    the answers (a replayed idempotency key answers 201 and stores nothing)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        count = int(conn.execute(text("SELECT count(*) FROM settlements")).scalar_one())
    engine.dispose()
    return count


def settle_down(url: str) -> None:
    """VACUUM ANALYZE the loaded database: autovacuum would otherwise analyse the tables
    the demo just filled during the settlements, and bill them for it."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def bill(
    rng: random.Random, cards: list[str], items: list[tuple[str, str | None]]
) -> dict[str, object]:
    lines = []
    for code, price in rng.sample(items, rng.randint(1, 4)):
        lines.append(
            {
                "code": code,
                "quantity": str(rng.randint(1, 3)),
                "unit_price": price or f"{rng.uniform(5, 300):.2f}",
            }
        )
    kind = rng.choices(["outpatient", "inpatient", "emergency"], weights=(85, 10, 5))[0]
    return {
        "card_number": rng.choice(cards),
        "kind": kind,
        "date": (date(2026, 1, 1) + timedelta(days=rng.randint(0, 320))).isoformat(),
        "diagnosis": "J06.9",
        "lines": lines,
    }


async def fire(
    base: str,
    seconds: float,
    clients: int,
    cards: list[str],
    hospitals: list[str],
    items: list[tuple[str, str | None]],
) -> tuple[list[float], dict[int, int]]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:

        async def client(n: int) -> None:
            rng = random.Random(n)
            while time.perf_counter() < deadline:
                body = bill(rng, cards, items)
                headers = {
                    "Authorization": f"Bearer {rng.choice(hospitals)}",
                    "Idempotency-Key": uuid.uuid4().hex,
                }
                started = time.perf_counter()
                answer = await http.post("/v1/settlements", json=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

        await asyncio.gather(*(client(n) for n in range(clients)))
    return latencies, statuses


def fire_wrk(
    base: str,
    seconds: float,
    clients: int,
    cards: list[str],
    hospitals: list[str],
    items: list[tuple[str, str | None]],
    prefix: str = "bench",
) -> tuple[int, int, float, Latency]:
    """Run wrk with a script that sends random bills; returns (requests, non-2xx, seconds,
    the latencies' tail). Idempotency keys start with `prefix`: a second run with keys of
    the first would be answered by replays."""

    def lua(values: list[str]) -> str:
        return ",".join(f'"{v}"' for v in values)

    pairs = ",".join(f'{{"{code}","{price or "12.50"}"}}' for code, price in items)
    # Each wrk thread has a Lua state of its own, seeded alike: without a seed per thread,
    # both threads send the same bills with the same keys, and half the requests are
    # replays of the other thread's (cheap: no settlement). Keys carry the thread's number.
    script = f"""
cards = {{{lua(cards)}}}
hosp = {{{lua(hospitals)}}}
items = {{{pairs}}}
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("id", threads)
end
local counter = 0
init = function(args)
  math.randomseed(id * 7919)
end
request = function()
  counter = counter + 1
  local it = items[math.random(#items)]
  local body = string.format('{{"card_number":"%s","kind":"outpatient","date":"2026-%02d-%02d","diagnosis":"J06.9",'
    .. '"lines":[{{"code":"%s","quantity":"%d","unit_price":"%s"}}]}}',
    cards[math.random(#cards)], math.random(1, 10), math.random(1, 28), it[1], math.random(1, 3), it[2])
  return wrk.format("POST", "/v1/settlements", {{["Content-Type"]="application/json",
    ["Authorization"]="Bearer " .. hosp[math.random(#hosp)], ["Idempotency-Key"]="{prefix}-" .. id .. "-" .. counter}}, body)
end
done = function(summary, latency, requests)
  io.write(string.format("p99.9 %.3fms\\nmax %.3fms\\n", latency:percentile(99.9) / 1000, latency.max / 1000))
end
"""
    path = Path(f"/tmp/yibao-settle-{os.getpid()}.lua")  # engineers share /tmp
    path.write_text(script)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{int(seconds)}s", "--latency", "-s", str(path), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert m, out
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    done = re.search(r"(\d+) requests in ([\d.]+)(s|m)", out)
    assert done, out
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    elapsed = float(done.group(2)) * (60 if done.group(3) == "m" else 1)
    tail = Latency(ms("50%"), ms("99%"), ms("p99.9"), ms("max"))
    return int(done.group(1)), int(bad.group(1)) if bad else 0, elapsed, tail


@dataclass(frozen=True)
class YibaoRun:
    client: str
    requests: int
    settled: int
    others: str
    seconds: float
    tail: Latency
    server_cpu_ms: float
    database_cpu_ms: float
    client_cpu_ms: float  # wrk's (0 with the Python clients, which run in this process)
    machine_cpu_ms: float  # every core's busy time (bench/common.py)

    @property
    def per_second(self) -> float:
        return self.settled / self.seconds


def serve_and_fire(args: argparse.Namespace, url: str) -> YibaoRun:
    """Start `yibao serve` on the loaded database, fire settlements for args.seconds, and
    measure what each settlement cost the server and PostgreSQL."""
    env = {**os.environ, "YIBAO_DATABASE_URL": url}
    if args.latency_log:
        env["YIBAO_LATENCY_LOG"] = str(args.latency_log)
    else:  # --no-split: the collector's pauses still (a few a second: nothing to cost)
        env["YIBAO_GC_LOG"] = str(args.gc_log)
    command = [YIBAO, "serve", "--port", str(args.port)]
    if args.workers:  # else yibao serve's default (DEFAULT_PG_WORKERS on PostgreSQL)
        command += ["--workers", str(args.workers)]
    if args.server == "granian":  # the application under granian (not a dependency)
        command = [
            str(Path(sys.executable).parent / "granian"), "--interface", "asgi", "--factory",
            "--port", str(args.port), "--workers", str(workers_of(args)), "--loop", "uvloop",
            "--no-ws", "--log-level", "warning", "--no-access-log",
            "yibao.entrypoints.api.main:app_from_env",
        ]  # fmt: skip
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{args.port}"
    try:
        # A loaded machine may take a minute to start it. Every worker must be up before
        # the warm-up: each listens on a socket of its own (SO_REUSEPORT), and the warm-up's
        # connections, all opened at once, went to the first worker alone when the second
        # was still starting; the second then did its first settlements' one-time work in
        # the measured seconds (latencies of 150 ms in its first second, p99.9 twice).
        # /healthz counts the workers whose application is made (bound before it), under
        # `yibao serve`; granian's workers are not counted.
        expected = workers_of(args) if args.server == "uvicorn" else 1
        started = time.monotonic()
        while time.monotonic() - started < 120:
            try:
                answer = httpx.get(f"{base}/healthz", timeout=1)
                if answer.status_code == 200 and answer.json().get("workers", 1) >= expected:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)

        cards, hospitals, items = population(url)
        if args.warmup:  # every worker up, its first settlements' one-time work done
            if shutil.which("wrk") and not args.python_clients:
                fire_wrk(base, args.warmup, args.clients, cards, hospitals, items, "warm")
            else:
                asyncio.run(fire(base, args.warmup, args.clients, cards, hospitals, items))
        measured_from = time.perf_counter()  # CLOCK_MONOTONIC: the server's clock too
        before = stored_settlements(url)
        cpu_before, loop_before = cpu_seconds(server.pid), loop_seconds(server.pid)
        client_before, machine_before = children_cpu_seconds(), machine_busy_seconds()
        profiler = Profiler(server.pid, args.seconds, ROOT / "bench") if args.profile else None
        if profiler:
            profiler.__enter__()
        if shutil.which("wrk") and not args.python_clients:
            client = "wrk"
            requests, bad, elapsed, tail = fire_wrk(
                base, args.seconds, args.clients, cards, hospitals, items
            )
            answered, others = requests - bad, f"non-2xx: {bad}" if bad else "none"
        else:
            client = "httpx"
            started = time.perf_counter()
            latencies, statuses = asyncio.run(
                fire(base, args.seconds, args.clients, cards, hospitals, items)
            )
            elapsed = time.perf_counter() - started
            requests, answered = len(latencies), statuses.get(201, 0)
            others = (
                ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()) if k != 201) or "none"
            )
            q = statistics.quantiles(latencies, n=1000) if len(latencies) > 1 else [0.0] * 999
            tail = Latency(q[499] * 1000, q[989] * 1000, q[998] * 1000, max(latencies) * 1000)
        cpu_after, loop_after = cpu_seconds(server.pid), loop_seconds(server.pid)
        client_after, machine_after = children_cpu_seconds(), machine_busy_seconds()
        health = httpx.get(f"{base}/healthz", timeout=10).json()
        grouped = health.get("group_commit")
        if grouped:  # every worker's, summed (api/health.py): bills a batch, on average and at most
            print(
                f"group commit, {health.get('workers', 1)} worker(s) summed: {grouped['bills']:,} bills in "
                f"{grouped['batches']:,} "
                f"batches ({grouped['bills'] / max(grouped['batches'], 1):.1f} a batch, "
                f"at most {grouped['largest']}), {grouped['retried_alone']} retried alone, "
                f"{grouped.get('retried_whole', 0)} batches run again whole"
            )
        if profiler:
            profiler.__exit__(None, None, None)
    finally:
        server.terminate()
        server.wait(timeout=30)
    stored = stored_settlements(url) - before
    # A request in flight when the clients stop is stored but never answered to them.
    settled = min(stored, answered)
    if stored < answered:
        others += f"; {answered - stored:,} answers stored nothing"
    per = max(stored, 1) / 1000  # CPU ms a settlement
    loops = (loop_after - loop_before) / per
    print(
        f"server CPU a settlement: {loops:.2f} ms in the event loops' threads (HTTP), "
        f"{(cpu_after[0] - cpu_before[0]) / per - loops:.2f} ms in the others (group commit)"
    )
    if profiler:
        profiler.print_breakdown((cpu_after[0] - cpu_before[0]) / per)
    if args.latency_log:
        from server_split import print_split  # bench/server_split.py

        print_split(args.latency_log, since=measured_from)
    else:
        from server_split import print_pauses  # bench/server_split.py

        print_pauses(args.gc_log, since=measured_from)
    return YibaoRun(
        client=client,
        requests=requests,
        settled=settled,
        others=others,
        seconds=elapsed,
        tail=tail,
        server_cpu_ms=(cpu_after[0] - cpu_before[0]) / per,
        database_cpu_ms=(cpu_after[1] - cpu_before[1]) / per,
        client_cpu_ms=(client_after - client_before) / per,
        machine_cpu_ms=(machine_after - machine_before) / per,
    )


def workers_of(args: argparse.Namespace) -> int:
    return int(args.workers or DEFAULT_PG_WORKERS)


def print_settlements(args: argparse.Namespace, run: YibaoRun) -> None:
    table = Table(
        title=f"POST /v1/settlements: {args.clients} {run.client} clients, {workers_of(args)} server workers, PostgreSQL"
    )
    for col in (
        "requests",
        "settled",
        "other answers",
        "seconds",
        "settlements/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "server CPU ms each",
        "PostgreSQL CPU ms each",
    ):
        table.add_column(col, justify="right")
    table.add_row(
        f"{run.requests:,}",
        f"{run.settled:,}",
        run.others,
        f"{run.seconds:.1f}",
        f"{run.per_second:,.0f}",
        f"{run.tail.p50:.1f}",
        f"{run.tail.p99:.1f}",
        f"{run.tail.p999:.1f}",
        f"{run.tail.max:.1f}",
        f"{run.server_cpu_ms:.2f}",
        f"{run.database_cpu_ms:.2f}",
    )
    Console(width=160).print(table)


def print_against_pgbench(run: YibaoRun, before: PgbenchRun, after: PgbenchRun) -> None:
    """The settlement run beside pgbench's tpcb-like before and after it: the aim of the
    settlement path is a ratio of at least 1 in throughput and at most 1 in PostgreSQL CPU.
    The latencies are each client's own (wrk's for the settlements, pgbench's log for its
    transactions): the p99 ratio says how the settlements' tail compares with the
    database's own simplest transaction at the same concurrency on the same machine.
    The client's and the whole machine's CPU a transaction say where the rest goes: with
    every core busy, the rate is the cores over the machine's CPU a transaction (the
    machine figure counts whatever else runs, so read it on an idle machine)."""
    pg_rate = (before.per_second + after.per_second) / 2
    pg_cpu = (before.database_cpu_ms + after.database_cpu_ms) / 2
    pg_machine = (before.machine_cpu_ms + after.machine_cpu_ms) / 2
    tails = [t for t in (before.latency_ms, after.latency_ms) if t is not None]
    pg_p99 = sum(t.p99 for t in tails) / len(tails) if tails else 0.0
    table = Table(title="Settlements against pgbench tpcb-like, same clients, same run")
    columns = (
        "per second",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "PostgreSQL CPU ms each",
        "client CPU ms each",
        "machine CPU ms each",
    )
    for col in ("", *columns):
        table.add_column(col, justify="right")
    for name, done, tail in (
        ("pgbench before", before, before.latency_ms),
        ("yibao settlements", run, run.tail),
        ("pgbench after", after, after.latency_ms),
    ):
        table.add_row(
            name,
            f"{done.per_second:,.0f}",
            *(
                (f"{tail.p50:.1f}", f"{tail.p99:.1f}", f"{tail.p999:.1f}")
                if tail
                else ("-", "-", "-")
            ),
            f"{done.database_cpu_ms:.2f}",
            f"{done.client_cpu_ms:.2f}",
            f"{done.machine_cpu_ms:.2f}",
        )
    table.add_row(
        "yibao / pgbench",
        f"{run.per_second / pg_rate:.2f}",
        "",
        f"{run.tail.p99 / pg_p99:.2f}" if pg_p99 else "-",
        "",
        f"{run.database_cpu_ms / pg_cpu:.2f}" if pg_cpu else "-",
        "",
        f"{run.machine_cpu_ms / pg_machine:.2f}" if pg_machine else "-",
    )
    Console(width=160).print(table)


def record(name: str, persons: int, requests: int, seconds: float, rate: float) -> None:
    with (ROOT / "bench" / "results.csv").open("a", newline="") as fh:
        csv.writer(fh).writerow(
            [
                datetime.now(UTC).isoformat(timespec="seconds"),
                name,
                platform.node(),
                persons,
                requests,
                f"{seconds:.2f}",
                f"{rate:.0f}",
            ]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument(
        "--workers", type=int, default=None, help="default: yibao serve's on PostgreSQL"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--server",
        choices=("uvicorn", "granian"),
        default="uvicorn",
        help="`yibao serve` (uvicorn), or the same application under granian (pip install "
        "granian; not a dependency: measured, docs/operations.md). Under granian the split "
        "by thread counts its I/O threads with the committer's.",
    )
    parser.add_argument(
        "--python-clients", action="store_true", help="Use httpx even when wrk is installed."
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="Sample the server with py-spy: bench/flame-settle.svg and a table of where each settlement's CPU goes.",
    )
    parser.add_argument(
        "--no-pgbench",
        action="store_true",
        help="Skip pgbench's tpcb-like runs before and after the settlements.",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=3,
        help="Seconds of settlements before the measured ones (not counted; 0: none).",
    )
    parser.add_argument(
        "--no-split",
        action="store_true",
        help="Do not record where each settlement's time went in the server (it costs a few us).",
    )
    args = parser.parse_args()
    if args.profile and not Profiler.available():
        parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")
    # Each server process writes where its settlements' time went here when it stops.
    args.latency_log = None if args.no_split else Path(tempfile.mkdtemp(prefix="yibao-latency-"))
    args.gc_log = Path(tempfile.mkdtemp(prefix="yibao-gc-"))  # without the split: the pauses

    url = make_database()
    subprocess.run(
        [YIBAO, "demo", "load", "--database", url, "--persons", str(args.persons)], check=True
    )
    settle_down(url)
    yardstick = None if args.no_pgbench or not Pgbench.available() else Pgbench(ADMIN, args.clients)
    if yardstick:
        yardstick.prepare()
    before = measured_pgbench(yardstick, args.seconds)
    run = serve_and_fire(args, url)
    print_settlements(args, run)
    record(f"settle-http-{run.client}", args.persons, run.requests, run.seconds, run.per_second)
    after = measured_pgbench(yardstick, args.seconds)
    if before and after:
        print_against_pgbench(run, before, after)
        for name, pg in (("pgbench-before", before), ("pgbench-after", after)):
            record(name, args.persons, pg.transactions, pg.seconds, pg.per_second)


def measured_pgbench(yardstick: Pgbench | None, seconds: float) -> PgbenchRun | None:
    """pgbench's run, or None with its reason printed: on the shared server another
    benchmark's clients may take the connections pgbench needs ("too many clients"), and
    the settlements' own figures stand without the comparison."""
    if yardstick is None:
        return None
    try:
        return yardstick.run(seconds)
    except PgbenchFailedError as failed:
        print(f"pgbench failed, no comparison this run: {failed}")
        return None


if __name__ == "__main__":
    main()
