"""yibao clearing run|list|show|confirm|pay|export|balances: the monthly clearing between
regions (reference §9), through the same service as the API. Answers are JSON on stdout;
a refusal is one line `error: ...` on stderr and exit code 2."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from yibao.entrypoints.cli_common import ActingAs, session
from yibao.entrypoints.cli_server import DatabaseOpt

app = typer.Typer(no_args_is_help=True, help="Monthly clearing between regions.")

Month = Annotated[str, typer.Option("--month", help="The month, YYYY-MM.")]


class Format(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


def _echo(answer: Any) -> None:
    typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))


@app.command("run")
def run(month: Month, actor: ActingAs = None, database: DatabaseOpt = None) -> None:
    """Clear a month that is over: a statement per pair of regions of every settlement,
    reversal and adjustment between them; running it again changes nothing."""
    with session(database, actor) as (built, who):
        _echo(built.clearing.run(month, who))


@app.command("list")
def list_(
    month: Annotated[str | None, typer.Option("--month", help="Only this month.")] = None,
    actor: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """The clearing statements (of the account's region)."""
    with session(database, actor) as (built, who):
        _echo(built.clearing.statements(who, month))


@app.command("show")
def show(clearing_id: int, actor: ActingAs = None, database: DatabaseOpt = None) -> None:
    """A statement with every movement on it."""
    with session(database, actor) as (built, who):
        _echo(built.clearing.statement(who, clearing_id))


@app.command("confirm")
def confirm(clearing_id: int, actor: ActingAs = None, database: DatabaseOpt = None) -> None:
    """The net payer's agency confirms the statement."""
    with session(database, actor) as (built, who):
        _echo(built.clearing.confirm(who, clearing_id))


@app.command("pay")
def pay(
    clearing_id: int,
    reference: Annotated[str, typer.Option(help="The bank transfer's reference.")],
    actor: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Record the net payment: the statement's receivables and payables close."""
    with session(database, actor) as (built, who):
        _echo(built.clearing.pay(who, clearing_id, reference))


@app.command("export")
def export(
    clearing_id: int,
    out: Annotated[Path, typer.Option("--out", help="The file to write.")],
    format_: Annotated[Format, typer.Option("--format", help="csv or xlsx.")] = Format.csv,
    actor: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """The statement as CSV or .xlsx."""
    with session(database, actor) as (built, who):
        data = built.clearing.export(who, clearing_id, format_.value)
    out.write_bytes(data)
    typer.echo(f"{out}: {len(data):,} bytes")


@app.command("balances")
def balances(actor: ActingAs = None, database: DatabaseOpt = None) -> None:
    """What each region's books hold open: receivables from and payables to each other."""
    with session(database, actor) as (built, who):
        _echo(built.clearing.balances(who))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="clearing")
