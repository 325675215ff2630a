"""Benchmark: a province's year out of core, partition by partition, here and on Dask.

    .venv/bin/python bench/province.py --encounters 1000000 [--check]
    .venv/bin/python bench/province.py --encounters 100000000 [--processes 2] [--workers 2] [--keep DIR]

Stages, each in a process of its own (`yibao.batch.province`):

1. generate: about `--encounters` bills (2.5 a person) drawn 1M persons at a time by
   `--processes` worker processes and written straight into partitions by person hash
   (`generate_partitioned`), one partition per `--per-partition` bills (at least 4); not
   part of the settlement's time;
2. settle: each partition read, settled by `columnar.settle`, its results written beside
   it (`settle_partitions`), by `--processes` worker processes of one Polars thread each
   side by side (1: one partition after the other in the stage's own process);
3. dask: the same partitions as one task each on a LocalCluster of `--workers` worker
   processes of one thread (Polars one thread each), results written beside each
   partition (`cluster.settle_on_dask_to_files`); every partition's persons, bills and
   layers in fen must equal stage 2's (starting the cluster is not timed);
4. with `--check`: the whole region-year read into memory and settled at once
   (`columnar.settle`), frame for frame against stage 2's results read back (at sizes
   the machine holds).

Every stage runs with Polars' allocator keeping its freed pages (`province.ALLOCATOR`).
Peak memory is the largest sum of the resident memory (VmRSS) of the stage's process
and all its descendants (Dask's workers), sampled every 0.2 s by this process; disk is
the bytes of the partitions' input and result files; CPU is the user and system time of
the stage's process and the processes it waited for (on a shared machine the wall clock
mostly measures the others' load). Prints a table and appends a row per
stage to bench/results.csv. Not a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

YEAR = 2026
PAGE = os.sysconf("SC_PAGE_SIZE")
STAGES = ("generate", "settle", "dask", "check")


def _stage_env() -> dict[str, str]:
    """A stage's environment: Polars' allocator keeps its freed pages, as the settling
    workers of `settle_partitions` do (`province.ALLOCATOR`), in this stage's process and
    every process it starts (Dask's workers too): the stages compare alike."""
    from yibao.batch.province import ALLOCATOR

    name, conf = ALLOCATOR
    return {**os.environ, name: conf}


def tree_rss(root: int) -> int:
    """Bytes resident in process `root` and all its descendants now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * PAGE
        except OSError:
            pass
        todo.extend(children.get(pid, []))
    return total


def run_stage(*args: str) -> dict[str, Any]:
    """This script with `args` in a child process; its JSON result and the peak RSS of
    its process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.Popen(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True, env=_stage_env()
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(child.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    done.set()
    sampler.join()
    if child.returncode:
        raise SystemExit(f"stage {args[1]} failed ({child.returncode})")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["tree_mib"] = peak / 2**20
    # CPU of the stage's process and every process it waited for (its workers): on a
    # shared machine the wall clock says more about the others than about the stage.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["cpu"] = sum(getattr(after, f) - getattr(before, f) for f in ("ru_utime", "ru_stime"))
    return result


def disk(root: Path) -> tuple[int, int]:
    """Bytes of the partitions' input files and of their result files."""
    inputs = results = 0
    for path in root.glob("part-*/*.parquet"):
        size = path.stat().st_size
        if path.name.startswith("result-"):
            results += size
        else:
            inputs += size
    return inputs, results


def stage_generate(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    from yibao.batch.generate import MEAN_ENCOUNTERS
    from yibao.batch.province import generate_partitioned

    persons = math.ceil(args.encounters / MEAN_ENCOUNTERS)
    partitions = max(4, math.ceil(args.encounters / args.per_partition))
    started = time.perf_counter()
    layout = generate_partitioned(
        root,
        persons=persons,
        year=YEAR,
        seed=args.seed,
        region=args.region,
        partitions=partitions,
        progress=lambda c, n: print(f"generated chunk {c}/{n}", file=sys.stderr),
        processes=args.processes,
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "persons": layout.persons,
        "encounters": layout.encounters,
        "partitions": layout.partitions,
    }


def stage_settle(root: Path, processes: int) -> dict[str, Any]:
    from yibao.adapters.parameter_files import load_region
    from yibao.batch.province import read_layout, settle_partitions

    layout = read_layout(root)
    policy = load_region(layout.region)
    started = time.perf_counter()
    summaries = settle_partitions(
        policy,
        layout.folders(root),
        progress=lambda i, n: print(f"settled partition {i}/{n}", file=sys.stderr),
        processes=processes,
        threads=1 if processes > 1 else None,
    )
    return _summed(time.perf_counter() - started, summaries)


def _summed(seconds: float, summaries: list[Any]) -> dict[str, Any]:
    from dataclasses import asdict

    from yibao.batch.province import totals

    parts = [{k: v for k, v in asdict(s).items() if k != "folder"} for s in summaries]
    return {"seconds": seconds, "totals": totals(summaries), "parts": parts}


def stage_dask(root: Path, workers: int) -> dict[str, Any]:
    os.environ["POLARS_MAX_THREADS"] = "1"  # the workers inherit it: one thread each
    import logging

    from distributed import Client, LocalCluster

    from yibao.adapters.parameter_files import load_region
    from yibao.batch.cluster import settle_on_dask_to_files
    from yibao.batch.province import read_layout

    layout = read_layout(root)
    policy = load_region(layout.region)
    # distributed leaves LocalCluster(), Client() and Client.close unannotated
    # (no-untyped-call); what they return is typed.
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)  # type: ignore[no-untyped-call]
    try:
        client.wait_for_workers(workers)
        started = time.perf_counter()
        summaries = settle_on_dask_to_files(policy, client, layout.folders(root))
        seconds = time.perf_counter() - started
    finally:
        client.close()  # type: ignore[no-untyped-call]
        cluster.close()
    return _summed(seconds, summaries)


def stage_check(root: Path) -> dict[str, Any]:
    import polars as pl

    from yibao.adapters.parameter_files import load_region
    from yibao.batch.cluster import read_results
    from yibao.batch.columnar import settle
    from yibao.batch.frames import RegionYear, read_region_year
    from yibao.batch.province import read_layout

    layout = read_layout(root)
    folders = layout.folders(root)
    parts = [read_region_year(f) for f in folders]
    whole = RegionYear(
        layout.region,
        layout.year,
        pl.concat([p.persons for p in parts]),
        pl.concat([p.encounters for p in parts]),
    )
    del parts
    started = time.perf_counter()
    result = settle(load_region(layout.region), whole)
    seconds = time.perf_counter() - started
    back = read_results(folders)
    same = result.encounters.equals(back.encounters) and result.persons.equals(back.persons)
    # Each column is whole fen (Int64); polars types a sum as any scalar, so each is
    # made an int before they are added.
    fund = (
        int(result.encounters["basic"].sum())
        + int(result.encounters["assistance"].sum())
        + int(result.persons["serious_illness"].sum())
    )
    return {"seconds": seconds, "same": same, "fund": fund}


def child(args: argparse.Namespace) -> None:
    root = args.data
    if args.stage == "generate":
        out = stage_generate(root, args)
    elif args.stage == "settle":
        out = stage_settle(root, args.processes)
    elif args.stage == "dask":
        out = stage_dask(root, args.workers)
    else:
        out = stage_check(root)
    from common import peak_mib  # bench/common.py

    out["own_mib"] = peak_mib()
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--encounters", type=int, default=1_000_000)
    parser.add_argument("--per-partition", type=int, default=2_500_000, help="bills a partition")
    parser.add_argument(
        "--processes", type=int, default=2, help="processes generating and settling (1: this one)"
    )
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes (0: none)")
    parser.add_argument("--check", action="store_true", help="against the in-memory run")
    parser.add_argument("--region", default="sample-city")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write here and keep (default: a temp dir)")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        child(args)
        return

    root = args.keep or Path(tempfile.mkdtemp(prefix="province-", dir=os.environ.get("TMPDIR")))
    common = ["--data", str(root), "--region", args.region, "--seed", str(args.seed)]
    console = Console(width=170)
    results: dict[str, dict[str, Any]] = {}
    try:
        results["generate"] = run_stage(
            "--stage", "generate", *common, "--encounters", str(args.encounters),
            "--per-partition", str(args.per_partition), "--processes", str(args.processes),
        )  # fmt: skip
        console.print(f"generated: {json.dumps(results['generate'])}")
        inputs, _ = disk(root)
        results["settle"] = run_stage(
            "--stage", "settle", *common, "--processes", str(args.processes)
        )
        _, outputs = disk(root)
        console.print(f"settled: {_brief(results['settle'])}")
        if args.workers:
            results["dask"] = run_stage("--stage", "dask", *common, "--workers", str(args.workers))
            results["dask"]["same"] = results["dask"]["parts"] == results["settle"]["parts"]
            console.print(f"dask: {_brief(results['dask'])}, same: {results['dask']['same']}")
        if args.check:
            results["check"] = run_stage("--stage", "check", *common)
            console.print(f"check: {_brief(results['check'])}, same: {results['check']['same']}")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    report(console, args, results, inputs, outputs)


def _brief(r: dict[str, Any]) -> str:
    return f"{r['seconds']:.1f} s ({r['cpu']:.1f} s CPU), peak RSS tree {r['tree_mib']:,.0f} MiB"


def report(
    console: Console,
    args: argparse.Namespace,
    results: dict[str, dict[str, Any]],
    inputs: int,
    outputs: int,
) -> None:
    gen = results["generate"]
    fund = results["settle"]["totals"]["fund"]
    title = (
        f"{args.region} {YEAR}: {gen['encounters']:,} bills of {gen['persons']:,} persons "
        f"in {gen['partitions']} partitions; disk {inputs / 2**30:.2f} GiB in, "
        f"{outputs / 2**30:.2f} GiB results; fund paid {Decimal(fund).scaleb(-2):,.2f} yuan"
    )
    table = Table(title=title)
    for col in ("stage", "seconds", "bills/s", "CPU s", "peak RSS tree MiB", "agrees"):
        table.add_column(col, justify="right")
    labels = {
        "generate": "generate, partitioned (not settlement)",
        "settle": f"settle out of core, {args.processes} process(es) a partition each",
        "dask": f"Dask LocalCluster, {args.workers} workers, results beside each partition",
        "check": "in memory, the whole year at once",
    }
    for stage, r in results.items():
        agrees = "-"
        if stage == "dask":
            agrees = "every partition to the fen" if r["same"] else "[red]NO[/red]"
        elif stage == "check":
            ok = r["same"] and r["fund"] == fund
            agrees = "frame for frame" if ok else "[red]NO[/red]"
        table.add_row(
            labels[stage],
            f"{r['seconds']:.1f}",
            f"{gen['encounters'] / r['seconds']:,.0f}",
            f"{r['cpu']:.1f}",
            f"{r['tree_mib']:,.0f}",
            agrees,
        )
    console.print(table)
    path = Path(__file__).with_name("results.csv")
    with path.open("a", newline="") as fh:
        writer = csv.writer(fh)
        for stage, r in results.items():
            writer.writerow(
                [
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    f"province-{stage}-p{gen['partitions']}",
                    platform.node(),
                    gen["persons"],
                    gen["encounters"],
                    f"{r['seconds']:.2f}",
                    f"{gen['encounters'] / r['seconds']:.0f}",
                ]
            )
    bad = results.get("dask", {}).get("same") is False or (
        "check" in results and not results["check"]["same"]
    )
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
