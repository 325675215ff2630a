"""Commands of the batch engine, registered by `yibao.entrypoints.cli`:

    yibao demo generate --persons N --year Y --seed S --region R --out DIR
    yibao batch settle DIR [--policies DIR] [--out FILE.parquet]

Errors are one line on stderr and exit code 2, as every yibao command.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from yibao.adapters.parameter_files import PolicyError, load_region, search_path
from yibao.domain.money import fmt_yuan, from_fen
from yibao.domain.parameters import PolicyGapError

batch_app = typer.Typer(no_args_is_help=True, help="Settle whole region-years (columnar).")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def generate(
    out: Annotated[Path, typer.Option(help="Folder for persons.parquet and encounters.parquet.")],
    persons: Annotated[int, typer.Option(min=1, help="How many insured persons.")] = 10_000,
    year: Annotated[int, typer.Option(help="The settlement year.")] = 2026,
    seed: Annotated[int, typer.Option(help="The same seed makes the same region-year.")] = 1,
    region: Annotated[str, typer.Option(help="The pooling region.")] = "sample-city",
    policies: Annotated[
        list[Path] | None, typer.Option(help="Folders of regions searched first.")
    ] = None,
) -> None:
    """Write a synthetic region-year (persons and their bills) to Parquet."""
    from yibao.batch.generate import generate as make

    try:
        data = make(persons, year, seed, region, [*(policies or []), *search_path()])
    except (PolicyError, PolicyGapError) as exc:
        raise _fail(str(exc)) from None
    data.write(out)
    typer.echo(
        f"{data.persons.height:,} persons, {data.encounters.height:,} encounters "
        f"of {region} {year} written to {out}"
    )


@batch_app.command("settle")
def settle(
    folder: Annotated[Path, typer.Argument(help="A folder written by `yibao demo generate`.")],
    policies: Annotated[
        list[Path] | None, typer.Option(help="Folders of regions searched first.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write every encounter's split to this Parquet file.")
    ] = None,
) -> None:
    """Settle a whole region-year with the columnar engine and print its totals by route."""
    import polars as pl  # here, so that other yibao commands do not load it

    from yibao.batch.columnar import settle as settle_columnar
    from yibao.batch.frames import read_region_year
    from yibao.batch.params import UnsupportedError

    started = time.perf_counter()
    try:
        data = read_region_year(folder)
        result = settle_columnar(
            load_region(data.region, [*(policies or []), *search_path()]), data
        )
    except UnsupportedError as exc:
        raise _fail(f"not supported by the columnar engine: {exc}") from None
    except (OSError, ValueError, PolicyGapError) as exc:  # PolicyError, InputError too
        raise _fail(str(exc)) from None
    seconds = time.perf_counter() - started
    layers = ("total", "basic", "assistance", "institution", "personal")
    by_route = (
        result.encounters.group_by("route")
        .agg(pl.len().alias("encounters"), *(pl.col(c).sum() for c in layers))
        .sort("route")
    )
    table = Table(title=f"{data.region} {data.year}: {result.encounters.height:,} encounters")
    for column in ("route", "encounters", *layers):
        table.add_column(column, justify="right")
    for row in by_route.iter_rows(named=True):
        table.add_row(
            row["route"],
            f"{row['encounters']:,}",
            *(fmt_yuan(from_fen(row[c])) for c in layers),
        )
    console = Console()
    console.print(table)
    si = int(result.persons.get_column("serious_illness").sum())
    console.print(
        f"serious illness: {fmt_yuan(from_fen(si))} for {result.persons.height:,} persons"
    )
    console.print(f"settled in {seconds:.2f} s")
    if out is not None:
        result.encounters.write_parquet(out)
