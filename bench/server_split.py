"""Where a settlement's time went inside the server: the table bench/settle_http.py prints
from what each server process recorded (YIBAO_LATENCY_LOG; src/yibao/entrypoints/api/
latency.py), with the garbage collector's pauses of the same minutes.

    folder = Path(tempfile.mkdtemp())
    env["YIBAO_LATENCY_LOG"] = str(folder)      # the server records, writes when it stops
    ...fire, stop the server...
    print_split(folder)
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
    pauses: list[tuple[int, float]] = []
    each: list[int] = []  # settlements a process answered: how evenly the workers share
    for summary in read_summaries(folder):
        kept = [n for n, arrived in enumerate(summary["arrived"]) if arrived >= since]
        each.append(len(kept))
        for name, values in summary["parts"].items():
            parts.setdefault(name, []).extend(v for n in kept if (v := values[n]) is not None)
        batch.extend(b for n in kept if (b := summary["batch"][n]))
        pauses.extend((int(g), float(ms)) for g, ms, started in summary["gc"] if started >= since)
    return {"parts": parts, "batch": batch, "gc": pauses, "processes": len(each), "each": each}


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
    for generation in (0, 1, 2):
        pauses = sorted(ms for g, ms in found["gc"] if g == generation)
        if pauses:
            print(
                f"garbage collector, generation {generation}: {len(pauses):,} pauses, "
                f"{sum(pauses):.0f} ms in all, p99 {quantile(pauses, 0.99):.2f} ms, "
                f"max {pauses[-1]:.2f} ms"
            )
