"""yibao collection ... and yibao card ...: premium collection and cards.

Every command acts as the account named by --as (or YIBAO_ACTOR); without one, as the
operator at the machine (a clerk of every region)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from yibao.domain.access import Principal
from yibao.domain.collection import MAX_FILE_BYTES
from yibao.entrypoints.cli_common import ActingAs
from yibao.entrypoints.cli_common import session as common_session
from yibao.entrypoints.cli_server import (
    DatabaseOpt,
    progress_bar,
)
from yibao.service.cards import CardsService
from yibao.service.collection import CollectionService

app = typer.Typer(no_args_is_help=True, help="Premium collection.")
card_app = typer.Typer(no_args_is_help=True, help="Social-security cards.")

Region = Annotated[str, typer.Option(help="The region, e.g. sample-city.")]
Year = Annotated[int, typer.Option(min=2000, max=2100, help="The coverage year.")]


@contextmanager
def session(
    database: str | None, acting_as: str | None
) -> Iterator[tuple[CollectionService, Principal]]:
    """The collection service and who the command acts as (see cli_common.session)."""
    with common_session(database, acting_as) as (built, who):
        yield built.collection, who


@contextmanager
def card_session(
    database: str | None, acting_as: str | None
) -> Iterator[tuple[CardsService, Principal]]:
    """The card service and who the command acts as (see cli_common.session)."""
    with common_session(database, acting_as) as (built, who):
        yield built.cards, who


def _json(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@app.command("open")
def open_accounts(
    region: Region, year: Year, acting_as: ActingAs = None, database: DatabaseOpt = None
) -> None:
    """Open a collection account for every pending enrolment of the region's year."""
    with session(database, acting_as) as (service, who):
        r = service.open_accounts(who, region, year)
    typer.echo(
        f"{region} {year}: opened {r['opened']} accounts ({r['amount_due']} due), "
        f"{r['exempt']} exempt made active, {r['cards_ordered']} cards ordered; "
        f"accounts now: {r['accounts']['open']} open, {r['accounts']['paid']} paid, "
        f"{r['accounts']['exempt']} exempt"
    )


@app.command("export")
def export_accounts(
    region: Region,
    year: Year,
    out: Annotated[Path, typer.Option(help="The CSV file to write for the bank.")],
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Write the open accounts for the bank: account, amount, name."""
    with session(database, acting_as) as (service, who):
        text = service.export_accounts(who, region, year)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        typer.echo(f"error: {out}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{text.count(chr(10)) - 1} open accounts written to {out}")


def print_report(r: dict[str, Any]) -> None:
    typer.echo(f"import {r['id']} of {r['file_name']}: {r['lines']} lines")
    for outcome, n in r["counts"].items():
        if n:
            typer.echo(f"  {outcome:<20} {n:>7}")
    by_outcome: dict[str, list[dict[str, Any]]] = {}
    for line in r["report"]:
        by_outcome.setdefault(line["outcome"], []).append(line)
    for outcome, lines in by_outcome.items():
        typer.echo(f"{outcome}:")
        for line in lines:
            typer.echo(f"  {line['message']}")


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="The bank's result file (CSV).")],
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Import the bank's result file: account, amount, date, status. Prints the lines of
    every outcome; paid lines make their enrolment active and order the card."""
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            typer.echo(
                f"error: {file}: larger than {MAX_FILE_BYTES // 2**20} MB: split it", err=True
            )
            raise typer.Exit(2)
        data = file.read_bytes()
    except OSError as exc:
        typer.echo(f"error: {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    with session(database, acting_as) as (service, who), progress_bar() as bar:
        task = bar.add_task("lines", total=None)
        r = service.import_bank_file(
            who,
            file.name,
            data,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    print_report(r)


@app.command("show")
def show_import(
    import_id: Annotated[int, typer.Argument(help="The import's id.")],
    outcome: Annotated[str | None, typer.Option(help="Only the lines of this outcome.")] = None,
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """An imported file and every line's outcome."""
    with session(database, acting_as) as (service, who):
        r = service.bank_import(who, import_id, outcome)
    print_report(r)


@card_app.command("issue")
def issue(
    number: Annotated[str, typer.Argument(help="The card number.")],
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Hand an ordered card to its holder (active from today)."""
    with card_session(database, acting_as) as (service, who):
        c = service.issue_card(who, number)
    typer.echo(f"card {c['number']} issued on {c['issued_on']} to {c['person_id']}")


@card_app.command("lost")
def lost(
    number: Annotated[str, typer.Argument(help="The card number.")],
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Report an issued card lost: settlements by it are refused from now on."""
    with card_session(database, acting_as) as (service, who):
        c = service.report_loss(who, number)
    typer.echo(f"card {c['number']} reported lost on {c['lost_on']}")


@card_app.command("replace")
def replace(
    number: Annotated[str, typer.Argument(help="The lost card's number.")],
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Replace a lost card: a new number is ordered."""
    with card_session(database, acting_as) as (service, who):
        r = service.replace_card(who, number)
    new = r["new"]
    typer.echo(
        f"card {number} replaced by {new['number']}, ordered {new['ordered_on']}, due {new['due_on']}"
    )


@card_app.command("overdue")
def overdue(
    region: Region,
    limit: Annotated[int, typer.Option(min=1, max=5000, help="At most this many.")] = 500,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Ordered cards not issued by their due date, the longest overdue first."""
    with card_session(database, acting_as) as (service, who):
        r = service.overdue_cards(who, region, limit)
    if as_json:
        _json(r)
        return
    table = Table(title=f"{region}: cards overdue on {r['today']}")
    for column in ("card", "person", "name", "ordered", "due", "days overdue"):
        table.add_column(column, justify="right" if column == "days overdue" else "left")
    for c in r["cards"]:
        table.add_row(
            c["number"],
            c["person_id"],
            escape(c["name"]),
            c["ordered_on"] or "",
            c["due_on"],
            str(c["days_overdue"]),
        )
    Console(width=120).print(table)
    typer.echo(f"{len(r['cards'])} cards overdue")


@card_app.command("list")
def list_cards(
    person: Annotated[str, typer.Argument(help="The person id.")],
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Every card the person has had, oldest first (JSON)."""
    with card_session(database, acting_as) as (service, who):
        _json(service.cards_of(who, person))


def register(root: typer.Typer) -> None:
    """Add this module's commands to the `yibao` command."""
    root.add_typer(app, name="collection")
    root.add_typer(card_app, name="card")
