"""Where a settlement's time went inside the server: the table bench/settle_http.py prints
from what each server process recorded (YIBAO_LATENCY_LOG; src/yibao/entrypoints/api/
latency.py), with the garbage collector's pauses of the same minutes.

    folder = Path(tempfile.mkdtemp())
    env["YIBAO_LATENCY_LOG"] = str(folder)      # the server records, writes when it stops
    ...fire, stop the server...
    print_split(folder)

or the collector's pauses alone (YIBAO_GC_LOG; print_pauses).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

# Imported here, not by settle_http.py's start: a run of an older yibao (PYTHONPATH=
# /work/before/src, --no-split) has no latency module.
from yibao.entrypoints.api.latency import BILLS, SEGMENTS, TOTAL, quantile, read_summaries


def merged(folder: Path, since: float = 0.0) -> dict[str, Any]:
    """Every process's parts, batch sizes and collector pauses together, of the
    settlements that arrived from `since` (perf_counter, the same clock in every process
    of the machine) on."""
    parts: dict[str, list[float]] = {name: [] for name, _, _ in (*SEGMENTS, *BILLS, TOTAL)}
    batch: list[int] = []
    pauses: list[list[Any]] = []
    each: list[int] = []  # settlements a process answered: how evenly the workers share
    for summary in read_summaries(folder):
        kept = [n for n, arrived in enumerate(summary["arrived"]) if arrived >= since]
        each.append(len(kept))
        for name, values in summary["parts"].items():
            parts.setdefault(name, []).extend(v for n in kept if (v := values[n]) is not None)
        batch.extend(b for n in kept if (b := summary["batch"][n]))
        pauses.extend(since_start(summary["gc"], since))
    return {"parts": parts, "batch": batch, "gc": pauses, "processes": len(each), "each": each}


def since_start(rows: list[list[float]], since: float) -> list[list[Any]]:
    """The pauses that began from `since` on, each [generation, wall ms, CPU ms or None,
    collected or None] (a record of an older yibao has the wall time only)."""
    return [
        [row[0], row[1], *(row[3:5] if len(row) >= 5 else (None, None))]
        for row in rows
        if row[2] >= since
    ]


def order() -> list[str]:
    """The parts as a settlement passes them, the batch's read, engine and write under
    "bills", the whole last."""
    names = []
    for name, _, _ in SEGMENTS:
        names.append(name)
        if name == "bills":
            names.extend(part for part, _, _ in BILLS)
    return [*names, TOTAL[0]]


def print_split(folder: Path, since: float = 0.0) -> None:
    found = merged(folder, since)
    if not found["processes"]:
        print(f"no latency record in {folder}: did the server stop cleanly?")
        return
    table = Table(
        title=f"Inside the server ({found['processes']} processes): a settlement's time, ms"
    )
    for col in ("part", "settlements", "mean", "p50", "p99", "p99.9", "max"):
        table.add_column(col, justify="right")
    for name in order():
        ordered = sorted(found["parts"].get(name, []))
        mean = sum(ordered) / len(ordered) if ordered else 0.0
        table.add_row(
            name,
            f"{len(ordered):,}",
            f"{mean:.2f}",
            *(f"{quantile(ordered, q):.2f}" for q in (0.5, 0.99, 0.999)),
            f"{ordered[-1] if ordered else 0.0:.2f}",
        )
    Console(width=160).print(table)
    print("settlements a process: " + " / ".join(f"{n:,}" for n in found["each"]))
    batch = sorted(found["batch"])
    if batch:
        print(
            f"bills in a settlement's batch: mean {sum(batch) / len(batch):.1f}, "
            f"p50 {quantile(batch, 0.5)}, p99 {quantile(batch, 0.99)}, max {batch[-1]}"
        )
    print_gc(found["gc"])


def print_gc(found: list[list[Any]]) -> None:
    """Each generation's pauses: how many, their wall time (in all, p99, largest) and the
    CPU time of the thread that ran them (in all, largest): wall far above CPU is the
    process descheduled midway, not the collector's work."""
    for generation in (0, 1, 2):
        pauses = [row for row in found if int(row[0]) == generation]
        if not pauses:
            continue
        walls = sorted(row[1] for row in pauses)
        line = (
            f"garbage collector, generation {generation}: {len(pauses):,} pauses, "
            f"{sum(walls):.0f} ms in all, p99 {quantile(walls, 0.99):.2f} ms, "
            f"max {walls[-1]:.2f} ms"
        )
        cpus = sorted(row[2] for row in pauses if row[2] is not None)
        if cpus:
            over = sum(1 for row in pauses if row[1] > 5)
            line += (
                f"; CPU {sum(cpus):.0f} ms in all, max {cpus[-1]:.2f} ms; "
                f"{over} over 5 ms of wall time; "
                f"{sum(int(row[3] or 0) for row in pauses):,} objects collected"
            )
        print(line)


def print_pauses(folder: Path, since: float = 0.0) -> None:
    """The collector's pauses alone (YIBAO_GC_LOG: a run without the split)."""
    found = [
        row
        for summary in read_summaries(folder, "gc")  # GcPauses' files
        for row in since_start(summary["gc"], since)
    ]
    if not found:
        print(
            f"no collector record in {folder} (an older yibao, or the server did not stop cleanly)"
        )
        return
    print_gc(found)
