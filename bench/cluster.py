"""Benchmark: the columnar engine on one machine and partitioned by person on Dask.

    .venv/bin/python bench/cluster.py --encounters 1000000 [--dask local] [--workers 2]
        [--partitions N] [--region sample-city] [--seed 7]
    .venv/bin/python bench/cluster.py --encounters 1000000 --dask tcp://host:8786

Generates a region-year (`yibao.batch.generate`, about 2.5 bills a person), writes it to
Parquet whole and cut into partitions by person (`cluster.write_partitions`, default
4 a local worker, or 16), then runs each setup in a process of its own, so that each peak memory is
its own:

- one machine: `columnar.settle` over the whole year (reading Parquet included);
- Dask, frames returned: one task a partition folder, the worker reads its files and
  returns its frames, the client puts them in order (`cluster.settle_on_dask`);
- Dask, results written: each task writes its results beside its partition and returns
  only its totals (`cluster.settle_on_dask_to_files`).

`--dask local` starts a LocalCluster of `--workers` worker processes (one thread each)
in the setup's process (not timed: the seconds are from submitting the first task to
having every result); an address uses that scheduler's workers as they are. Peak RSS is
each process's VmHWM: the client's (with a LocalCluster, the scheduler runs in it too)
and the largest worker's (a remote worker's over its whole life). Every Dask run is
checked against the one-machine run frame for frame (not timed). Prints a table and
appends a row per setup to bench/results.csv. Not a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from common import peak_mib, run_child  # bench/common.py

YEAR = 2026
ALONE = "alone"
SETUPS = {
    ALONE: "one machine (columnar.settle)",
    "returned": "Dask: frames returned to the client",
    "written": "Dask: results written beside each partition",
}


def _fund(encounters: Any, persons: Any) -> int:
    return int(
        encounters["basic"].sum()
        + encounters["assistance"].sum()
        + persons["serious_illness"].sum()
    )


def run_alone(folder: Path, region: str) -> dict[str, Any]:
    from yibao.adapters.parameter_files import load_region
    from yibao.batch.columnar import settle
    from yibao.batch.frames import read_region_year

    policy = load_region(region)
    started = time.perf_counter()
    result = settle(policy, read_region_year(folder / "whole"))
    seconds = time.perf_counter() - started
    peak = peak_mib()
    result.encounters.write_parquet(folder / "alone-encounters.parquet")
    result.persons.write_parquet(folder / "alone-persons.parquet")
    return {
        "seconds": seconds,
        "encounters": result.encounters.height,
        "persons": result.persons.height,
        "client_mib": peak,
        "worker_mib": None,
        "workers": 0,
        "fund": _fund(result.encounters, result.persons),
        "same": True,
    }


def run_dask(setup: str, folder: Path, region: str, dask: str, workers: int) -> dict[str, Any]:
    import polars as pl
    from distributed import Client, LocalCluster

    from yibao.adapters.parameter_files import load_region
    from yibao.batch.cluster import read_results, settle_on_dask, settle_on_dask_to_files

    policy = load_region(region)
    parts = sorted(p for p in (folder / "parts").iterdir() if p.is_dir())
    cluster: LocalCluster | None = None
    started = time.perf_counter()
    # distributed leaves LocalCluster(), Client() and Client.close unannotated
    # (no-untyped-call); what they return is typed.
    if dask == "local":
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)  # type: ignore[no-untyped-call]
    else:
        client = Client(dask)  # type: ignore[no-untyped-call]
    client.wait_for_workers(workers if dask == "local" else 1)
    ready = time.perf_counter() - started
    try:
        started = time.perf_counter()
        if setup == "returned":
            result = settle_on_dask(policy, client, parts)
            seconds = time.perf_counter() - started
            client_peak = peak_mib()
            encounters, persons = result.encounters, result.persons
        else:
            summaries = settle_on_dask_to_files(policy, client, parts)
            seconds = time.perf_counter() - started
            client_peak = peak_mib()  # before the check reads the results back
            back = read_results(parts)
            encounters, persons = back.encounters, back.persons
            assert sum(s.fund for s in summaries) == _fund(encounters, persons)
        worker_peaks = client.run(peak_mib)
        used = len(worker_peaks)
    finally:
        client.close()  # type: ignore[no-untyped-call]
        if cluster is not None:
            cluster.close()
    same = encounters.equals(pl.read_parquet(folder / "alone-encounters.parquet")) and (
        persons.equals(pl.read_parquet(folder / "alone-persons.parquet"))
    )
    return {
        "seconds": seconds,
        "encounters": encounters.height,
        "persons": persons.height,
        "client_mib": client_peak,
        "worker_mib": max(worker_peaks.values()),
        "workers": used,
        "fund": _fund(encounters, persons),
        "same": same,
        "ready": ready,
    }


def child(setup: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    return run_child(
        __file__,
        *("--run", setup, "--data", str(folder), "--region", args.region),
        *("--dask", args.dask, "--workers", str(args.workers)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--encounters", type=int, default=1_000_000)
    parser.add_argument("--dask", default="local", help="local, or a scheduler's address")
    parser.add_argument("--workers", type=int, default=2, help="--dask local: worker processes")
    parser.add_argument("--partitions", type=int, help="default: 4 a local worker, or 16")
    parser.add_argument("--region", default="sample-city")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--run", choices=list(SETUPS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:  # a child: one setup, JSON on stdout
        if args.run == ALONE:
            out = run_alone(args.data, args.region)
        else:
            out = run_dask(args.run, args.data, args.region, args.dask, args.workers)
        print(json.dumps(out))
        return

    from yibao.batch.cluster import write_partitions
    from yibao.batch.generate import MEAN_ENCOUNTERS, generate

    persons = math.ceil(args.encounters / MEAN_ENCOUNTERS)
    partitions = args.partitions or 4 * (args.workers if args.dask == "local" else 4)
    console = Console(width=170)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        data = generate(persons, YEAR, args.seed, args.region)
        data.write(folder / "whole")
        parts = write_partitions(data, folder / "parts", partitions)
        encounters = data.encounters.height
        del data
        console.print(
            f"generated {persons:,} persons, {encounters:,} encounters of {args.region} {YEAR} "
            f"and cut them into {len(parts)} partitions in {time.perf_counter() - started:.1f} s"
        )
        results = {setup: child(setup, folder, args) for setup in SETUPS}

    where = f"LocalCluster of {args.workers} processes" if args.dask == "local" else args.dask
    table = Table(title=f"the columnar engine on one machine and on Dask ({where})")
    for col in (
        "setup",
        "workers",
        "partitions",
        "encounters",
        "seconds",
        "encounters/s",
        "peak RSS client MiB",
        "peak RSS largest worker MiB",
        "fund paid (yuan)",
        "same frames",
    ):
        table.add_column(col, justify="right")
    for setup, r in results.items():
        table.add_row(
            SETUPS[setup],
            str(r["workers"] or "-"),
            "-" if setup == ALONE else str(len(parts)),
            f"{r['encounters']:,}",
            f"{r['seconds']:.2f}",
            f"{r['encounters'] / r['seconds']:,.0f}",
            f"{r['client_mib']:,.0f}",
            "-" if r["worker_mib"] is None else f"{r['worker_mib']:,.0f}",
            f"{Decimal(r['fund']).scaleb(-2):,.2f}",
            "yes" if r["same"] else "[red]NO[/red]",
        )
    console.print(table)
    ready = [r["ready"] for r in results.values() if "ready" in r]
    console.print(f"starting the cluster and its workers (not timed): {max(ready):.1f} s at most")
    if not all(r["same"] for r in results.values()):
        sys.exit(1)

    path = Path(__file__).with_name("results.csv")
    label = f"local{args.workers}" if args.dask == "local" else "remote"
    with path.open("a", newline="") as fh:
        writer = csv.writer(fh)
        for setup, r in results.items():
            writer.writerow(
                [
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    "dask-alone" if setup == ALONE else f"dask-{setup}-{label}-p{len(parts)}",
                    platform.node(),
                    r["persons"],
                    r["encounters"],
                    f"{r['seconds']:.2f}",
                    f"{r['encounters'] / r['seconds']:.0f}",
                ]
            )


if __name__ == "__main__":
    main()
