"""Benchmark: loading a generated region-year into the database (`yibao batch load`).

    .venv/bin/python bench/load.py --persons 100000 [--database postgresql|sqlite]
        [--region sample-city] [--seed 7]

Generates a region-year (`yibao.batch.generate`, about 2.5 bills a person) and writes it
to Parquet (not timed), makes an empty database (PostgreSQL: a scratch database on
127.0.0.1:5432, dropped afterwards; SQLite: a file in a temporary folder), migrates it,
then a process of its own loads the folder as `yibao batch load` does
(`yibao.batch.load.load_region_year`: reading Parquet, the columnar engine, the scalar
engine's explanations, every row written in one transaction) and reports its seconds and
peak RSS. Prints a table with the rows each table got and appends a row to
bench/results.csv. Not a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from common import peak_mib  # bench/common.py

YEAR = 2026
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def run_load(folder: Path, url: str) -> dict[str, Any]:
    from sqlalchemy import func, select

    from yibao.adapters.db import tables as t
    from yibao.adapters.db.engine import make_engine
    from yibao.adapters.parameter_files import load_region
    from yibao.batch.frames import read_region_year
    from yibao.batch.load import load_region_year

    engine = make_engine(url)
    started = time.perf_counter()
    data = read_region_year(folder)
    summary = load_region_year(engine, load_region(data.region), data)
    seconds = time.perf_counter() - started
    peak = peak_mib()
    tables = (
        t.persons,
        t.enrolments,
        t.cards,
        t.approvals,
        t.filings,
        t.referrals,
        t.settlements,
        t.settlement_lines,
        t.fund_ledger,
        t.person_years,
    )
    with engine.connect() as conn:
        rows = {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in tables
        }
    engine.dispose()
    return {
        "seconds": seconds,
        "peak_mib": peak,
        "persons": summary.persons,
        "settlements": summary.settlements,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--region", default="sample-city")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.url:  # the child: the load, JSON on stdout
        print(json.dumps(run_load(args.data, args.url)))
        return

    from sqlalchemy import create_engine, text

    from yibao.adapters.db.engine import make_engine
    from yibao.adapters.db.migrate import upgrade
    from yibao.batch.generate import generate

    console = Console(width=150)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "year"
        started = time.perf_counter()
        data = generate(args.persons, YEAR, args.seed, args.region)
        data.write(folder)
        encounters = data.encounters.height
        del data
        console.print(
            f"generated {args.persons:,} persons, {encounters:,} encounters of {args.region} "
            f"{YEAR} in {time.perf_counter() - started:.1f} s (not timed)"
        )
        name = f"yibao_bench_load_{os.getpid()}"
        if args.database == "postgresql":
            admin = create_engine(PG + "postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = PG + name
        else:
            url = f"sqlite:///{tmp}/{name}.sqlite3"
        try:
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            done = subprocess.run(
                [sys.executable, __file__, "--data", str(folder), "--url", url],
                check=True,
                capture_output=True,
                text=True,
            )
            result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        finally:
            if args.database == "postgresql":
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()

    console.print(
        f"`yibao batch load` of {result['persons']:,} persons into {args.database}, "
        "one transaction: the rows each table got"
    )
    table = Table()
    for col in ("table", "rows"):
        table.add_column(col, justify="right")
    for name, rows in result["rows"].items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(
        f"loaded in {result['seconds']:.1f} s ({result['settlements'] / result['seconds']:,.0f} "
        f"settlements/s), peak RSS {result['peak_mib']:,.0f} MiB"
        + ("; scratch database dropped" if args.database == "postgresql" else "")
    )
    path = Path(__file__).with_name("results.csv")
    with path.open("a", newline="") as fh:
        csv.writer(fh).writerow(
            [
                datetime.now(UTC).isoformat(timespec="seconds"),
                f"batch-load-{args.database}",
                platform.node(),
                result["persons"],
                result["settlements"],
                f"{result['seconds']:.2f}",
                f"{result['settlements'] / result['seconds']:.0f}",
            ]
        )


if __name__ == "__main__":
    main()
