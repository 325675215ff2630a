"""yibao school ...: school batch enrolment from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import TaskID
from sqlalchemy.engine import Engine

from yibao.domain.access import Principal
from yibao.entrypoints.cli_common import open_services
from yibao.entrypoints.cli_server import (
    DatabaseOpt,
    database_errors,
    fail,
    progress_bar,
    settings_for,
)
from yibao.service.errors import ServiceError
from yibao.service.services import Services

app = typer.Typer(no_args_is_help=True, help="School batch enrolment.")

ActorOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        envvar="YIBAO_ACTOR",
        help="Act as this account (default: the operator, a clerk of every region).",
    ),
]
SHOWN_ERRORS = 20


def _open(database: str | None, actor: str | None) -> tuple[Engine, Services, Principal]:
    return open_services(database, actor)


@app.command("add")
def add(
    school_id: Annotated[str, typer.Option("--id", help="The school's id, e.g. S-0101.")],
    name: Annotated[str, typer.Option(help="The school's name.")],
    region: Annotated[str, typer.Option(help="The region the school is in.")],
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Register a school (then make its account: yibao account add --role school)."""
    with database_errors(settings_for(database)):
        _, built, who = _open(database, actor)
        try:
            school = built.schools.add_school(who, school_id, name, region)
        except ServiceError as exc:
            raise fail(exc) from None
    typer.echo(f"school {school['id']} ({school['name']}) in {school['region']}")


@app.command("template")
def template(
    out: Annotated[Path, typer.Option("--out", help="Where to write the template.")],
    kind: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
) -> None:
    """Write the class list template (the header row and an example row to delete)."""
    from yibao.service.schools import SchoolsService

    try:
        content = SchoolsService.template(kind)
    except ServiceError as exc:
        raise fail(exc) from None
    try:
        out.write_bytes(content)
    except OSError as exc:
        typer.echo(f"error: --out {out}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {out}")


@app.command("import")
def import_list(
    file: Annotated[Path, typer.Argument(help="The class list: .csv or .xlsx.")],
    school: Annotated[str, typer.Option(help="The school's id.")],
    year: Annotated[int, typer.Option(min=2000, max=2100, help="The coverage year.")],
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Check every row of a class list and store it if all pass; otherwise print each
    bad row with its reason (the first ones and a count), store nothing, and exit 2."""
    try:
        content = file.read_bytes()
    except OSError as exc:
        typer.echo(f"error: {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    with database_errors(settings_for(database)):
        _, built, who = _open(database, actor)
        with progress_bar() as bar:
            tasks: dict[str, TaskID] = {}

            def progress(done: int, total: int, stage: str) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            try:
                report = built.schools.upload(
                    who, school, year, file.name, content, progress=progress
                )
            except ServiceError as exc:
                raise fail(exc) from None
    if report["ok"]:
        batch = report["batch"]
        typer.echo(
            f"batch {batch['id']}: {report['rows']} rows of {file.name} imported for {school}, "
            f"{year}; guardians may now declare them"
        )
        return
    for error in report["errors"][:SHOWN_ERRORS]:
        typer.echo(
            f"row {error['row']}: {error['field']}: {error['reason']}"
            + (f" ({error['id_number']})" if error["id_number"] else ""),
            err=True,
        )
    more = len(report["errors"]) - SHOWN_ERRORS
    if more > 0:
        typer.echo(f"... and {more} more errors", err=True)
    typer.echo(f"error: {report['message']}", err=True)
    raise typer.Exit(2)


@app.command("declare")
def declare(
    batch: Annotated[int, typer.Argument(help="The batch (class list) id.")],
    row: Annotated[int, typer.Argument(help="The row's number in the file (header is 1).")],
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Record a guardian's declaration made on paper at the agency (online, guardians
    declare themselves)."""
    with database_errors(settings_for(database)):
        _, built, who = _open(database, actor)
        try:
            answer = built.schools.declare(who, batch, row)
        except ServiceError as exc:
            raise fail(exc) from None
    typer.echo(f"batch {batch} row {row}: {answer['status']}")


@app.command("submit")
def submit(
    batch: Annotated[int, typer.Argument(help="The batch (class list) id.")],
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """The school submits its declared rows to the agency (as the school's account)."""
    with database_errors(settings_for(database)):
        _, built, who = _open(database, actor)
        try:
            answer = built.schools.submit(who, batch)
        except ServiceError as exc:
            raise fail(exc) from None
    typer.echo(
        f"batch {batch}: {len(answer['submitted'])} rows submitted; "
        f"{len(answer['not_declared'])} not declared yet"
    )


@app.command("correct")
def correct(
    batch: Annotated[int, typer.Argument(help="The batch (class list) id.")],
    row: Annotated[int, typer.Argument(help="The row's number in the file (header is 1).")],
    id_number: Annotated[str, typer.Option(help="The pupil's resident ID number.")],
    name: Annotated[str, typer.Option(help="The pupil's name.")],
    guardian_phone: Annotated[str, typer.Option(help="The guardian's mobile number.")],
    class_name: Annotated[str, typer.Option("--class", help="The class.")] = "",
    guardian_name: Annotated[str, typer.Option(help="The guardian's name.")] = "",
    assistance: Annotated[
        bool, typer.Option(help="A low-income or special-hardship family.")
    ] = False,
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """The school corrects a returned row (or one not yet submitted): checked as in an
    upload; the guardian declares it again."""
    cells = {
        "id_number": id_number,
        "name": name,
        "class_name": class_name,
        "guardian_name": guardian_name,
        "guardian_phone": guardian_phone,
        "assistance": "1" if assistance else "0",
    }
    with database_errors(settings_for(database)):
        _, built, who = _open(database, actor)
        try:
            answer = built.schools.correct(who, batch, row, cells)
        except ServiceError as exc:
            raise fail(exc) from None
    typer.echo(f"batch {batch} row {row}: corrected, {answer['status']}")


def _return(raw: str) -> tuple[int, str]:
    row, sep, reason = raw.partition("=")
    if not sep or not row.strip().isdigit() or not reason.strip():
        raise typer.BadParameter(f"{raw!r}: write ROW=REASON, such as 4=班级填写错误")
    return int(row), reason.strip()


@app.command("review")
def review(
    batch: Annotated[int, typer.Argument(help="The batch (class list) id.")],
    accept: Annotated[
        list[int] | None, typer.Option("--accept", help="A row to accept (repeat).")
    ] = None,
    returns: Annotated[
        list[str] | None,
        typer.Option("--return", help="A row to return with its reason: ROW=REASON (repeat)."),
    ] = None,
    accept_all: Annotated[
        bool, typer.Option("--accept-all", help="Accept every submitted row not returned.")
    ] = False,
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """The agency's review of a submitted class list: accepted pupils are registered and
    enrolled through the school (pending until the premium is collected); returned rows
    go back to the school with the reason. All or nothing."""
    returned = [_return(r) for r in returns or []]
    if not (accept or returned or accept_all):
        typer.echo("error: say --accept ROW, --return ROW=REASON or --accept-all", err=True)
        raise typer.Exit(2)
    with database_errors(settings_for(database)):
        _, built, who = _open(database, actor)
        with progress_bar() as bar:
            task = bar.add_task("accepting", total=None)
            try:
                answer = built.schools.review(
                    who,
                    batch,
                    accept=accept or [],
                    returns=returned,
                    accept_all=accept_all,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
            except ServiceError as exc:
                raise fail(exc) from None
    counts = answer["batch"]["counts"]
    typer.echo(
        f"batch {batch}: {len(answer['accepted'])} rows accepted and enrolled, "
        f"{len(answer['returned'])} returned; "
        f"{counts['imported'] + counts['declared']} not yet submitted"
    )


def register(root: typer.Typer) -> None:
    """Add this module's commands to the `yibao` command."""
    root.add_typer(app, name="school")
