"""Benchmark: the scalar and the columnar engine on the same generated region-year.

    .venv/bin/python bench/columnar.py --encounters 100000 [--region sample-city]
        [--seed 7] [--no-scalar] [--data DIR]

Generates a region-year (`yibao.batch.generate`, about 2.5 bills a person), writes it
to Parquet, then runs each engine in its own process on those files so that each peak
memory is its own: the scalar engine (`settle_year` per person; turning the frames into
domain objects is timed apart) and the columnar engine (reading the Parquet files and
settling, timed together). The two must agree on the year's totals to the fen. Prints
a table and appends a row per engine to bench/results.csv. Not a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

YEAR = 2026
LAYERS = ("basic", "assistance", "institution", "personal", "serious_illness")


def _peak_mib() -> float:
    """This process's peak resident memory. VmHWM, not getrusage's ru_maxrss: a child
    started by fork and exec keeps its parent's ru_maxrss, but gets a new VmHWM."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def run_scalar(folder: Path, region: str) -> dict[str, Any]:
    from yibao.adapters.parameter_files import load_region
    from yibao.batch.frames import read_region_year, to_scalar
    from yibao.domain.engine import settle_year
    from yibao.domain.money import to_fen

    policy = load_region(region)
    started = time.perf_counter()
    data = read_region_year(folder)
    people = to_scalar(data)
    prepare = time.perf_counter() - started
    sums = dict.fromkeys(LAYERS, Decimal(0))
    started = time.perf_counter()
    for person, bills in people:
        year, _ = settle_year(policy, person, data.year, bills)
        for r in year.encounters:
            sums["basic"] += r.basic
            sums["assistance"] += r.assistance
            sums["institution"] += r.institution
        sums["personal"] += year.personal
        sums["serious_illness"] += year.serious_illness.payment
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "prepare": prepare,
        "persons": len(people),
        "encounters": sum(len(b) for _, b in people),
        "peak_mib": _peak_mib(),
        "totals": {k: to_fen(v) for k, v in sums.items()},
    }


def run_columnar(folder: Path, region: str) -> dict[str, Any]:
    import polars as pl

    from yibao.adapters.parameter_files import load_region
    from yibao.batch.columnar import settle
    from yibao.batch.frames import read_region_year

    policy = load_region(region)
    started = time.perf_counter()
    data = read_region_year(folder)
    prepare = time.perf_counter() - started
    result = settle(policy, data)
    seconds = time.perf_counter() - started
    enc = result.encounters.select(pl.col("basic", "assistance", "institution").sum()).row(0)
    year = result.persons.select(pl.col("personal", "serious_illness").sum()).row(0)
    totals = dict(zip(("basic", "assistance", "institution"), enc, strict=True))
    totals |= dict(zip(("personal", "serious_illness"), year, strict=True))
    return {
        "seconds": seconds,
        "prepare": prepare,
        "persons": result.persons.height,
        "encounters": result.encounters.height,
        "peak_mib": _peak_mib(),
        "totals": {k: int(v) for k, v in totals.items()},
    }


def child(engine: str, folder: Path, region: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--run", engine, "--data", str(folder), "--region", region],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--encounters", type=int, default=100_000)
    parser.add_argument("--region", default="sample-city")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-scalar", action="store_true", help="only the columnar engine")
    parser.add_argument("--data", type=Path, help="keep the Parquet files in this folder")
    parser.add_argument("--run", choices=("scalar", "columnar"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:  # a child: one engine, JSON on stdout
        run = run_scalar if args.run == "scalar" else run_columnar
        print(json.dumps(run(args.data, args.region)))
        return

    from yibao.batch.generate import MEAN_ENCOUNTERS, generate

    persons = math.ceil(args.encounters / MEAN_ENCOUNTERS)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data or Path(tmp)
        started = time.perf_counter()
        data = generate(persons, YEAR, args.seed, args.region)
        data.write(folder)
        generated = time.perf_counter() - started
        encounters = data.encounters.height
        del data
        Console().print(
            f"generated {persons:,} persons, {encounters:,} encounters of {args.region} "
            f"{YEAR} in {generated:.1f} s"
        )
        engines = ["columnar"] if args.no_scalar else ["scalar", "columnar"]
        results = {engine: child(engine, folder, args.region) for engine in engines}

    table = Table(title=f"one generated region-year of {args.region} (seed {args.seed})")
    for col in (
        "engine",
        "persons",
        "encounters",
        "seconds",
        "encounters/s",
        "peak RSS MiB",
        "fund paid (basic + assistance + serious illness)",
    ):
        table.add_column(col, justify="right")
    for engine, r in results.items():
        t = r["totals"]
        paid = Decimal(t["basic"] + t["assistance"] + t["serious_illness"]).scaleb(-2)
        table.add_row(
            engine,
            f"{r['persons']:,}",
            f"{r['encounters']:,}",
            f"{r['seconds']:.2f}",
            f"{r['encounters'] / r['seconds']:,.0f}",
            f"{r['peak_mib']:,.0f}",
            f"{paid:,.2f}",
        )
    console = Console(width=160)
    console.print(table)
    for engine, r in results.items():
        what = (
            "reading Parquet (included above)"
            if engine == "columnar"
            else "frames to domain objects (not included)"
        )
        console.print(f"{engine}: {what}: {r['prepare']:.2f} s")
    if len(results) == 2:
        same = results["scalar"]["totals"] == results["columnar"]["totals"]
        console.print("totals agree to the fen" if same else "[red]TOTALS DIFFER[/red]")
        if not same:
            console.print(results)
            sys.exit(1)

    path = Path(__file__).with_name("results.csv")
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(
                ["when", "bench", "machine", "persons", "encounters", "seconds", "encounters_per_s"]
            )
        for engine, r in results.items():
            writer.writerow(
                [
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    f"batch-{engine}",
                    platform.node(),
                    r["persons"],
                    r["encounters"],
                    f"{r['seconds']:.2f}",
                    f"{r['encounters'] / r['seconds']:.0f}",
                ]
            )


if __name__ == "__main__":
    main()
