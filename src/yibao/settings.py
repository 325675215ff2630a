"""Settings from the environment (YIBAO_*), with defaults that run on one machine."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PG_WORKERS = 2  # settings.py's comment on `workers` has the figures


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIBAO_")

    # An embedded SQLite file by default; production sets a PostgreSQL URL
    # (postgresql+psycopg://user@host/db).
    database_url: str = "sqlite:///var/yibao.sqlite3"
    # Extra folders of policy regions, searched before the built-in ones.
    policy_path: list[Path] = []
    # Requests a server process runs at once (its thread pool), and the connections it
    # keeps: at least one per thread.
    threads: int = 4
    database_pool_size: int = 8
    # On PostgreSQL, card settlements that arrive together share a transaction and its
    # commit (service/group_commit.py), settled by this many threads of each process.
    # Two: a conveyor, one batch read and computed while the one before it is written and
    # committed (one thread: each batch waits for the whole of the one before), the next
    # batch taken once as many bills wait as the one being written holds. Measured on the
    # shared 2-core machine, busy (pgbench 1,700-2,500 tx/s against 3,300 idle),
    # bench/settle_http.py --seconds 15 --persons 1000 --no-split, alternating, ratio to
    # pgbench: 2026-12-05 22:38-22:45 one thread 0.81 / 0.87, two 1.01 / 1.04 (15.6 bills
    # a batch, PostgreSQL 0.19-0.21 ms, server 0.37-0.42 ms a settlement), two taking the
    # next batch at once 0.84 (10.3 a batch, PostgreSQL 0.26 ms); 22:22-22:32 one thread
    # 0.85 / 0.87 / 0.87, two taking at once 0.72 / 0.78 / 0.70. README has every run.
    group_commit: bool = True
    group_commit_threads: int = Field(default=2, ge=1, le=16)
    # ... and the national interface's settling messages (2207, 2208, 2304, 2305) only
    # when at least this many others are under way in the process; 0 (the default):
    # always. Alone, a message shares no commit and waits for a committer thread; under
    # his-sim neither way won clearly (docs/national-interface.md).
    fsi_group_at: int = Field(default=0, ge=0)
    # The most bills a batch takes (each may need a savepoint: PostgreSQL keeps 64 a
    # transaction in its shared cache).
    group_commit_max_batch: int = Field(default=32, ge=1, le=60)
    # A folder: each server process writes where its settlements' time went there when it
    # stops (settle-<pid>.json; entrypoints/api/latency.py). Unset: not recorded.
    latency_log: Path | None = None
    # Python's garbage collector in a server process (entrypoints/api/runtime.py): what
    # start-up made frozen out of the collector's walks, and the youngest generation
    # collected every `gc_young` allocations (CPython's default is 700).
    gc_freeze: bool = True
    gc_young: int = Field(default=10_000, ge=100, le=1_000_000)
    # A folder: each server process writes the collector's pauses there when it stops
    # (gc-<pid>.json: each one's generation, wall and CPU ms; latency.py's GcPauses), as
    # latency_log does with the settlements' traces. Unset: not recorded.
    gc_log: Path | None = None
    # How long a thread keeps the interpreter lock while another waits for it, in ms
    # (CPython's default is 5): the event loop and the committer threads share it.
    switch_interval_ms: float = Field(default=5.0, gt=0, le=100)
    # `yibao serve`'s processes (--workers), and whether each listens on a socket of its
    # own (SO_REUSEPORT: the kernel spreads connections evenly; entrypoints/workers.py)
    # rather than all on one (uvicorn's way; the same supervisor). Unset: DEFAULT_PG_WORKERS on PostgreSQL, one on
    # SQLite (`server_workers`). Measured on the 2-core machine (64 wrk clients,
    # bench/settle_http.py --seconds 15 --persons 1000 --no-split, pgbench tpcb-like
    # before and after each run):
    # - 2026-12-04 18:40-18:46, shared (load 9-12), alternating 1, 2, 1, 2, 1, 2: one worker
    #   1,010 / 1,074 / 1,367 settlements/s, p99 156 / 119 / 104 ms, server CPU 0.41 / 0.40
    #   / 0.38 ms, 0.47 / 0.49 / 0.52 of pgbench's rate; two 1,060 / 1,318 / 1,336/s, p99
    #   156 / 108 / 107 ms, 0.49 / 0.53 / 0.45 ms, 0.46 / 0.56 / 0.45 of pgbench's;
    # - idle (18:15, one run each): one 2,733/s, p99 38.5 ms, 0.27 ms, 0.47 of pgbench's;
    #   two 3,293/s, p99 33.9 ms, 0.31 ms, 0.62 (17:05-17:21: one 1,624-1,938/s, p99 53-66
    #   ms, 0.47-0.61; two 1,888-2,199/s, p99 59-71 ms, 0.62-0.69).
    # - 2026-12-04 21:25-21:36, shared (load 9-15), alternating 1, 2, default (2), 1, 2,
    #   default, 2, 1: one 793 / 940 / 639/s, 0.48 / 0.55 / 0.43 of pgbench's rate, p99 149
    #   / 136 / 217 ms, server CPU 0.49 / 0.43 / 0.49 ms, 31.5 bills a batch; two 1,140 / 900
    #   / 871, default 812 / 1,075/s, 0.62 / 0.56 / 0.61 / 0.53 / 0.67 of pgbench's, p99 154 /
    #   294 / 458 / 231 / 158 ms, 0.52 / 0.54 / 0.52 / 0.57 / 0.50 ms, 16-17 bills a batch.
    # Two settle 8-21% more by each series' mean (21:25: 0.53-0.67 of pgbench's rate
    # against 0.43-0.55), for 10-20% more server CPU a settlement; the p99 was no worse
    # idle and at load 9-12, worse at load 9-15 (154-458 ms against 136-217).
    # Two, not the number of CPUs: measured on 2 cores only, where PostgreSQL takes its
    # share of them; a larger machine of its own sets YIBAO_WORKERS. A kill -9 of the
    # server kills every worker (PR_SET_PDEATHSIG SIGKILL, workers.py) and /healthz sums
    # the workers' figures (api/health.py), so the crash tests test a crash with two as
    # with one. SQLite takes one writer at a time: one process (`./run`'s demo).
    workers: int | None = Field(default=None, ge=1, le=64)
    reuse_port: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    # Signs the member app's insurance vouchers (QR codes). Unset: a random key kept in
    # var/secret.key, made on first start (every worker of a server reads the same file).
    secret_key: str | None = None
    secret_key_file: Path = Path("var/secret.key")
    # Where receipt photos of manual reimbursement claims are kept.
    upload_dir: Path = Path("var/uploads")
    # The national interface behind a TLS proxy that verifies hospitals' client
    # certificates: the header the proxy puts the certificate's SHA-256 fingerprint in, and
    # the proxy's addresses (CIDR); the header from any other address is ignored.
    fsi_cert_header: str = ""
    fsi_trusted_proxies: list[str] = []
    # How long a national-interface sign-in (9001) serves before the hospital must sign in
    # again (9002 ends it sooner): hours, more than 0. A working day by default; a region
    # whose hospitals sign in once a shift sets 8, one whose platform keeps them a week 168.
    fsi_sign_in_hours: float = Field(default=24.0, gt=0, le=24 * 366)

    def server_workers(self) -> int:
        """`yibao serve`'s processes: YIBAO_WORKERS if set, else by the database."""
        if self.workers is not None:
            return self.workers
        return DEFAULT_PG_WORKERS if self.database_url.startswith("postgresql") else 1
