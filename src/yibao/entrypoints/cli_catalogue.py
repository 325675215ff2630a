"""yibao catalogue import|show|diff|map|unmap|mappings: the region's catalogues and the
institutions' code mappings, through the same service as the API. Answers are JSON on
stdout (the import: a row report); a refusal is one line `error: ...` on stderr and exit
code 2."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import TaskID

from yibao.adapters.catalogue_files import CatalogueFileError, read_catalogue
from yibao.entrypoints.cli_common import session
from yibao.entrypoints.cli_server import DatabaseOpt, progress_bar

app = typer.Typer(no_args_is_help=True, help="The catalogues and institutions' code mappings.")
SHOWN = 20

ActorOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        envvar="YIBAO_ACTOR",
        help="Act as this account (default: the operator, a clerk of every region).",
    ),
]
Day = Annotated[datetime, typer.Option(formats=["%Y-%m-%d"])]


class Book(StrEnum):
    drug = "drug"
    service = "service"
    consumable = "consumable"


def _echo(answer: Any) -> None:
    typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="A catalogue file in the national layout (CSV).")],
    region: Annotated[str, typer.Option(help="The region whose catalogue it is.")],
    catalogue: Annotated[Book, typer.Option(help="Which catalogue the file is.")],
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Check every row; store the new dated entries only if no row has a problem (then
    print each problem by row and field, and exit 2)."""
    try:
        parsed = read_catalogue(file.read_bytes(), catalogue.value, file.name)
    except OSError as exc:
        typer.echo(f"error: {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    except CatalogueFileError as exc:
        typer.echo(f"error: {file}: {exc}", err=True)
        raise typer.Exit(2) from None
    with session(database, actor) as (built, who), progress_bar() as bar:
        task: list[TaskID] = []

        def progress(done: int, total: int) -> None:
            if not task:
                task.append(bar.add_task("entries", total=total))
            bar.update(task[0], completed=done, total=total)

        report = built.catalogue.import_file(who, region, parsed, progress)
    if report.stored:
        typer.echo(
            f"{file.name}: {report.rows} rows, {len(report.added)} entries added "
            f"({sum(1 for a in report.added if a['as'] == 'update')} of them dated updates), "
            f"{len(report.unchanged)} unchanged"
        )
        return
    for problem in report.problems[:SHOWN]:
        typer.echo(
            f"row {problem['row']}: {problem['field']}: {problem['reason']} ({problem['code']})",
            err=True,
        )
    if len(report.problems) > SHOWN:
        typer.echo(f"... and {len(report.problems) - SHOWN} more problems", err=True)
    typer.echo(f"{file.name}: nothing stored", err=True)
    raise typer.Exit(2)


@app.command("show")
def show(
    region: Annotated[str, typer.Argument(help="The region.")],
    code: Annotated[str | None, typer.Option(help="One code: its whole history.")] = None,
    on: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Only what is in force on the day."),
    ] = None,
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """The region's dated catalogue entries."""
    day = None if on is None else on.date()
    with session(database, actor) as (built, who):
        _echo(built.catalogue.show(who, region, day, code))


@app.command("diff")
def diff(
    region: Annotated[str, typer.Argument(help="The region.")],
    before: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"])],
    after: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"])],
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """What was added, removed and changed between the entries in force on two days."""
    with session(database, actor) as (built, who):
        _echo(built.catalogue.diff(who, region, before.date(), after.date()))


@app.command("map")
def map_code(
    institution: Annotated[str, typer.Argument(help="The institution's id.")],
    own_code: Annotated[str, typer.Argument(help="The institution's own item code.")],
    national_code: Annotated[str, typer.Argument(help="The national catalogue code.")],
    valid_from: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"])],
    valid_to: Annotated[datetime | None, typer.Option("--to", formats=["%Y-%m-%d"])] = None,
    name: Annotated[str | None, typer.Option(help="The institution's name for it.")] = None,
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Map an institution's own code to a national code from a day (3301)."""
    end: date | None = None if valid_to is None else valid_to.date()
    with session(database, actor) as (built, who):
        _echo(
            built.catalogue.map_code(
                who, institution, own_code, national_code, valid_from.date(), end, name
            )
        )


@app.command("unmap")
def unmap_code(
    institution: Annotated[str, typer.Argument(help="The institution's id.")],
    own_code: Annotated[str, typer.Argument(help="The institution's own item code.")],
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Cancel an institution's mapping of its own code (3302)."""
    with session(database, actor) as (built, who):
        _echo(built.catalogue.unmap_code(who, institution, own_code))


@app.command("mappings")
def mappings(
    institution: Annotated[str, typer.Argument(help="The institution's id.")],
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """An institution's code mappings, cancelled ones included."""
    with session(database, actor) as (built, who):
        _echo(built.catalogue.mappings(who, institution))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="catalogue")
