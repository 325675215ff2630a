"""The national interface under his-sim on PostgreSQL, with and without group commit.

    .venv/bin/python bench/his_sim_pg.py [--runs off,on] [--hospitals 16] [--days 5]
                                         [--patients 160] [--profile] [--src DIR]
                                         [--port 8123] [--database NAME] [--keep-alive]

Each run, one after the other in the same minutes: a fresh PostgreSQL database
(YIBAO_BENCH_POSTGRES_URL as in bench/settle_http.py; named
--database, default YIBAO_BENCH_DATABASE or yibao_his_sim, with the run's number), `yibao serve --demo --workers 2`
on it (the demo loaded by the server), then `yibao his-sim --hospitals 16 --days 5
--patients 160 --year 2026` against it, as docs/national-interface.md measures it. A run
is `on` (the default server: 2207 / 2208 / 2304 / 2305 through the group committer
when others are under way), `on:N` (through it from N others under way, 0: always),
`off` (YIBAO_GROUP_COMMIT=false: every message a transaction of its own, as before the
committer took them) or `main` (another tree's code, `--src DIR` put first on PYTHONPATH:
main's before this change, exported with `git archive`). It prints his-sim's report and a table
side by side: messages/s, 2207 p50 / p99, errors, days reconciled, and the CPU each
message cost the server and PostgreSQL (from /proc: what the rest of the machine does
does not change it; on a PostgreSQL shared with other benchmarks, "its backends" is the
run's own part). `--profile` records the server with py-spy (bench/flame.py) and
prints where its CPU goes, by package and by yibao function.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from flame import Profiler  # bench/flame.py
from settle_http import YIBAO, cpu_seconds, drop_database, fresh_database  # bench/settle_http.py

ROOT = Path(__file__).resolve().parents[1]
SECRET = "his-sim-bench-secret"


@dataclass
class Run:
    name: str
    messages: int
    seconds: float
    rate: float
    p50: float
    p99: float
    errors: str
    reconciled: str
    server_ms: float  # server CPU a message
    database_ms: float  # PostgreSQL CPU a message
    backends_ms: float  # ... of the run's own backends only (a shared PostgreSQL)
    grouped: str


def _env(url: str, name: str, src: str | None) -> dict[str, str]:
    env = {**os.environ, "YIBAO_DATABASE_URL": url, "YIBAO_SECRET_KEY": SECRET}
    env["YIBAO_GROUP_COMMIT"] = "true" if name != "off" else "false"
    if name.startswith("on:"):  # on:N, the settling messages grouped from N under way
        env["YIBAO_FSI_GROUP_AT"] = name[3:]
    if src:
        env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    return env


def backends_cpu_seconds(database: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends connected to `database` (their
    title names it: "postgres: user database host state"). On a PostgreSQL shared with
    other engineers' benchmarks the whole server's CPU is theirs too; this is the run's
    own statements (not the WAL writer's or the checkpointer's share). The server's pool
    keeps its connections, read before it stops."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        if title.startswith("postgres: ") and f" {database} " in title:
            fields = raw[raw.rindex(")") + 2 :].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _wait(base: str, server: subprocess.Popen[bytes]) -> None:
    started = time.monotonic()  # the demo loads first: minutes on a loaded machine
    while time.monotonic() - started < 600:
        if server.poll() is not None:
            raise SystemExit("the server ended before it answered")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not answer in 10 minutes")


def _figure(pattern: str, out: str) -> str:
    found = re.search(pattern, out, re.MULTILINE)
    return found.group(1) if found else "?"


def one_run(args: argparse.Namespace, name: str, number: int) -> Run:
    db = f"{args.database}_{number}"
    url = fresh_database(db)
    env = _env(url, name, args.src if name == "main" else None)
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [YIBAO, "serve", "--demo", "--workers", "2", "--port", str(args.port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(base, server)
        sim = [YIBAO, "his-sim", "--url", base, "--hospitals", str(args.hospitals)]
        sim += ["--days", str(args.days), "--patients", str(args.patients), "--year", "2026"]
        sim += ["--keep-alive"] if args.keep_alive else []
        cpu_before = cpu_seconds(server.pid)
        own_before = backends_cpu_seconds(db)
        profiler = (
            Profiler(server.pid, args.profile_seconds, ROOT / "bench") if args.profile else None
        )
        if profiler:
            profiler.svg = ROOT / "bench" / "flame-his-sim.svg"
            profiler.raw = ROOT / "bench" / "flame-his-sim.txt"
            profiler.__enter__()
        # his-sim is this tree's in every run (the same client against either server).
        client = {**_env(url, name, None), "COLUMNS": "160"}
        done = subprocess.run(sim, env=client, capture_output=True, text=True)
        cpu_after = cpu_seconds(server.pid)
        own_after = backends_cpu_seconds(db)
        health = httpx.get(f"{base}/healthz", timeout=10).json().get("group_commit")
        if profiler:
            profiler.__exit__(None, None, None)
    finally:
        server.terminate()
        server.wait(timeout=60)
        drop_database(db)
    out = done.stdout
    print(f"== {name}\n{out}{done.stderr[-2000:]}")
    messages = int(_figure(r"visits, (\d+) messages", out).replace("?", "0") or 0)
    per = max(messages, 1) / 1000
    server_ms = (cpu_after[0] - cpu_before[0]) / per
    if profiler:
        profiler.print_breakdown(server_ms)
    row = re.search(r"│\s+2207 │\s+\d+ │\s+([\d.]+) │\s+[\d.]+ │\s+([\d.]+) │", out)
    return Run(
        name=name,
        messages=messages,
        seconds=float(_figure(r"messages in ([\d.]+) s", out).replace("?", "0")),
        rate=float(_figure(r"throughput: ([\d.]+) messages/s", out).replace("?", "0")),
        p50=float(row.group(1)) if row else 0.0,
        p99=float(row.group(2)) if row else 0.0,
        errors=_figure(r"protocol errors: (\d+)", out)
        + " / "
        + _figure(r"arithmetic errors: (\d+)", out),
        reconciled=_figure(r"days reconciled \(3201 \+ 3202\): (\d+ of \d+)", out),
        server_ms=server_ms,
        database_ms=(cpu_after[1] - cpu_before[1]) / per,
        backends_ms=(own_after - own_before) / per,
        grouped=""
        if not health
        else f"{health['bills']} in {health['batches']} (≤ {health['largest']})",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", default="off,on", help="off / on / on:N / main, comma-separated, in order"
    )
    parser.add_argument("--hospitals", type=int, default=16)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--patients", type=int, default=160)
    parser.add_argument("--port", type=int, default=8123)
    # Engineers sharing one PostgreSQL each bench databases of their own.
    parser.add_argument(
        "--database", default=os.environ.get("YIBAO_BENCH_DATABASE", "yibao_his_sim")
    )
    parser.add_argument("--src", default=None, help="the code of the `main` runs")
    parser.add_argument("--profile", action="store_true")
    # his-sim's hospitals keep their HTTP connection (yibao his-sim --keep-alive); by
    # default each message opens one, as urllib does and as last sessions measured.
    parser.add_argument("--keep-alive", action="store_true")
    parser.add_argument("--profile-seconds", type=float, default=60)
    args = parser.parse_args()
    runs = []
    for n, name in enumerate(args.runs.split(",")):
        start = time.strftime("%H:%M:%S")
        load = Path("/proc/loadavg").read_text().split()[0]
        run = one_run(args, name, n)
        run.name = f"{name} ({start}, load {load})"
        runs.append(run)
    table = Table(title="his-sim on PostgreSQL (yibao serve --demo --workers 2)")
    for col in (
        "run",
        "messages",
        "s",
        "msg/s",
        "2207 p50 ms",
        "2207 p99 ms",
        "errors (protocol / arithmetic)",
        "days reconciled",
        "server CPU ms/msg",
        "PostgreSQL CPU ms/msg",
        "its backends ms/msg",
        "grouped (one worker)",
    ):
        table.add_column(col)
    for r in runs:
        table.add_row(
            r.name,
            str(r.messages),
            f"{r.seconds:.1f}",
            f"{r.rate:.1f}",
            f"{r.p50:.0f}",
            f"{r.p99:.0f}",
            r.errors,
            r.reconciled,
            f"{r.server_ms:.2f}",
            f"{r.database_ms:.2f}",
            f"{r.backends_ms:.2f}",
            r.grouped,
        )
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
