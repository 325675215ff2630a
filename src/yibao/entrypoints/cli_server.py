"""The `yibao` commands that work on a database: db upgrade, serve, demo load,
settle-year, verify. The database is YIBAO_DATABASE_URL (default: an SQLite file)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from yibao.adapters.db.migrate import upgrade
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import engine_from, policy_source, secret_from
from yibao.service.errors import ServiceError
from yibao.settings import Settings

logger = logging.getLogger("yibao.serve")

db_app = typer.Typer(no_args_is_help=True, help="The database.")
demo_app = typer.Typer(no_args_is_help=True, help="Demo data.")

DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database", help="A database URL; default YIBAO_DATABASE_URL or var/yibao.sqlite3."
    ),
]


def settings_for(database: str | None) -> Settings:
    if database:
        os.environ["YIBAO_DATABASE_URL"] = database  # a server's workers read it too
    return Settings()


def progress_bar() -> Progress:
    """A progress bar on a terminal; nothing at all when the output goes to a file or a pipe."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        disable=not Console(stderr=True).is_terminal,
        console=Console(stderr=True),
    )


def fail(exc: ServiceError) -> typer.Exit:
    typer.echo(f"error: {exc.message}", err=True)
    return typer.Exit(2)


@contextmanager
def database_errors(settings: Settings) -> Iterator[None]:
    """A database that cannot be reached or named is one line and exit 2, not a traceback."""
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        typer.echo(f"error: database {settings.database_url!r}: {reason}", err=True)
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade(database: DatabaseOpt = None) -> None:
    """Create or migrate the schema to the newest version."""
    settings = settings_for(database)
    with database_errors(settings):
        upgrade(engine_from(settings))
    typer.echo(f"database at the newest schema: {settings.database_url}")


@demo_app.command("load")
def demo_load(
    database: DatabaseOpt = None,
    region: Annotated[str, typer.Option(help="The region to fill.")] = "sample-city",
    persons: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="How many insured persons.")
    ] = 3000,
    seed: Annotated[int, typer.Option(help="The same seed makes the same region.")] = 1,
    bills: Annotated[
        int, typer.Option(min=0, help="Bills of the year to settle for the demo's persons.")
    ] = 400,
) -> None:
    """Fill a region with institutions, a catalogue and insured persons, and settle a
    year's first bills for them."""
    from yibao.service.demo import load_demo

    settings = settings_for(database)
    with database_errors(settings):
        engine = engine_from(settings)
        upgrade(engine)
        with progress_bar() as bar:
            task = bar.add_task("persons", total=persons)
            try:
                summary = load_demo(
                    lambda: UnitOfWork(engine),
                    policy_source(settings.policy_path),
                    region=region,
                    persons=persons,
                    seed=seed,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
            except ServiceError as exc:
                raise fail(exc) from None
        typer.echo(summary.describe())
        _demo_bills(engine, settings, region, bills)


def _demo_bills(engine: Engine, settings: Settings, region: str, count: int) -> None:
    from yibao.service.demo_bills import settle_demo_bills, settle_elsewhere_bills

    if count == 0:
        return
    with progress_bar() as bar:
        task = bar.add_task("demo bills", total=count)
        done = settle_demo_bills(
            lambda: UnitOfWork(engine),
            policy_source(settings.policy_path),
            region=region,
            count=count,
            progress=lambda n, total: bar.update(task, completed=n, total=total),
        )
    typer.echo(f"{done.settled} demo bills settled ({done.refused} refused by the rules)")
    elsewhere = settle_elsewhere_bills(
        lambda: UnitOfWork(engine), policy_source(settings.policy_path), region=region
    )
    typer.echo(f"{elsewhere.settled} stays in the neighbouring region's hospitals settled")


def settle_year(
    region: Annotated[str, typer.Option(help="The region.")],
    year: Annotated[int, typer.Option(help="The settlement year.")],
    database: DatabaseOpt = None,
) -> None:
    """Settle the residents' serious-illness layer of a region's year (idempotent, resumable)."""
    from yibao.service.yearly import person_years, settle_serious_illness

    settings = settings_for(database)
    with database_errors(settings):
        engine = engine_from(settings)
        total = person_years(lambda: UnitOfWork(engine), region, year)
        with progress_bar() as bar:
            task = bar.add_task(f"{region} {year}", total=total)
            summary = settle_serious_illness(
                lambda: UnitOfWork(engine),
                policy_source(settings.policy_path),
                region,
                year,
                progress=lambda n: bar.advance(task, n),
            )
        typer.echo(
            f"{summary.persons} person-years; {summary.changed} changed; booked {summary.paid:.2f} now; "
            f"the year's serious-illness payments stand at {summary.total:.2f}"
        )


def verify_command(
    year: Annotated[int | None, typer.Option(help="Only this year.")] = None,
    region: Annotated[str | None, typer.Option(help="Only this region.")] = None,
    funds: Annotated[bool, typer.Option(help="Print each fund's balance too.")] = False,
    database: DatabaseOpt = None,
) -> None:
    """Settle every stored person-year again and report each difference with what is
    stored (splits, accumulators, ledger); check the money between regions (receivables
    and payables, clearings, each fund's balance); exit 1 if there is any."""
    from yibao.service.verify import verify

    settings = settings_for(database)
    with database_errors(settings):
        engine = engine_from(settings)
        with progress_bar() as bar:
            task = bar.add_task("person-years", total=None)
            report = verify(
                lambda: UnitOfWork(engine),
                policy_source(settings.policy_path),
                year=year,
                region=region,
                progress=lambda n: bar.advance(task, n),
            )
        for line in report.problems:
            typer.echo(line)
        for fund in report.funds if funds else ():
            typer.echo(fund.describe())
        typer.echo(
            f"{report.person_years} person-years, {report.settlements} settlements, {len(report.problems)} problems"
        )
        if report.problems:
            raise typer.Exit(1)


def serve(
    database: DatabaseOpt = None,
    host: Annotated[str | None, typer.Option(help="Default YIBAO_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Default YIBAO_PORT or 8000.")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Server processes; default YIBAO_WORKERS, or 2 on PostgreSQL, 1 on SQLite."
        ),
    ] = None,
    demo: Annotated[bool, typer.Option(help="Load the demo region first if it is empty.")] = False,
) -> None:
    """Run the HTTP API, the member app (/app) and the staff console (/console)."""
    from yibao.service.demo import has_persons, load_demo

    settings = settings_for(database)
    with database_errors(settings):
        engine = engine_from(settings)
        upgrade(engine)
        secret_from(settings)  # made once here, before the workers read it
        if demo and not has_persons(lambda: UnitOfWork(engine), "sample-city"):
            typer.echo("loading the demo region sample-city ...")
            summary = load_demo(lambda: UnitOfWork(engine), policy_source(settings.policy_path))
            typer.echo(summary.describe())
            _demo_bills(engine, settings, "sample-city", 400)
        engine.dispose()
    _run_server(
        host or settings.host, port or settings.port, workers or settings.server_workers(), settings
    )


def uvicorn_options(host: str, port: int) -> dict[str, Any]:
    """What every server process's uvicorn is given, with one worker or several."""
    return {
        "app": "yibao.entrypoints.api.main:app_from_env",
        "factory": True,
        "host": host,
        "port": port,
        "log_level": "warning",
        # Not even the check of the access logger's level for each request: at "warning"
        # it never writes a line (docs/operations.md: the HTTP layer's cost).
        "access_log": False,
        # A complete settlement answered by the HTTP protocol itself, without ASGI; every
        # other request as uvicorn's httptools protocol answers it (api/protocol.py).
        "http": http_protocol(),
    }


# The uvicorn releases SettleProtocol was tested against (tests/integration/test_protocol.py
# compares its answers byte for byte with uvicorn's own). It subclasses uvicorn's httptools
# protocol and relies on its internals (the cycle's attributes, the pipeline queue,
# _start_asgi_task), which a release may change without notice: under any other release
# the server answers every request the ASGI way, slower but as uvicorn itself would.
SETTLE_PROTOCOL_UVICORN = ("0.55.",)


def http_protocol(version: str | None = None) -> str:
    """uvicorn's `http=` option: yibao's settlement protocol under a tested uvicorn."""
    if version is None:
        import uvicorn

        version = uvicorn.__version__
    if version.startswith(SETTLE_PROTOCOL_UVICORN):
        return "yibao.entrypoints.api.protocol:SettleProtocol"
    logger.warning(
        "uvicorn %s is not one the settlement protocol was tested with (%s): settlements "
        "go the ASGI way",
        version,
        ", ".join(v + "x" for v in SETTLE_PROTOCOL_UVICORN),
    )
    return "httptools"


def _run_server(host: str, port: int, workers: int, settings: Settings) -> None:
    import uvicorn

    from yibao.entrypoints.workers import Supervisor, reuse_port_supported

    options = uvicorn_options(host, port)
    if workers > 1:
        # A listening socket each: connections spread evenly over the workers; or, without
        # SO_REUSEPORT, one shared as uvicorn's own supervisor does (workers.py). Ours in
        # both cases: its workers die with it and count into the figures /healthz sums.
        reuse_port = settings.reuse_port and reuse_port_supported()
        try:
            served = Supervisor(options, workers, reuse_port=reuse_port).run()
        except OSError as exc:  # the address taken, or not this machine's
            typer.echo(f"cannot listen on {host}:{port}: {exc}", err=True)
            raise typer.Exit(1) from None
        if not served:
            raise typer.Exit(1)
        return
    uvicorn.run(**options)
