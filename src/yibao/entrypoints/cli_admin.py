"""yibao account|person|enrol|premiums|audit: the agency's accounts and enrolment from the
command line, over the same service layer as the API. Commands act as the account named
by --as (or YIBAO_ACTOR); without one, as the operator at the machine (a clerk of every
region), and the audit log says so."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

from yibao.domain.access import Role
from yibao.domain.model import Scheme
from yibao.entrypoints.cli_common import ActingAs, session
from yibao.entrypoints.cli_server import DatabaseOpt
from yibao.fsi.auth import issue_credential
from yibao.service.enrolment import NewPerson

account_app = typer.Typer(no_args_is_help=True, help="Accounts and their API tokens.")
person_app = typer.Typer(no_args_is_help=True, help="Persons in the registry.")


def show(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@account_app.command("add")
def account_add(
    account_id: Annotated[str, typer.Argument(help="The sign-in name.")],
    role: Annotated[Role, typer.Option(help="What the account may do.")],
    name: Annotated[str, typer.Option(help="The person or body's name.")],
    region: Annotated[str | None, typer.Option(help="Staff: the agency's region.")] = None,
    person: Annotated[str | None, typer.Option(help="Members: the person id.")] = None,
    school: Annotated[str | None, typer.Option(help="Schools: the school id.")] = None,
    institution: Annotated[str | None, typer.Option(help="Institutions: its id.")] = None,
    password: Annotated[
        bool, typer.Option("--password", help="Ask for a password to sign in with.")
    ] = False,
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Make an account and print its first API token (shown this once)."""
    secret = (
        typer.prompt("password", hide_input=True, confirmation_prompt=True) if password else None
    )
    with session(database, acting_as) as (svc, who):
        made = svc.access.create_account(
            who,
            account_id,
            role,
            name,
            region=region,
            person_id=person,
            school_id=school,
            institution_id=institution,
            password=secret,
        )
    typer.echo(f"account {made['id']} ({made['role']}) made; its API token:")
    typer.echo(made["token"])


@account_app.command("token")
def account_token(
    account_id: str, acting_as: ActingAs = None, database: DatabaseOpt = None
) -> None:
    """Print a further API token for an account."""
    with session(database, acting_as) as (svc, who):
        typer.echo(svc.access.issue_token(who, account_id, "issued on the command line"))


@account_app.command("fsi-credential")
def account_fsi_credential(
    account_id: Annotated[str, typer.Argument(help="An institution's account.")],
    certificate: Annotated[
        list[str] | None,
        typer.Option(help="A client certificate's SHA-256 fingerprint (mTLS behind a proxy)."),
    ] = None,
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Print a paasid and paasToken for the national interface's x-tif-* signed headers
    (valid a year, shown this once), registering client certificates if given."""
    with session(database, acting_as) as (svc, who):
        made = issue_credential(svc.access, svc.secret, who, account_id, certificate or ())
    show(made)


@account_app.command("revoke")
def account_revoke(
    account_id: str, acting_as: ActingAs = None, database: DatabaseOpt = None
) -> None:
    """Revoke every token of an account (national-interface credentials too)."""
    with session(database, acting_as) as (svc, who):
        count = svc.access.revoke_tokens(who, account_id)
    typer.echo(f"{count} token(s) of {account_id} revoked")


@account_app.command("list")
def account_list(
    role: Annotated[Role | None, typer.Option()] = None,
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    with session(database, acting_as) as (svc, who):
        for a in svc.access.accounts(who, role):
            subject = a["person_id"] or a["school_id"] or a["institution_id"] or a["region"] or ""
            typer.echo(f"{a['id']:<24} {a['role']:<12} {subject:<20} {a['name']}")


@person_app.command("add")
def person_add(
    id_number: Annotated[str, typer.Argument(help="The 18-character resident ID number.")],
    name: Annotated[str, typer.Option()],
    region: Annotated[str, typer.Option()],
    phone: Annotated[str | None, typer.Option()] = None,
    assistance: Annotated[
        bool, typer.Option(help="A low-income or special-hardship family.")
    ] = False,
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Register a person (the ID number gives birth date and sex)."""
    with session(database, acting_as) as (svc, who):
        show(
            svc.enrolment.register_person(
                who, NewPerson(id_number, name, region, phone, assistance)
            )
        )


@person_app.command("show")
def person_show(person_id: str, acting_as: ActingAs = None, database: DatabaseOpt = None) -> None:
    """A person with enrolments, cards, guardians and children."""
    with session(database, acting_as) as (svc, who):
        show(svc.enrolment.person(who, person_id))


@person_app.command("category")
def person_category(
    person_id: Annotated[str, typer.Argument(help="A registered person's id.")],
    category: Annotated[
        str | None,
        typer.Argument(help="low_income, special_hardship or poverty_registered; none: list."),
    ] = None,
    valid_from: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD); none: open.")
    ] = None,
    valid_to: Annotated[
        str | None, typer.Option("--to", help="Last day (YYYY-MM-DD); none: open.")
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--end", help="End the open category on this day (YYYY-MM-DD)."),
    ] = None,
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Record a person's category over dates, or end the open one (with the audit log),
    or list them."""
    with session(database, acting_as) as (svc, who):
        last_day = _day(end, "--end")
        if last_day is not None:
            show(svc.categories.end(who, person_id, last_day))
            return
        if category is None:
            show(svc.categories.of(who, person_id))
            return
        show(
            svc.categories.record(
                who, person_id, category, _day(valid_from, "--from"), _day(valid_to, "--to")
            )
        )


def _day(raw: str | None, option: str) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise typer.BadParameter(
            f"{raw!r} is not a date (write YYYY-MM-DD)", param_hint=option
        ) from None


def enrol(
    person_id: Annotated[str, typer.Argument(help="A registered person's id.")],
    year: Annotated[int, typer.Option(help="The coverage year.")],
    scheme: Annotated[Scheme, typer.Option()] = Scheme.RESIDENT,
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Enrol a registered person for a year at the agency (inside the window)."""
    with session(database, acting_as) as (svc, who):
        show(svc.enrolment.enrol(who, person_id, year, scheme))


def enrol_household(
    id_number: Annotated[str, typer.Argument(help="The child's resident ID number.")],
    name: Annotated[str, typer.Option()],
    region: Annotated[str, typer.Option(help="The household registration's region.")],
    year: Annotated[int, typer.Option(help="The coverage year.")],
    guardian: Annotated[
        str | None, typer.Option(help="The guardian's ID number (a registered person).")
    ] = None,
    phone: Annotated[str | None, typer.Option(help="The guardian's phone.")] = None,
    assistance: Annotated[bool, typer.Option()] = False,
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Enrol a child not at school at the agency of the household registration."""
    with session(database, acting_as) as (svc, who):
        child = NewPerson(id_number, name, region, phone, assistance)
        show(svc.enrolment.enrol_household(who, child, year, guardian))


def premiums(
    region: Annotated[str, typer.Option()],
    year: Annotated[int, typer.Option()],
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Persons and premium parts per scheme and status for a region's year."""
    with session(database, acting_as) as (svc, who):
        summary = svc.enrolment.premium_summary(who, region, year)
    typer.echo(
        f"{'scheme':<10} {'status':<10} {'persons':>8} {'exempt':>7} {'personal':>14} {'subsidy':>14} {'assistance':>14}"
    )
    for line in summary["lines"]:
        typer.echo(
            f"{line['scheme']:<10} {line['status']:<10} {line['persons']:>8} "
            f"{line['exempt_persons']:>7} {line['personal']:>14} {line['subsidy']:>14} "
            f"{line['assistance']:>14}"
        )
    t = summary["totals"]
    typer.echo(
        f"{'total':<21} {summary['persons']:>8} {'':>7} {t['personal']:>14} {t['subsidy']:>14} "
        f"{t['assistance']:>14}"
    )


def audit(
    object_type: Annotated[str | None, typer.Option("--type")] = None,
    object_id: Annotated[str | None, typer.Option("--id")] = None,
    actor: Annotated[str | None, typer.Option()] = None,
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """The audit log, newest first."""
    with session(database, acting_as) as (svc, who):
        for e in svc.enrolment.audit(who, object_type, object_id, actor):
            typer.echo(
                f"{e['at']}  {e['actor']:<16} {e['action']:<20} {e['object_type']}/{e['object_id']}"
            )


def register(root: typer.Typer) -> None:
    """Add this module's commands to the `yibao` command."""
    root.add_typer(account_app, name="account")
    root.add_typer(person_app, name="person")
    root.command("enrol")(enrol)
    root.command("enrol-household")(enrol_household)
    root.command("premiums")(premiums)
    root.command("audit")(audit)
