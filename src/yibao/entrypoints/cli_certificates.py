"""yibao approval|filing|referral|pilot ...: certificates and the pilot.

Every command acts as an account (`--as ACCOUNT`, or YIBAO_ACTOR; without either, the
operator at the machine: a clerk of every region) and goes through the same service
as the API, with the same checks. Answers are JSON on stdout; a refusal is one line
`error: ...` on stderr and exit code 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from yibao.domain.access import Principal
from yibao.entrypoints.cli_common import session
from yibao.entrypoints.cli_server import DatabaseOpt
from yibao.service.services import Services

approval_app = typer.Typer(no_args_is_help=True, help="Outpatient special-disease approvals.")
filing_app = typer.Typer(no_args_is_help=True, help="Remote-treatment filings.")
referral_app = typer.Typer(no_args_is_help=True, help="Referral certificates.")
pilot_app = typer.Typer(no_args_is_help=True, help="The children's major-disease pilot.")
hospital_app = typer.Typer(no_args_is_help=True, help="The pilot hospitals of a region's year.")
pilot_app.add_typer(hospital_app, name="hospital")

ActorOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        envvar="YIBAO_ACTOR",
        help="Act as this account (default: the operator, a clerk of every region).",
    ),
]
Year = Annotated[int, typer.Argument(min=2000, max=2100, help="The year.")]


class Status(StrEnum):
    applied = "applied"
    approved = "approved"
    rejected = "rejected"
    all = "all"


def _act(
    database: str | None, actor: str | None, use: Callable[[Services, Principal], Any]
) -> None:
    """Run one use case as the account and print its answer as JSON."""
    with session(database, actor) as (built, who):
        answer = use(built, who)
    typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))


def _day(value: datetime) -> date:
    return value.date()


# --- approvals --------------------------------------------------------------------------


@approval_app.command("apply")
def approval_apply(
    person: Annotated[str, typer.Argument(help="The person's id.")],
    disease: Annotated[str, typer.Option(help="A special outpatient disease, e.g. dialysis.")],
    certificate: Annotated[str, typer.Option(help="The diagnosis certificate's reference.")],
    hospital: Annotated[str, typer.Option(help="The designated hospital chosen.")],
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Apply for an outpatient special disease (the district centre decides)."""
    _act(
        database,
        actor,
        lambda s, who: s.certificates.apply_for_approval(
            who, person, disease, certificate, hospital
        ),
    )


@approval_app.command("decide")
def approval_decide(
    approval_id: Annotated[int, typer.Argument(help="The approval's id.")],
    approve: Annotated[
        bool, typer.Option("--approve/--reject", help="Approve for a period, or reject.")
    ],
    valid_from: Annotated[
        datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="Approval: first day.")
    ] = None,
    valid_to: Annotated[
        datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Approval: last day.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Rejection: why.")] = None,
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Decide an application (an approver of the person's region)."""
    _act(
        database,
        actor,
        lambda s, who: s.certificates.decide_approval(
            who,
            approval_id,
            approve,
            valid_from=None if valid_from is None else valid_from.date(),
            valid_to=None if valid_to is None else valid_to.date(),
            reason=reason,
        ),
    )


@approval_app.command("list")
def approval_list(
    status: Annotated[Status, typer.Option(help="Which approvals.")] = Status.applied,
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """The queue of the account's region, oldest application first."""
    wanted = None if status is Status.all else status.value
    _act(database, actor, lambda s, who: s.certificates.approvals(who, wanted))


# --- filings and referrals ----------------------------------------------------------------


@filing_app.command("add")
def filing_add(
    person: Annotated[str, typer.Argument(help="The person's id.")],
    region: Annotated[str, typer.Option(help="The region of long residence.")],
    valid_from: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"])],
    valid_to: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"])],
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """File long residence elsewhere: treatment there within the dates at local rates."""
    _act(
        database,
        actor,
        lambda s, who: s.certificates.file_remote_treatment(
            who, person, region, _day(valid_from), _day(valid_to)
        ),
    )


@referral_app.command("add")
def referral_add(
    valid_from: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"])],
    valid_to: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"])],
    diagnosis: Annotated[str, typer.Option(help="ICD-10.")],
    to_region: Annotated[
        str | None, typer.Option(help="Where the patient is sent (or give --to-institution).")
    ] = None,
    to_institution: Annotated[
        str | None, typer.Option(help="The registered hospital the patient is referred to.")
    ] = None,
    referred_from: Annotated[
        int | None, typer.Option(help="The settlement of the stay at the issuing hospital.")
    ] = None,
    person: Annotated[str | None, typer.Option(help="The patient's person id.")] = None,
    card: Annotated[str | None, typer.Option(help="Or the patient's card number.")] = None,
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Issue a referral certificate (as an institution's account: --as)."""
    _act(
        database,
        actor,
        lambda s, who: s.certificates.issue_referral(
            who,
            person_id=person,
            card_number=card,
            to_region=to_region,
            valid_from=_day(valid_from),
            valid_to=_day(valid_to),
            diagnosis=diagnosis,
            to_institution=to_institution,
            referred_from=referred_from,
        ),
    )


# --- the pilot ----------------------------------------------------------------------------

Region = Annotated[str, typer.Argument(help="The region.")]
InstitutionArg = Annotated[str, typer.Argument(help="The hospital's institution id.")]


@hospital_app.command("add")
def pilot_hospital_add(
    region: Region,
    year: Year,
    institution: InstitutionArg,
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Put a designated hospital on the region's pilot list for the year."""
    _act(
        database,
        actor,
        lambda s, who: s.pilot.add_pilot_hospital(who, region, year, institution),
    )


@hospital_app.command("remove")
def pilot_hospital_remove(
    region: Region,
    year: Year,
    institution: InstitutionArg,
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Take a hospital off the year's list (not while registrations name it)."""
    _act(
        database,
        actor,
        lambda s, who: s.pilot.remove_pilot_hospital(who, region, year, institution),
    )


@hospital_app.command("list")
def pilot_hospital_list(
    region: Region, year: Year, actor: ActorOpt = None, database: DatabaseOpt = None
) -> None:
    """The pilot of a region's year: diseases with limited costs, and the hospitals."""
    _act(database, actor, lambda s, who: s.pilot.pilot_year(who, region, year))


@pilot_app.command("register")
def pilot_register(
    person: Annotated[str, typer.Argument(help="The child's person id.")],
    disease: Annotated[str, typer.Option(help="A pilot disease (ICD-10), e.g. C91.0.")],
    admission: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="Admission date.")],
    hospital: Annotated[
        str | None, typer.Option(help="The pilot hospital (a hospital's account: itself).")
    ] = None,
    actor: ActorOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Register a child's pilot treatment."""
    _act(
        database,
        actor,
        lambda s, who: s.pilot.register_pilot(who, person, disease, hospital, _day(admission)),
    )


def register(root: typer.Typer) -> None:
    """Add this module's commands to the `yibao` command."""
    root.add_typer(approval_app, name="approval")
    root.add_typer(filing_app, name="filing")
    root.add_typer(referral_app, name="referral")
    root.add_typer(pilot_app, name="pilot")
