"""Benchmark: the yearly serious-illness settlement, per person.

    .venv/bin/python bench/serious_illness.py openfisca --persons 1000000 [--region R] [--seed S]
    .venv/bin/python bench/serious_illness.py postgres --persons 1000000 [--region R] [--seed S]

Both start from the same per-person accumulators: a region-year is generated
(`yibao.batch.generate`) and its bills settled by the columnar engine; each person's year
gives `si_base` (eligible − basic − assistance − institution, exact) and the personal
payment before the layer. Neither step is timed.

`openfisca`: an OpenFisca model of the same job (openfisca-core: a TaxBenefitSystem with
a person entity, a yearly `si_base` input and a `serious_illness` formula over the
region's scale and top line, as OpenFisca parameters) runs side by side, in this same
process, with the columnar engine's serious-illness step (`serious_illness_layer`) on
the same persons. Timed: OpenFisca's simulation built, inputs set and the formula
calculated; the columnar step over the frame. The payments are compared to the fen
(OpenFisca computes in float32 by default, so a few may differ; the count is printed).

`postgres`: the accumulators are loaded by COPY into a staging table of a scratch
database on 127.0.0.1:5432 (dropped afterwards); a child process then reads them back
(psycopg COPY into Polars, exact decimals), settles the serious-illness layer and writes
each person's payment back by COPY. Timed, with its own peak memory: the child.

Prints a table and appends rows to bench/results.csv. Not a test.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from math import inf
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from common import peak_mib  # bench/common.py

YEAR = 2026
PG = "host=127.0.0.1 port=5432 user=postgres"


def accumulators(persons: int, seed: int, region: str) -> tuple[pl.DataFrame, int, int, float]:
    """Per person: person, scheme, eligible (exact), basic, assistance, institution,
    personal (fen, before the layer); the places of the exact column; encounters; seconds."""
    from yibao.adapters.parameter_files import load_region
    from yibao.batch.columnar import settle
    from yibao.batch.generate import generate

    started = time.perf_counter()
    data = generate(persons, YEAR, seed, region)
    result = settle(load_region(region), data)
    sums = result.encounters.group_by("person").agg(
        pl.col("eligible", "basic", "assistance", "institution", "personal").sum()
    )
    frame = (
        data.persons.select("person", "scheme")
        .join(sums, on="person", how="left")
        .with_columns(pl.exclude("person", "scheme").fill_null(0))
        .sort("person")
    )
    return frame, result.places, data.encounters.height, time.perf_counter() - started


def si_input(frame: pl.DataFrame, one: int) -> pl.DataFrame:
    """The layer's input: `si_base` and `paid` from the accumulators."""
    return frame.select(
        "person",
        "scheme",
        (
            pl.col("eligible")
            - (pl.col("basic") + pl.col("assistance") + pl.col("institution")) * one
        ).alias("si_base"),
        pl.col("personal").alias("paid"),
    )


# --- OpenFisca -------------------------------------------------------------------------


def openfisca_system(region: str) -> Any:
    """A minimal TaxBenefitSystem: persons, their yearly base, the serious-illness formula."""
    import numpy as np
    from openfisca_core.entities import build_entity
    from openfisca_core.parameters import ParameterNode
    from openfisca_core.periods import DateUnit
    from openfisca_core.taxbenefitsystems import TaxBenefitSystem
    from openfisca_core.variables import Variable

    from yibao.adapters.parameter_files import load_region

    rules = load_region(region).serious_illness
    assert rules is not None
    from datetime import date

    day = date(YEAR, 12, 31)
    start = f"{YEAR}-01-01"
    brackets = [
        {"threshold": {start: {"value": float(b.lower)}}, "rate": {start: {"value": float(b.rate)}}}
        for b in rules.scale.at(day).value.brackets
    ]
    top_line = rules.top_line.at(day).value  # None: no top line, as in yibao.batch.yearly
    person = build_entity(key="person", plural="persons", label="An insured person", is_person=True)
    system = TaxBenefitSystem([person])

    # openfisca_core.variables has no py.typed (Any to mypy: pyproject's overrides), so
    # subclassing its Variable is misc under --strict.
    class si_base(Variable):  # type: ignore[misc]  # noqa: N801 - OpenFisca names variables in snake case
        value_type = float
        entity = person
        definition_period = DateUnit.YEAR
        label = "The year's eligible cost less basic, assistance and institution payments"

    class si_covered(Variable):  # type: ignore[misc]  # noqa: N801
        value_type = bool
        entity = person
        definition_period = DateUnit.YEAR
        label = "The person's scheme is covered by serious-illness insurance"

    class serious_illness(Variable):  # type: ignore[misc]  # noqa: N801
        value_type = float
        entity = person
        definition_period = DateUnit.YEAR
        label = "Serious-illness insurance payment of the year"

        # OpenFisca calls it unbound, with its population, period and parameters (all
        # of them untyped objects of OpenFisca's): the first is no `self`.
        def formula(person: Any, period: Any, parameters: Any) -> Any:  # noqa: N805
            p = parameters(period.stop).serious_illness  # in force on 31 December
            base = person("si_base", period)
            paid = np.minimum(p.scale.calc(base), p.top_line)
            return np.where(person("si_covered", period), np.round(paid, 2), 0)

    system.add_variables(si_base, si_covered, serious_illness)
    system.parameters = ParameterNode(
        "",
        data={
            "serious_illness": {
                "scale": {"brackets": brackets},
                "top_line": {
                    "values": {start: {"value": inf if top_line is None else float(top_line)}}
                },
            }
        },
    )
    covered = sorted(rules.schemes.at(day).value)
    return system, covered


def openfisca_layer(region: str, inputs: pl.DataFrame, one: int) -> tuple[Any, float]:
    """OpenFisca's serious-illness payments (yuan, its own float type) of the persons in
    `inputs` (si_base in fen x `one`, scheme), and the seconds its simulation took (built,
    inputs set, formula calculated). bench/columnar.py --openfisca calls it too."""
    from openfisca_core.simulations import SimulationBuilder

    system, covered = openfisca_system(region)
    base_yuan = (inputs.get_column("si_base").cast(pl.Float64) / (100 * one)).to_numpy()
    is_covered = inputs.get_column("scheme").is_in(covered).to_numpy()
    started = time.perf_counter()
    simulation = SimulationBuilder().build_default_simulation(system, count=inputs.height)
    simulation.set_input("si_base", str(YEAR), base_yuan)
    simulation.set_input("si_covered", str(YEAR), is_covered)
    theirs = simulation.calculate("serious_illness", str(YEAR))
    return theirs, time.perf_counter() - started


def run_openfisca(args: argparse.Namespace) -> None:
    import numpy as np

    from yibao.adapters.parameter_files import load_region
    from yibao.batch.yearly import serious_illness_layer

    frame, places, encounters, prepared = accumulators(args.persons, args.seed, args.region)
    one = 10**places
    inputs = si_input(frame, one)
    policy = load_region(args.region)
    console = Console(width=150)
    console.print(
        f"{args.persons:,} persons ({encounters:,} encounters of {args.region} {YEAR}) "
        f"generated and settled in {prepared:.1f} s (not timed)"
    )

    started = time.perf_counter()
    ours = serious_illness_layer(policy, YEAR, inputs, one)
    columnar_s = time.perf_counter() - started

    theirs, openfisca_s = openfisca_layer(args.region, inputs, one)
    their_fen = np.rint(theirs.astype(np.float64) * 100).astype(np.int64)
    our_fen = ours.get_column("serious_illness").to_numpy()
    differ = int((their_fen != our_fen).sum())
    largest = int(np.abs(their_fen - our_fen).max()) if len(our_fen) else 0
    paid = int(our_fen.sum())
    rows = [
        ("columnar (Polars, exact fen)", columnar_s, paid),
        (
            f"OpenFisca {_version('openfisca-core')} ({theirs.dtype})",
            openfisca_s,
            int(their_fen.sum()),
        ),
    ]
    table = Table(title=f"serious-illness layer of {inputs.height:,} persons, same process")
    for col in ("engine", "persons", "seconds", "persons/s", "µs/person", "paid (yuan)"):
        table.add_column(col, justify="right")
    for name, seconds, total in rows:
        table.add_row(
            name,
            f"{inputs.height:,}",
            f"{seconds:.3f}",
            f"{inputs.height / seconds:,.0f}",
            f"{seconds / inputs.height * 1e6:.3f}",
            f"{total / 100:,.2f}",
        )
    console.print(table)
    console.print(
        f"persons whose payment differs: {differ:,} (largest difference {largest} fen); "
        f"peak RSS of the process {peak_mib():,.0f} MiB"
    )
    _append(
        [
            ("si-columnar", inputs.height, encounters, columnar_s),
            ("si-openfisca", inputs.height, encounters, openfisca_s),
        ]
    )


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


# --- PostgreSQL ------------------------------------------------------------------------

STAGING = """
CREATE TABLE si_accumulators (
    person bigint PRIMARY KEY,
    region text NOT NULL,
    year smallint NOT NULL,
    scheme text NOT NULL,
    eligible numeric(20, {scale}) NOT NULL,
    basic numeric(16, 2) NOT NULL,
    assistance numeric(16, 2) NOT NULL,
    institution numeric(16, 2) NOT NULL,
    personal numeric(16, 2) NOT NULL
);
CREATE TABLE si_results (
    person bigint PRIMARY KEY,
    year smallint NOT NULL,
    serious_illness numeric(16, 2) NOT NULL,
    personal numeric(16, 2) NOT NULL
);
"""


def _yuan_text(column: str, scale: int) -> pl.Expr:
    """An integer column in units of 10**-scale yuan as exact decimal text."""
    value = pl.col(column)
    unit = 10**scale
    return pl.concat_str(
        (value // unit).cast(pl.String),
        pl.lit("."),
        (value % unit).cast(pl.String).str.zfill(scale),
    ).alias(column)


def _exact(column: str, scale: int) -> pl.Expr:
    """Decimal text with exactly `scale` places (as PostgreSQL prints numeric(p, scale)) to
    the integer in units of 10**-scale."""
    return pl.col(column).str.replace(".", "", literal=True).cast(pl.Int64).alias(column)


def run_postgres(args: argparse.Namespace) -> None:
    import psycopg

    frame, places, encounters, prepared = accumulators(args.persons, args.seed, args.region)
    scale = 2 + places
    console = Console(width=150)
    console.print(
        f"{args.persons:,} persons ({encounters:,} encounters of {args.region} {YEAR}) "
        f"generated and settled in {prepared:.1f} s (not timed)"
    )
    database = f"yibao_bench_si_{os.getpid()}"
    with psycopg.connect(PG, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    try:
        started = time.perf_counter()
        text = frame.select(
            "person",
            pl.lit(args.region).alias("region"),
            pl.lit(YEAR).alias("year"),
            "scheme",
            _yuan_text("eligible", scale),
            *(_yuan_text(c, 2) for c in ("basic", "assistance", "institution", "personal")),
        )
        buffer = io.BytesIO()
        text.write_csv(buffer, include_header=False)
        with psycopg.connect(PG, dbname=database) as conn:
            conn.execute(STAGING.format(scale=scale))
            with conn.cursor().copy("COPY si_accumulators FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
            conn.execute("ANALYZE si_accumulators")
        loaded = time.perf_counter() - started
        del text, buffer
        from yibao.adapters.parameter_files import load_region
        from yibao.batch.yearly import serious_illness_layer

        expected = int(frame.get_column("personal").sum())
        one = 10**places
        in_memory = serious_illness_layer(load_region(args.region), YEAR, si_input(frame, one), one)
        expected_paid = int(in_memory.get_column("serious_illness").sum())
        del frame, in_memory
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "postgres-child",
                "--database",
                database,
                "--region",
                args.region,
                "--places",
                str(places),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        child: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        with psycopg.connect(PG, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    assert child["personal_before"] == expected, "the accumulators did not round-trip"
    assert child["paid"] == expected_paid, "not the payments settled in memory"
    table = Table(
        title=f"yearly serious-illness settlement of {child['persons']:,} persons from PostgreSQL"
    )
    for col in ("step", "seconds"):
        table.add_column(col, justify="right")
    table.add_row("COPY the accumulators in (setup)", f"{loaded:.2f}")
    table.add_row("read back (COPY to Polars, exact)", f"{child['read']:.2f}")
    table.add_row("settle the serious-illness layer", f"{child['settle']:.2f}")
    table.add_row("write the payments back (COPY)", f"{child['write']:.2f}")
    table.add_row("read + settle + write", f"{child['seconds']:.2f}")
    console.print(table)
    console.print(
        f"paid {child['paid'] / 100:,.2f} yuan to {child['payees']:,} persons; "
        f"peak RSS of the settling process {child['peak_mib']:,.0f} MiB "
        f"(after reading {child['peaks']['read']:,.0f}, after settling "
        f"{child['peaks']['settle']:,.0f}); "
        f"scratch database {database} dropped"
    )
    _append([("si-postgres", child["persons"], encounters, child["seconds"])])


def postgres_child(args: argparse.Namespace) -> None:
    import psycopg

    from yibao.adapters.parameter_files import load_region
    from yibao.batch.yearly import serious_illness_layer

    policy = load_region(args.region)
    places = args.places
    one = 10**places
    started = time.perf_counter()
    buffer = io.BytesIO()
    with psycopg.connect(PG, dbname=args.database) as conn:
        query = (
            "COPY (SELECT person, scheme, eligible, basic, assistance, institution, personal "
            "FROM si_accumulators WHERE region = %s AND year = %s) TO STDOUT WITH (FORMAT csv)"
        )
        with conn.cursor().copy(query, (args.region, YEAR)) as copy:
            for block in copy:
                buffer.write(block)
    columns = ["person", "scheme", "eligible", "basic", "assistance", "institution", "personal"]
    frame = pl.read_csv(
        buffer.getvalue(),
        has_header=False,
        new_columns=columns,
        schema_overrides=dict.fromkeys(columns[2:], pl.String) | {"person": pl.Int64},
    ).with_columns(
        _exact("eligible", 2 + places),
        *(_exact(c, 2) for c in ("basic", "assistance", "institution", "personal")),
    )
    read = time.perf_counter() - started
    peaks = {"read": peak_mib()}
    started = time.perf_counter()
    settled = serious_illness_layer(policy, YEAR, si_input(frame, one), one)
    settle_s = time.perf_counter() - started
    peaks["settle"] = peak_mib()
    started = time.perf_counter()
    out = io.BytesIO()
    settled.select(
        "person",
        pl.lit(YEAR).alias("year"),
        _yuan_text("serious_illness", 2),
        _yuan_text("personal", 2),
    ).write_csv(out, include_header=False)
    with psycopg.connect(PG, dbname=args.database) as conn:
        with conn.cursor().copy("COPY si_results FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(out.getvalue())
        stored = conn.execute("SELECT count(*) FROM si_results").fetchone()
    write = time.perf_counter() - started
    assert stored is not None
    assert stored[0] == settled.height
    payments = settled.get_column("serious_illness")
    print(
        json.dumps(
            {
                "persons": settled.height,
                "read": read,
                "settle": settle_s,
                "write": write,
                "seconds": read + settle_s + write,
                "paid": int(payments.sum()),
                "payees": int((payments > 0).sum()),
                "personal_before": int(frame.get_column("personal").sum()),
                "peak_mib": peak_mib(),
                "peaks": peaks,
            }
        )
    )


# --- results ---------------------------------------------------------------------------


def _append(rows: list[tuple[str, int, int, float]]) -> None:
    path = Path(__file__).with_name("results.csv")
    with path.open("a", newline="") as fh:
        writer = csv.writer(fh)
        for bench, persons, encounters, seconds in rows:
            writer.writerow(
                [
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    bench,
                    platform.node(),
                    persons,
                    encounters,
                    f"{seconds:.2f}",
                    f"{encounters / seconds:.0f}",
                ]
            )


def _unsupported(region: str) -> str | None:
    """Why this bench cannot compare `region`'s layer, in words (None: it can). Its
    accumulators carry each person's scheme only, and its OpenFisca model has one scale
    and top line: a layer whose tables depend on more (river-county's, by the person's
    category) would fail deep in Polars with a missing column."""
    from yibao.adapters.parameter_files import load_region
    from yibao.batch.yearly import layer_dims

    rules = load_region(region).serious_illness
    if rules is None:
        return f"{region} has no serious-illness layer"
    dims = layer_dims(rules)
    if dims:
        return (
            f"{region}'s serious-illness layer depends on the person's {', '.join(sorted(dims))}, "
            "which this bench does not generate (try sample-city or hill-county)"
        )
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=("openfisca", "postgres", "postgres-child"))
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--region", default="sample-city")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--places", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    refused = _unsupported(args.region)
    if refused:
        parser.error(refused)
    {"openfisca": run_openfisca, "postgres": run_postgres, "postgres-child": postgres_child}[
        args.what
    ](args)


if __name__ == "__main__":
    main()
