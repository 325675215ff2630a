"""Commands of the batch engine, registered by `yibao.entrypoints.cli`:

    yibao demo generate --persons N --year Y --seed S --region R [--out DIR] [--load]
        [--partitions N]
    yibao batch settle DIR [--policies DIR] [--out FILE.parquet] [--dask SCHEDULER]
    yibao batch load DIR [--database URL] [--policies DIR]
    yibao batch partition DIR --out DIR [--partitions N]
    yibao whatif --base REGION --change FILE.yaml --year Y [--data DIR | --persons N
        --seed S] [--chart FILE.svg] [--dask SCHEDULER]

Errors are one line on stderr and exit code 2, as every yibao command.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from yibao.adapters.parameter_files import PolicyError, load_region, search_path
from yibao.domain.money import fmt_yuan, from_fen
from yibao.domain.parameters import PolicyGapError
from yibao.entrypoints.cli_server import DatabaseOpt

batch_app = typer.Typer(no_args_is_help=True, help="Settle whole region-years (columnar).")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


if TYPE_CHECKING:
    from yibao.batch.cluster import PartSummary
    from yibao.batch.columnar import BatchResult
    from yibao.batch.frames import RegionYear
    from yibao.domain.parameters import RegionPolicy


def _settle(policy: RegionPolicy, data: RegionYear, dask: str | None) -> BatchResult:
    """The columnar engine here, or partitioned by person on a Dask scheduler."""
    if dask is None:
        from yibao.batch.columnar import settle

        return settle(policy, data)
    from yibao.batch.cluster import settle_distributed

    try:
        return settle_distributed(policy, data, dask)
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"Dask scheduler {dask}: {exc}") from None


def generate(
    out: Annotated[
        Path | None, typer.Option(help="Folder for persons.parquet and encounters.parquet.")
    ] = None,
    persons: Annotated[int, typer.Option(min=1, help="How many insured persons.")] = 10_000,
    year: Annotated[int, typer.Option(help="The settlement year.")] = 2026,
    seed: Annotated[int, typer.Option(help="The same seed makes the same region-year.")] = 1,
    region: Annotated[str, typer.Option(help="The pooling region.")] = "sample-city",
    policies: Annotated[
        list[Path] | None, typer.Option(help="Folders of regions searched first.")
    ] = None,
    load: Annotated[
        bool, typer.Option("--load", help="Load it into the database (see `yibao batch load`).")
    ] = False,
    database: DatabaseOpt = None,
    partitions: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Write a province under --out: this many partitions by person, 1M persons "
            "at a time (never whole in memory); `yibao batch settle` settles them.",
        ),
    ] = None,
) -> None:
    """Write a synthetic region-year (persons and their bills) to Parquet, or load it
    into the database, or both."""
    from yibao.batch.generate import generate as make

    if out is None and not load:
        raise _fail("give --out DIR, --load, or both")
    path = [*(policies or []), *search_path()]
    if partitions is not None:
        if out is None or load:
            raise _fail("--partitions writes partitions under --out, and cannot --load")
        _province(out, persons, year, seed, region, partitions, path)
        return
    try:
        data = make(persons, year, seed, region, path)
    except (PolicyError, PolicyGapError) as exc:
        raise _fail(str(exc)) from None
    where = "generated"
    if out is not None:
        data.write(out)
        where = f"written to {out}"
    typer.echo(
        f"{data.persons.height:,} persons, {data.encounters.height:,} encounters "
        f"of {region} {year} {where}"
    )
    if load:
        _load(data, load_region(region, path), database)


def _province(
    out: Path, persons: int, year: int, seed: int, region: str, partitions: int, path: list[Path]
) -> None:
    from yibao.batch.province import generate_partitioned

    try:
        layout = generate_partitioned(
            out,
            persons=persons,
            year=year,
            seed=seed,
            region=region,
            partitions=partitions,
            policy_path=path,
        )
    except (PolicyError, PolicyGapError, OSError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        f"{layout.persons:,} persons, {layout.encounters:,} encounters of {region} {year} "
        f"written to {out} in {partitions} partitions"
    )


@batch_app.command("load")
def load(
    folder: Annotated[Path, typer.Argument(help="A folder written by `yibao demo generate`.")],
    database: DatabaseOpt = None,
    policies: Annotated[
        list[Path] | None, typer.Option(help="Folders of regions searched first.")
    ] = None,
) -> None:
    """Load a region-year into the database: the registry it needs (region, institutions,
    persons, enrolments, cards, approvals, filings, referrals) and its bills as settled
    settlements, in one transaction. A region with persons enrolled for the year is refused."""
    from yibao.batch.frames import read_region_year

    try:
        data = read_region_year(folder)
        policy = load_region(data.region, [*(policies or []), *search_path()])
    except (OSError, ValueError, PolicyGapError) as exc:  # PolicyError too
        raise _fail(str(exc)) from None
    _load(data, policy, database)


def _load(data: RegionYear, policy: RegionPolicy, database: str | None) -> None:
    from yibao.adapters.db.migrate import upgrade
    from yibao.batch.load import EngineMismatchError, LoadError, load_region_year
    from yibao.bootstrap import engine_from
    from yibao.entrypoints.cli_server import database_errors, progress_bar, settings_for

    settings = settings_for(database)
    with database_errors(settings):
        engine = engine_from(settings)
        try:
            upgrade(engine)
            with progress_bar() as bar:
                task = bar.add_task(f"loading {data.region} {data.year}", total=data.persons.height)
                summary = load_region_year(
                    engine,
                    policy,
                    data,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
        except EngineMismatchError as exc:  # a bug, not bad input
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        except LoadError as exc:
            raise _fail(str(exc)) from None
        finally:
            engine.dispose()
    typer.echo(f"{summary.describe()} into {settings.database_url}")


def _by_route(data: RegionYear, result: BatchResult) -> Table:
    """The year's totals by route, a table."""
    import polars as pl

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
    return table


@batch_app.command("settle")
def settle(
    folder: Annotated[Path, typer.Argument(help="A folder written by `yibao demo generate`.")],
    policies: Annotated[
        list[Path] | None, typer.Option(help="Folders of regions searched first.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write every encounter's split to this Parquet file.")
    ] = None,
    dask: Annotated[
        str | None, typer.Option(help="Settle on this Dask scheduler (tcp://host:port).")
    ] = None,
) -> None:
    """Settle a whole region-year with the columnar engine and print its totals by route.

    A folder of partitions (`yibao batch partition`): each partition is settled on its own
    (one Dask task each with --dask) and its results written beside it."""
    from yibao.batch.frames import PERSONS_FILE, read_region_year
    from yibao.batch.params import UnsupportedError

    parts = sorted(p for p in folder.glob("part-*") if p.is_dir())
    if parts and not (folder / PERSONS_FILE).exists():
        if out is not None:
            raise _fail("--out: the results of partitions are written beside each partition")
        _settle_parts(parts, [*(policies or []), *search_path()], dask)
        return
    started = time.perf_counter()
    try:
        data = read_region_year(folder)
        result = _settle(load_region(data.region, [*(policies or []), *search_path()]), data, dask)
    except UnsupportedError as exc:
        raise _fail(f"not supported by the columnar engine: {exc}") from None
    except (OSError, ValueError, PolicyGapError) as exc:  # PolicyError, InputError too
        raise _fail(str(exc)) from None
    seconds = time.perf_counter() - started
    console = Console()
    console.print(_by_route(data, result))
    si = int(result.persons.get_column("serious_illness").sum())
    console.print(
        f"serious illness: {fmt_yuan(from_fen(si))} for {result.persons.height:,} persons"
    )
    console.print(f"settled in {seconds:.2f} s")
    if out is not None:
        result.encounters.write_parquet(out)


@batch_app.command("partition")
def partition(
    folder: Annotated[Path, typer.Argument(help="A folder written by `yibao demo generate`.")],
    out: Annotated[Path, typer.Option(help="Where to write the folders part-NNNNN.")],
    partitions: Annotated[int, typer.Option(min=1, help="How many partitions.")] = 8,
) -> None:
    """Cut a region-year by person into partitions, each a region-year folder of its own."""
    from yibao.batch.cluster import write_partitions
    from yibao.batch.frames import read_region_year

    try:
        data = read_region_year(folder)
        folders = write_partitions(data, out, partitions)
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        f"{data.persons.height:,} persons, {data.encounters.height:,} encounters of "
        f"{data.region} {data.year} in {len(folders)} partitions under {out}"
    )


def _settle_parts(parts: list[Path], path: list[Path], dask: str | None) -> None:
    """Settle partition folders, each task writing its results beside its input."""
    import polars as pl

    from yibao.batch.cluster import LAYERS, settle_part_to_files
    from yibao.batch.frames import ENCOUNTERS_FILE, PERSONS_FILE, frame_files
    from yibao.batch.params import UnsupportedError

    started = time.perf_counter()
    try:
        persons = pl.scan_parquet(frame_files(parts[0], PERSONS_FILE)).select("region")
        region = str(persons.head(1).collect()["region"][0])
        bills = pl.scan_parquet(frame_files(parts[0], ENCOUNTERS_FILE)).select("date")
        dates = bills.head(1).collect()["date"]
        year = dates[0].year if dates.len() else 0
        policy = load_region(region, path)
        summaries: list[PartSummary]
        if dask is None:
            summaries = [settle_part_to_files(policy, str(p)) for p in parts]
        else:
            summaries = _on_scheduler(policy, parts, dask)
    except UnsupportedError as exc:
        raise _fail(f"not supported by the columnar engine: {exc}") from None
    except (OSError, ValueError, IndexError, PolicyGapError) as exc:  # PolicyError too
        raise _fail(str(exc)) from None
    seconds = time.perf_counter() - started
    table = Table(title=f"{region} {year}: {len(parts)} partitions, results written beside each")
    for column in ("persons", "encounters", *LAYERS, "serious illness"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{sum(s.persons for s in summaries):,}",
        f"{sum(s.encounters for s in summaries):,}",
        *(fmt_yuan(from_fen(sum(getattr(s, c) for s in summaries))) for c in LAYERS),
        fmt_yuan(from_fen(sum(s.serious_illness for s in summaries))),
    )
    console = Console(width=140)
    console.print(table)
    console.print(f"settled in {seconds:.2f} s")


def _on_scheduler(policy: RegionPolicy, parts: list[Path], dask: str) -> list[PartSummary]:
    from distributed import Client

    from yibao.batch.cluster import settle_on_dask_to_files

    try:
        with Client(dask) as client:  # type: ignore[no-untyped-call]
            return settle_on_dask_to_files(policy, client, parts)
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"Dask scheduler {dask}: {exc}") from None


def whatif(
    change: Annotated[Path, typer.Option(help="The change file (YAML; see docs/batch.md).")],
    base: Annotated[str, typer.Option(help="The base region.")] = "sample-city",
    year: Annotated[int, typer.Option(help="The year to settle.")] = 2026,
    data: Annotated[
        Path | None, typer.Option(help="A region-year folder written by `yibao demo generate`.")
    ] = None,
    persons: Annotated[
        int, typer.Option(min=1, help="Without --data: generate this many persons.")
    ] = 10_000,
    seed: Annotated[int, typer.Option(help="Without --data: the generator's seed.")] = 1,
    chart: Annotated[Path | None, typer.Option(help="Write an SVG bar chart here.")] = None,
    policies: Annotated[
        list[Path] | None, typer.Option(help="Folders of regions searched first.")
    ] = None,
    dask: Annotated[
        str | None, typer.Option(help="Settle on this Dask scheduler (tcp://host:port).")
    ] = None,
) -> None:
    """Settle a year under the base policy and under a change; print what the change costs."""
    from yibao.batch.frames import read_region_year
    from yibao.batch.generate import generate as make
    from yibao.batch.params import UnsupportedError
    from yibao.batch.whatif import chart_svg, compare, load_change
    from yibao.batch.whatif_report import print_report

    path = [*(policies or []), *search_path()]
    started = time.perf_counter()
    try:
        changed = load_change(change, base, path)
        policy = load_region(base, path)
        region_year = read_region_year(data) if data else make(persons, year, seed, base, path)
        if region_year.region != base or (region_year.year not in (year, 0)):
            raise ValueError(
                f"{data}: a region-year of {region_year.region} {region_year.year}, "
                f"not {base} {year}"
            )
        a = _settle(policy, region_year, dask)
        b = _settle(changed.policy, region_year, dask)
    except UnsupportedError as exc:
        raise _fail(f"not supported by the columnar engine: {exc}") from None
    except (OSError, ValueError, PolicyGapError) as exc:  # WhatIfError, PolicyError too
        raise _fail(str(exc)) from None
    result = compare(region_year, a, b)
    seconds = time.perf_counter() - started
    console = Console(width=140)
    heading = (
        f"{changed.title} — {base} {year}: {region_year.persons.height:,} persons, "
        f"{region_year.encounters.height:,} encounters"
    )
    print_report(console, result, heading)
    if chart is not None:
        chart.write_text(chart_svg(result, changed.title), encoding="utf-8")
        console.print(f"chart written to {chart}")
    console.print(f"settled twice and compared in {seconds:.2f} s")
