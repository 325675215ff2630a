"""yibao institution add|set|show: the registry's institutions from the command line, over
the same service layer as the API (a clerk of the region; the audit log). An institution's
type (general, tcm) and province are what a region's decision tables read."""

from __future__ import annotations

from typing import Annotated

import typer

from yibao.domain.registry import Institution, InstitutionKind
from yibao.entrypoints.cli_admin import show
from yibao.entrypoints.cli_common import ActingAs, session
from yibao.entrypoints.cli_server import DatabaseOpt
from yibao.service.institutions import InstitutionChange

institution_app = typer.Typer(no_args_is_help=True, help="Institutions in the registry.")
ProvinceOpt = Annotated[
    str | None,
    typer.Option(help="The province's two GB/T 2260 digits (51: Sichuan); none: its region's."),
]
TypeOpt = Annotated[str | None, typer.Option("--type", help="general or tcm (a TCM hospital).")]


@institution_app.command("add")
def institution_add(
    institution_id: Annotated[str, typer.Argument(help="The institution's code.")],
    region: Annotated[str, typer.Option(help="Its region (may be one yibao does not run).")],
    name: Annotated[str, typer.Option()],
    level: Annotated[int, typer.Option(min=0, max=3, help="0 (community) to 3.")],
    kind: Annotated[InstitutionKind, typer.Option()] = InstitutionKind.HOSPITAL,
    designated: Annotated[bool, typer.Option("--designated/--not-designated")] = True,
    kind_of: TypeOpt = None,
    province: ProvinceOpt = None,
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Register an institution (with the audit log)."""
    inst = Institution(
        institution_id,
        region,
        name,
        level,
        kind,
        designated,
        type=kind_of or "general",
        province=province,
    )
    with session(database, acting_as) as (svc, who):
        show(svc.institutions.register(who, inst))


@institution_app.command("set")
def institution_set(
    institution_id: Annotated[str, typer.Argument(help="A registered institution.")],
    kind_of: TypeOpt = None,
    province: Annotated[
        str | None, typer.Option(help="Two GB/T 2260 digits, or `region`: its region's.")
    ] = None,
    level: Annotated[int | None, typer.Option(min=0, max=3)] = None,
    name: Annotated[str | None, typer.Option()] = None,
    designated: Annotated[bool | None, typer.Option("--designated/--not-designated")] = None,
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """Change an institution's type, province, level, name or designation (audit log)."""
    change = InstitutionChange(
        name=name,
        level=level,
        designated=designated,
        type=kind_of,
        province=None if province == "region" else province,
        clear_province=province == "region",
    )
    with session(database, acting_as) as (svc, who):
        show(svc.institutions.change(who, institution_id, change))


@institution_app.command("show")
def institution_show(
    institution_id: Annotated[str, typer.Argument()],
    acting_as: ActingAs = None,
    database: DatabaseOpt = None,
) -> None:
    """An institution as registered."""
    with session(database, acting_as) as (svc, who):
        show(svc.institutions.get(who, institution_id))


def register(root: typer.Typer) -> None:
    root.add_typer(institution_app, name="institution")
