"""What the administration's commands share: the services on the configured database,
and the account a command acts as (--as, or YIBAO_ACTOR; without one, the operator at
the machine, a clerk of every region — the audit log says so)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from yibao.bootstrap import engine_from, policy_source, services
from yibao.domain.access import Principal
from yibao.entrypoints.cli_server import database_errors, fail, settings_for
from yibao.service.access import OPERATOR
from yibao.service.errors import ServiceError
from yibao.service.services import Services

ActingAs = Annotated[
    str | None,
    typer.Option(
        "--as",
        envvar="YIBAO_ACTOR",
        help="Act as this account (default: the operator, a clerk of every region).",
    ),
]


def acting(built: Services, actor: str | None) -> Principal:
    """The principal of an active account, or the operator; an unknown one ends the command."""
    if not actor:
        return OPERATOR
    principal = built.access.active_account(actor)
    if principal is None:
        typer.echo(f"error: --as: no active account {actor!r}", err=True)
        raise typer.Exit(2)
    return principal


def open_services(database: str | None, actor: str | None) -> tuple[Engine, Services, Principal]:
    settings = settings_for(database)
    engine = engine_from(settings)
    built = services(engine, policy_source(settings.policy_path), settings)
    return engine, built, acting(built, actor)


@contextmanager
def session(database: str | None, actor: str | None) -> Iterator[tuple[Services, Principal]]:
    """The services and the principal; a service's refusal or a database that cannot be
    reached ends the command with one line and exit 2."""
    with database_errors(settings_for(database)):
        engine, built, who = open_services(database, actor)
        try:
            yield built, who
        except ServiceError as exc:
            raise fail(exc) from None
        finally:
            engine.dispose()
