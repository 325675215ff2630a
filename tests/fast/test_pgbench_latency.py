"""bench/pgbench.py's latencies: read from pgbench's per-transaction log (`-l`), every
thread's file, skipped or failed transactions left out, nearest-rank quantiles."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def pgbench() -> ModuleType:
    sys.path.insert(0, str(BENCH))  # the bench scripts import their neighbours by name
    try:
        return importlib.import_module("pgbench")
    finally:
        sys.path.remove(str(BENCH))


def test_every_threads_log_is_read_and_failures_left_out(
    pgbench: ModuleType, tmp_path: Path
) -> None:
    # pgbench -j 2 writes tx.<pid> and tx.<pid>.1; a line: client, number, latency us,
    # script, epoch s, us ("skipped"/"failed" in place of the latency when it was not run).
    (tmp_path / "tx.100").write_text("0 1 1500 0 1796545721 700298\n1 1 2500 0 1796545721 7\n")
    (tmp_path / "tx.100.1").write_text(
        "32 1 120000 0 1796545721 706626\n33 1 skipped 0 1796545721 1\n"
    )
    assert sorted(pgbench.logged_latencies(tmp_path)) == [1500, 2500, 120000]


def test_quantiles_are_nearest_rank_in_milliseconds(pgbench: ModuleType) -> None:
    micros = [1000 * n for n in range(1, 1001)]  # 1 .. 1000 ms
    latency = pgbench.Latency.of(micros[::-1])
    assert (latency.p50, latency.p99, latency.p999, latency.max) == (500.0, 990.0, 999.0, 1000.0)
    assert pgbench.Latency.of([]) is None
