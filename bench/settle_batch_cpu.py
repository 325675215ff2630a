"""Benchmark: a group commit's Python CPU a card settlement, on PostgreSQL, in this process.

    .venv/bin/python bench/settle_batch_cpu.py [--persons 1000] [--batches 40] [--size 32]
                                               [--rounds 3] [--profile N] [--sort KEY]
    PYTHONHASHSEED=0 valgrind --tool=callgrind --instr-atstart=no .venv/bin/python bench/settle_batch_cpu.py --callgrind

What the server's group-commit threads do for a batch of card bills (service/
group_commit.py _run_bills), without HTTP and without threads: a unit of work,
SettlementService.settle_batch (the batch's read, each bill settled, the batch's write),
the commit. Bills as bench/settle_http.py's wrk clients send them (one outpatient line,
an idempotency key each), `size` to a batch, in the committer's order. Makes a scratch
database of its own (YIBAO_CPU_DATABASE, default yibao_batch_cpu).

Prints CPU µs a bill (this process's time: PostgreSQL's, in its own processes, and the
waits for it do not count; the best of `rounds`), split into the batch's read
(open_many), the bills' settlements (settle_in), the batch's write (flush) and the
rest (the unit of work, the commit). With --callgrind (under valgrind with
--instr-atstart=no) only the measured batches are instrumented: callgrind's
instruction count divided by the bills settled is the figure to compare on a noisy
machine, run with PYTHONHASHSEED=0 (it refuses --callgrind without a fixed seed: string
hashes move dict probes, about 0.2% between runs of the same code) and the garbage
collector set as a server's after the load (what it made frozen, the youngest
generation's threshold the server's).
"""

from __future__ import annotations

import argparse
import cProfile
import ctypes
import os
import pstats
import random
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from common import cpu_timed
from settle_http import fresh_database
from settle_rows import demo_bills  # bench/settle_http.py: YIBAO_BENCH_POSTGRES_URL
from yibao.adapters.db import counter_pg_batch
from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.migrate import upgrade
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import policy_source
from yibao.entrypoints.api.runtime import tune_runtime
from yibao.service.demo import load_demo
from yibao.service.group_commit import bill_order
from yibao.service.settlement import Bill, SettlementService
from yibao.settings import Settings

NAME = os.environ.get("YIBAO_CPU_DATABASE", "yibao_batch_cpu")

_TOGGLE = r"""
#include <valgrind/callgrind.h>
void start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void stop(void) { CALLGRIND_STOP_INSTRUMENTATION; CALLGRIND_DUMP_STATS_AT("measured"); }
"""


def callgrind_toggles() -> tuple[Callable[[], None], Callable[[], None]]:
    """start() and stop() of callgrind's instrumentation (its client requests, which do
    nothing outside valgrind), from a library compiled here."""
    folder = Path(tempfile.mkdtemp())
    (folder / "toggle.c").write_text(_TOGGLE)
    lib = folder / "toggle.so"
    subprocess.run(
        ["cc", "-O1", "-shared", "-fPIC", "-o", str(lib), str(folder / "toggle.c")], check=True
    )
    toggle = ctypes.CDLL(str(lib))
    return toggle.start, toggle.stop


class Parts:
    """Process CPU seconds spent in the batch's read, the settlements and the write."""

    def __init__(self) -> None:
        self.spent = {"read": 0.0, "settle": 0.0, "write": 0.0}

    def wrap(self, part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        return cpu_timed(self.spent, part, fn)

    def install(self) -> None:
        cls = counter_pg_batch.PgBatchCounter
        # Timing in place: mypy refuses a method assigned to (method-assign).
        cls.open_many = self.wrap("read", cls.open_many)  # type: ignore[method-assign]
        cls.flush = self.wrap("write", cls.flush)  # type: ignore[method-assign]
        SettlementService.settle_in = self.wrap(  # type: ignore[method-assign]
            "settle", SettlementService.settle_in
        )


def bills(engine: Any, count: int, seed: int) -> list[tuple[Bill, str]]:
    # Keys from the same seed: under callgrind a run repeats another's instructions.
    rng = random.Random(seed)
    return [
        (bill, f"cpu-{n}-{uuid.UUID(int=rng.getrandbits(128)).hex[:8]}")
        for n, bill in enumerate(demo_bills(engine, count, seed))
    ]


def settle_batches(
    engine: Any, service: SettlementService, todo: list[tuple[Bill, str]], size: int
) -> tuple[float, int]:
    """Each `size` bills as the committer's thread settles them: sorted into its one
    lock order, in one unit of work, committed. (CPU seconds, bills settled)."""
    settled = 0
    started = time.process_time()
    for first in range(0, len(todo), size):
        batch = sorted(todo[first : first + size], key=lambda bk: bill_order(bk[0]))
        with UnitOfWork(engine) as uow:
            answers = service.settle_batch(uow, batch)
            uow.commit()
        settled += sum(1 for a in answers if isinstance(a, tuple))
    return time.process_time() - started, settled


def warmed(
    name: str, persons: int, per_round: int, rounds: int, seed: int, size: int
) -> tuple[Engine, SettlementService, list[tuple[Bill, str]]]:
    """A scratch database `name` with the demo region of `persons`, analysed; the bills of
    `rounds` rounds after one round settled to warm the caches (the bench's and
    bench/settle_engine_cpu.py's start)."""
    url = fresh_database(name)
    engine = make_engine(url, pool_size=2)
    upgrade(engine)
    policies = policy_source()
    load_demo(lambda: UnitOfWork(engine), policies, persons=persons)
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    todo = bills(engine, per_round * (rounds + 1), seed)
    service = SettlementService(lambda: UnitOfWork(engine), policies)
    settle_batches(engine, service, todo[:per_round], size)
    return engine, service, todo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=40, help="batches a round")
    parser.add_argument("--size", type=int, default=32, help="bills a batch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--callgrind", action="store_true", help="instrument the rounds only")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="cProfile (CPU time): the N first"
    )
    parser.add_argument("--sort", default="tottime", help="the profile's order (cumulative ...)")
    args = parser.parse_args()
    if args.callgrind and not os.environ.get("PYTHONHASHSEED"):
        parser.error("--callgrind needs a fixed hash seed: PYTHONHASHSEED=0 valgrind ...")

    per_round = args.batches * args.size
    engine, service, todo = warmed(NAME, args.persons, per_round, args.rounds, args.seed, args.size)
    parts = Parts()
    parts.install()
    start, stop = callgrind_toggles() if args.callgrind else (lambda: None, lambda: None)
    profile = cProfile.Profile(time.process_time) if args.profile else None
    # The collector as a server process has it (entrypoints/api/runtime.py): what the
    # load made frozen, the youngest generation collected every `gc_young` allocations
    # (CPython's 700 collected some 2% of the instructions a bill that a server spends
    # less on).
    tune_runtime(Settings())
    results = []
    start()
    for r in range(1, args.rounds + 1):
        parts.spent.update(dict.fromkeys(parts.spent, 0.0))
        if profile:
            profile.enable()
        total, settled = settle_batches(
            engine, service, todo[r * per_round : (r + 1) * per_round], args.size
        )
        if profile:
            profile.disable()
        results.append((total, settled, dict(parts.spent)))
    stop()
    engine.dispose()
    settled_all = sum(s for _, s, _ in results)
    total, settled, spent = min(results, key=lambda r: r[0] / max(r[1], 1))
    us = 1e6 / max(settled, 1)
    rest = total - sum(spent.values())
    print(
        f"bills settled: {settled_all} in {args.rounds} rounds; the best round's CPU µs a bill: "
        + "  ".join(f"{k} {v * us:.1f}" for k, v in spent.items())
        + f"  rest {rest * us:.1f}  total {total * us:.1f}"
    )
    if args.callgrind:
        print(f"callgrind: divide the 'measured' dump's instructions by {settled_all} bills")
    if profile:
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.profile)
    print("code:", counter_pg_batch.__file__)


if __name__ == "__main__":
    main()
