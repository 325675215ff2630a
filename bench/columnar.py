"""Benchmark: the scalar and the columnar engine on the same generated region-year,
and with --openfisca an OpenFisca model of the yearly serious-illness layer beside ours.

    .venv/bin/python bench/columnar.py --encounters 100000 [--region sample-city]
        [--seed 7] [--no-scalar] [--openfisca] [--data DIR]

Generates a region-year (`yibao.batch.generate`, about 2.5 bills a person), writes it
to Parquet, then runs each engine in its own process on those files so that each peak
memory is its own: the scalar engine (`settle_year` per person, 250,000 persons at a
time so that a 10M-bill year fits in memory; turning the frames into domain objects is
timed apart) and the columnar engine (reading the Parquet files and
settling, timed together). The two must agree on the year's totals to the fen.

--openfisca: the columnar run also writes each person's serious-illness base (not timed),
and a third process settles the yearly serious-illness layer over those persons twice,
side by side: our `serious_illness_layer` and an OpenFisca 46 model of the same scale
and top line (`bench/serious_illness.py`'s `openfisca_system`: a TaxBenefitSystem, a
person entity, a yearly `si_base` input and a formula; building the simulation is
timed). OpenFisca's job is narrower than either engine's (one yearly formula per person,
no bills): its µs a person are the figure to compare. The payments are compared to the
fen (OpenFisca computes in float32, so a few differ; the count is printed).

Prints a table and appends a row per engine to bench/results.csv. Not a test.
"""

from __future__ import annotations

import argparse
import csv
import json
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
LAYERS = ("basic", "assistance", "institution", "personal", "serious_illness")
SI_FILE = "serious-illness-input.parquet"


# Persons turned into domain objects and settled at a time by the scalar engine: the
# whole of a 10M-bill year as Python objects would not fit in memory.
SCALAR_CHUNK = 250_000


def run_scalar(folder: Path, region: str) -> dict[str, Any]:
    from yibao.adapters.parameter_files import load_region
    from yibao.batch.frames import RegionYear, read_region_year, to_scalar
    from yibao.domain.engine import settle_year
    from yibao.domain.money import to_fen

    policy = load_region(region)
    data = read_region_year(folder)
    persons = data.persons.sort("person")
    encounters = data.encounters.sort("person", "seq")
    keys = encounters.get_column("person")
    sums = dict.fromkeys(LAYERS, Decimal(0))
    prepare = seconds = 0.0
    count = bills_count = 0
    for start in range(0, persons.height, SCALAR_CHUNK):
        part = persons.slice(start, SCALAR_CHUNK)
        lo, hi = part.get_column("person").min(), part.get_column("person").max()
        # polars types a minimum as any scalar; persons are Int64 and the slice not empty.
        assert isinstance(lo, int)
        assert isinstance(hi, int)
        first, last = keys.search_sorted(lo, "left"), keys.search_sorted(hi, "right")
        started = time.perf_counter()
        people = to_scalar(
            RegionYear(data.region, data.year, part, encounters.slice(first, last - first))
        )
        prepare += time.perf_counter() - started
        started = time.perf_counter()
        for person, bills in people:
            year, _ = settle_year(policy, person, data.year, bills)
            for r in year.encounters:
                sums["basic"] += r.basic
                sums["assistance"] += r.assistance
                sums["institution"] += r.institution
            sums["personal"] += year.personal
            sums["serious_illness"] += year.serious_illness.payment
        seconds += time.perf_counter() - started
        count += len(people)
        bills_count += sum(len(b) for _, b in people)
        del people
    return {
        "seconds": seconds,
        "prepare": prepare,
        "persons": count,
        "encounters": bills_count,
        "peak_mib": peak_mib(),
        "totals": {k: to_fen(v) for k, v in sums.items()},
    }


def run_columnar(folder: Path, region: str, openfisca: bool = False) -> dict[str, Any]:
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
    peak = peak_mib()
    if openfisca:  # the serious-illness layer's input, for the third process (not timed)
        schemes = data.persons.select("person", "scheme")
        result.persons.join(schemes, on="person", how="left", maintain_order="left").select(
            "person",
            "scheme",
            "si_base",
            (pl.col("personal") + pl.col("serious_illness")).alias("paid"),
            pl.col("serious_illness").alias("expected"),
        ).write_parquet(folder / SI_FILE, metadata={"places": str(result.places)})
    return {
        "seconds": seconds,
        "prepare": prepare,
        "persons": result.persons.height,
        "encounters": result.encounters.height,
        "peak_mib": peak,
        "totals": {k: int(v) for k, v in totals.items()},
    }


def run_openfisca(folder: Path, region: str) -> dict[str, Any]:
    """The serious-illness layer over the persons the columnar run wrote: ours, then
    OpenFisca's, in this process, on the same persons."""
    import numpy as np
    import polars as pl

    from serious_illness import openfisca_layer  # bench/serious_illness.py
    from yibao.adapters.parameter_files import load_region
    from yibao.batch.yearly import serious_illness_layer

    inputs = pl.read_parquet(folder / SI_FILE)
    one = 10 ** int(pl.read_parquet_metadata(folder / SI_FILE)["places"])
    policy = load_region(region)
    started = time.perf_counter()
    ours = serious_illness_layer(policy, YEAR, inputs.drop("expected"), one)
    columnar_s = time.perf_counter() - started
    our_fen = ours.get_column("serious_illness").to_numpy()
    assert (our_fen == inputs.get_column("expected").to_numpy()).all(), "not the year's layer"

    theirs, openfisca_s = openfisca_layer(region, inputs.select("si_base", "scheme"), one)
    their_fen = np.rint(theirs.astype(np.float64) * 100).astype(np.int64)
    return {
        "persons": inputs.height,
        "columnar_s": columnar_s,
        "openfisca_s": openfisca_s,
        "columnar_paid": int(our_fen.sum()),
        "openfisca_paid": int(their_fen.sum()),
        "differ": int((their_fen != our_fen).sum()),
        "largest": int(np.abs(their_fen - our_fen).max()) if len(our_fen) else 0,
        "dtype": str(theirs.dtype),
        "version": _version("openfisca-core"),
        "peak_mib": peak_mib(),
    }


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def child(engine: str, folder: Path, region: str, openfisca: bool = False) -> dict[str, Any]:
    args = ["--run", engine, "--data", str(folder), "--region", region]
    return run_child(__file__, *args, *(["--openfisca"] if openfisca else []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--encounters", type=int, default=100_000)
    parser.add_argument("--region", default="sample-city")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-scalar", action="store_true", help="skip the scalar engine")
    parser.add_argument(
        "--openfisca", action="store_true", help="and the serious-illness layer against OpenFisca"
    )
    parser.add_argument("--data", type=Path, help="keep the Parquet files in this folder")
    parser.add_argument(
        "--run", choices=("scalar", "columnar", "openfisca"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.run:  # a child: one engine, JSON on stdout
        if args.run == "scalar":
            out = run_scalar(args.data, args.region)
        elif args.run == "columnar":
            out = run_columnar(args.data, args.region, args.openfisca)
        else:
            out = run_openfisca(args.data, args.region)
        print(json.dumps(out))
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
        results = {engine: child(engine, folder, args.region, args.openfisca) for engine in engines}
        si = child("openfisca", folder, args.region) if args.openfisca else None

    table = Table(title=f"one generated region-year of {args.region} (seed {args.seed})")
    for col in (
        "engine",
        "job",
        "persons",
        "encounters",
        "seconds",
        "encounters/s",
        "µs/person",
        "peak RSS MiB",
        "fund paid (yuan)",
    ):
        table.add_column(col, justify="right")
    if args.no_scalar:
        table.add_row("scalar", "skipped (--no-scalar)", *[""] * 7)
    for engine, r in results.items():
        t = r["totals"]
        paid = Decimal(t["basic"] + t["assistance"] + t["serious_illness"]).scaleb(-2)
        table.add_row(
            engine,
            "the year: every bill, then serious illness",
            f"{r['persons']:,}",
            f"{r['encounters']:,}",
            f"{r['seconds']:.2f}",
            f"{r['encounters'] / r['seconds']:,.0f}",
            f"{r['seconds'] / r['persons'] * 1e6:.2f}",
            f"{r['peak_mib']:,.0f}",
            f"{paid:,.2f}",
        )
    if si is not None:
        for name, seconds, fen in (
            ("columnar", si["columnar_s"], si["columnar_paid"]),
            (f"OpenFisca {si['version']} ({si['dtype']})", si["openfisca_s"], si["openfisca_paid"]),
        ):
            table.add_row(
                name,
                "serious-illness layer only (same process)",
                f"{si['persons']:,}",
                "",
                f"{seconds:.3f}",
                "",
                f"{seconds / si['persons'] * 1e6:.2f}",
                f"{si['peak_mib']:,.0f}",
                f"{Decimal(fen).scaleb(-2):,.2f}",
            )
    console = Console(width=180)
    console.print(table)
    if args.no_scalar:
        console.print("scalar: skipped (--no-scalar)")
    for engine, r in results.items():
        what = (
            "reading Parquet (included above)"
            if engine == "columnar"
            else "frames to domain objects (not included)"
        )
        console.print(f"{engine}: {what}: {r['prepare']:.2f} s")
    if si is not None:
        console.print(
            f"serious-illness layer: persons whose payment differs between columnar and "
            f"OpenFisca: {si['differ']:,} (largest difference {si['largest']} fen); the "
            "columnar layer is the year's to the fen"
        )
    if len(results) == 2:
        same = results["scalar"]["totals"] == results["columnar"]["totals"]
        console.print("totals agree to the fen" if same else "[red]TOTALS DIFFER[/red]")
        if not same:
            console.print(results)
            sys.exit(1)
    if si is not None:
        console.print(
            f"the serious-illness rows ran in one process, peak RSS {si['peak_mib']:,.0f} MiB for both"
        )

    path = Path(__file__).with_name("results.csv")
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(
                ["when", "bench", "machine", "persons", "encounters", "seconds", "encounters_per_s"]
            )
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for engine, r in results.items():
            writer.writerow(
                [
                    now,
                    f"batch-{engine}",
                    platform.node(),
                    r["persons"],
                    r["encounters"],
                    f"{r['seconds']:.2f}",
                    f"{r['encounters'] / r['seconds']:.0f}",
                ]
            )
        if si is not None:
            encounters = results["columnar"]["encounters"]
            for name in ("columnar", "openfisca"):
                seconds = si[f"{name}_s"]
                writer.writerow(
                    [
                        now,
                        f"si-{name}",
                        platform.node(),
                        si["persons"],
                        encounters,
                        f"{seconds:.3f}",
                        f"{encounters / seconds:.0f}",
                    ]
                )


if __name__ == "__main__":
    main()
