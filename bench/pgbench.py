"""PostgreSQL's own yardstick beside a yibao benchmark: pgbench's tpcb-like transaction
(five statements, one commit) at the same client count, run on the same server in the
same run, so that a noisy shared machine moves both figures alike.

    from pgbench import Pgbench
    yardstick = Pgbench(admin_url, clients=64)
    yardstick.prepare()             # pgbench -i at scale 64, once (the database is kept)
    before = yardstick.run(30)      # transactions/s and PostgreSQL CPU ms a transaction

Its latencies too (p50, p99, p99.9 and max of every transaction, from pgbench's own
per-transaction log, `-l`): the tail a client of the database itself sees at that
concurrency on this machine, beside the settlements' tail. On this 2-core machine a
commit's flush now and then takes 100 ms or more (PostgreSQL logs such COMMITs of the
settlements and pgbench's ENDs alike), and every transaction in flight waits for it.

PostgreSQL's CPU is read from /proc (the server's postmaster and every process under it,
when its data directory is readable here; else every process named postgres), as
bench/settle_http.py reads it for settlements, so that the two "CPU per transaction"
figures are comparable.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from common import children_cpu_seconds, machine_busy_seconds  # bench/common.py
from yibao.entrypoints.api.latency import quantile

DATABASE = "yibao_pgbench"


class PgbenchFailedError(RuntimeError):
    """pgbench exited with an error (its last line of stderr)."""


SCALE = 64


@dataclass(frozen=True)
class PgbenchRun:
    transactions: int
    seconds: float
    per_second: float
    database_cpu_ms: float  # PostgreSQL's CPU milliseconds a transaction
    client_cpu_ms: float = 0.0  # pgbench's own
    machine_cpu_ms: float = 0.0  # every core's busy time (bench/common.py)
    latency_ms: Latency | None = None  # pgbench's own, from its per-transaction log


@dataclass(frozen=True)
class Latency:
    """Requests' or transactions' latencies, milliseconds, as the client measured them
    (wrk's for the settlements, bench/settle_http.py; pgbench's log for its own)."""

    p50: float
    p99: float
    p999: float
    max: float

    @classmethod
    def of(cls, micros: list[int]) -> Latency | None:
        """Nearest-rank quantiles (the server's own, latency.quantile) of latencies in
        microseconds; None for none."""
        if not micros:
            return None
        ms = sorted(m / 1000 for m in micros)
        return cls(quantile(ms, 0.50), quantile(ms, 0.99), quantile(ms, 0.999), ms[-1])


def logged_latencies(folder: Path) -> list[int]:
    """Every transaction's latency in microseconds from pgbench's `-l` files in folder
    (one line a transaction: client, transaction number, latency in us, script, epoch
    seconds, us; a transaction skipped or failed has a word in place of the latency)."""
    micros: list[int] = []
    for log in folder.iterdir():
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) > 2 and fields[2].isdigit():
                micros.append(int(fields[2]))
    return micros


def postmaster_pid(admin_url: str) -> int | None:
    """The process id of the PostgreSQL server behind the URL (its postmaster.pid), or
    None when the server's files cannot be read from here."""
    engine = create_engine(admin_url)
    try:
        with engine.connect() as conn:
            data = conn.execute(text("SHOW data_directory")).scalar_one()
        return int((Path(data) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    finally:
        engine.dispose()


def postgres_cpu_seconds(postmaster: int | None = None) -> float:
    """CPU seconds used so far by the PostgreSQL server whose postmaster is given (it and
    every process under it), else by every process named postgres; with the CPU of ended
    children: pgbench's backends exit when it disconnects, and their time then shows only
    in the postmaster's cutime and cstime. On a machine shared with other work on other
    databases, only the postmaster's own tree is this benchmark's."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[str, int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        cpu = sum(int(f) for f in fields[11:15]) / ticks
        stats[int(entry.name)] = (raw[raw.index("(") + 1 : raw.rindex(")")], int(fields[1]), cpu)
    if postmaster is None or postmaster not in stats:
        return sum(cpu for name, _, cpu in stats.values() if name == "postgres")
    ours, grew = {postmaster}, True
    while grew:
        more = {pid for pid, (_, parent, _) in stats.items() if parent in ours} - ours
        ours |= more
        grew = bool(more)
    return sum(stats[pid][2] for pid in ours)


class Pgbench:
    def __init__(self, admin_url: str, clients: int) -> None:
        url = make_url(admin_url)
        self.admin_url = admin_url
        self.clients = clients
        self.postmaster = postmaster_pid(admin_url)
        # pgbench speaks libpq: host, port and user from the SQLAlchemy URL.
        self.connection = [
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
        ]

    @staticmethod
    def available() -> bool:
        return shutil.which("pgbench") is not None

    def prepare(self) -> None:
        """Create and initialise the pgbench database unless a previous run left it at
        this scale (initialising scale 64 writes 6.4 million rows: a minute)."""
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": DATABASE}
            ).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
        admin.dispose()
        if not exists or self._scale() != SCALE:
            subprocess.run(
                ["pgbench", *self.connection, "-i", "-q", "-s", str(SCALE), DATABASE],
                check=True,
                capture_output=True,
            )
        # pgbench's updates set autovacuum going on its tables after each run, and that CPU
        # fell in the window of whatever ran next: the settlements were billed for it.
        engine = create_engine(make_url(self.admin_url).set(database=DATABASE))
        with engine.begin() as conn:
            for table in ("accounts", "branches", "tellers", "history"):
                conn.execute(text(f"ALTER TABLE pgbench_{table} SET (autovacuum_enabled = off)"))
        engine.dispose()

    def _scale(self) -> int | None:
        url = make_url(self.admin_url).set(database=DATABASE)
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM pgbench_branches")).scalar_one())
        except Exception:  # no tables yet: not initialised
            return None
        finally:
            engine.dispose()

    def run(self, seconds: float) -> PgbenchRun:
        """pgbench tpcb-like for `seconds` with the benchmark's client count."""
        cpu_before = postgres_cpu_seconds(self.postmaster)
        client_before, machine_before = children_cpu_seconds(), machine_busy_seconds()
        with tempfile.TemporaryDirectory(prefix="yibao-pgbench-") as logs:
            done_run = subprocess.run(
                [
                    "pgbench",
                    *self.connection,
                    "-b",
                    "tpcb-like",
                    "-c",
                    str(self.clients),
                    "-j",
                    "2",
                    "-T",
                    str(max(1, int(seconds))),
                    "-l",
                    f"--log-prefix={logs}/tx",
                    DATABASE,
                ],
                check=False,
                capture_output=True,
                text=True,
            )
            latency = Latency.of(logged_latencies(Path(logs)))
        if done_run.returncode != 0:
            last = (done_run.stderr.strip().splitlines() or ["no message"])[-1]
            raise PgbenchFailedError(f"exit {done_run.returncode}: {last}")
        out = done_run.stdout
        cpu = postgres_cpu_seconds(self.postmaster) - cpu_before
        client = children_cpu_seconds() - client_before
        machine = machine_busy_seconds() - machine_before
        done = re.search(r"number of transactions actually processed: (\d+)", out)
        tps = re.search(r"tps = ([\d.]+)", out)
        if done is None or tps is None:
            raise RuntimeError(f"pgbench printed no result:\n{out}")
        transactions = int(done.group(1))
        return PgbenchRun(
            transactions=transactions,
            seconds=seconds,
            per_second=float(tps.group(1)),
            database_cpu_ms=cpu * 1000 / max(transactions, 1),
            client_cpu_ms=client * 1000 / max(transactions, 1),
            machine_cpu_ms=machine * 1000 / max(transactions, 1),
            latency_ms=latency,
        )
