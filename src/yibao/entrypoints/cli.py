"""The `yibao` command.

Bad input of any kind (a malformed file, an unknown region, class, kind, level or
scheme, a negative amount, a date outside the year) prints one line per problem naming
the place, and exits 2: never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from yibao.adapters.parameter_files import PolicyError, load_region, search_path
from yibao.adapters.scenario_files import ScenarioError, load_scenario, scenario_files
from yibao.adapters.strict_yaml import YamlError
from yibao.bootstrap import PolicyLoader
from yibao.domain.engine import InputError
from yibao.domain.parameters import PolicyGapError, describe_value
from yibao.entrypoints import (
    cli_admin,
    cli_catalogue,
    cli_certificates,
    cli_clearing,
    cli_collection,
    cli_institutions,
    cli_schools,
    cli_server,
)
from yibao.entrypoints import cli_batch as batch_cli
from yibao.service import scenarios

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="yibao: social medical insurance."
)
scenario_app = typer.Typer(no_args_is_help=True, help="Run and check scenario files.")
policy_app = typer.Typer(no_args_is_help=True, help="Show the policy parameters of a region.")
app.add_typer(scenario_app, name="scenario")
app.add_typer(policy_app, name="policy")
app.add_typer(cli_server.db_app, name="db")
app.add_typer(cli_server.demo_app, name="demo")
cli_server.demo_app.command("generate")(batch_cli.generate)
app.add_typer(batch_cli.batch_app, name="batch")
app.command("whatif")(batch_cli.whatif)
app.command("serve")(cli_server.serve)
app.command("settle-year")(cli_server.settle_year)
app.command("verify")(cli_server.verify_command)
cli_admin.register(app)  # account, person, enrol, premiums, audit
cli_schools.register(app)  # school
cli_collection.register(app)  # collection, card
cli_certificates.register(app)  # approval, filing, referral, pilot
cli_catalogue.register(app)  # catalogue
cli_clearing.register(app)  # clearing between regions
cli_institutions.register(app)  # institution

USER_ERRORS = (PolicyError, ScenarioError, YamlError, InputError, PolicyGapError)
T = TypeVar("T")


class Lang(StrEnum):
    en = "en"
    zh = "zh"


PoliciesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--policies", help="A folder of region folders to search before the built-in ones."
    ),
]


def _guard(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except USER_ERRORS as exc:
        for line in str(exc).splitlines():
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(2) from None


def _path(policies: list[Path] | None) -> list[Path]:
    return search_path(policies or [])


@scenario_app.command("run")
def scenario_run(
    file: Annotated[Path, typer.Argument(help="A scenario file (YAML or JSON).")],
    lang: Annotated[Lang, typer.Option(help="Language of the explanation.")] = Lang.en,
    policies: PoliciesOpt = None,
) -> None:
    """Settle a scenario's year and print it as JSON."""

    def go() -> dict[str, object]:
        scenario = load_scenario(file)
        return scenarios.to_json(scenarios.run(scenario, PolicyLoader(_path(policies))), lang.value)

    out = _guard(go)
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))


@scenario_app.command("check")
def scenario_check(
    paths: Annotated[list[Path], typer.Argument(help="Scenario files or folders of them.")],
    policies: PoliciesOpt = None,
) -> None:
    """Run every scenario that has an `expect` block; print each mismatch; exit 1 if any."""
    files = _guard(lambda: scenario_files(paths))
    checked = failed = broken = 0
    for path in files:
        try:
            scenario = load_scenario(path)
            if scenario.expect is None:
                continue
            found = scenarios.check(
                scenario, scenarios.run(scenario, PolicyLoader(_path(policies)))
            )
        except USER_ERRORS as exc:
            # A file that cannot run is bad input (exit 2), named even when the error
            # came from the policy rather than the file.
            broken += 1
            for line in str(exc).splitlines():
                where = "" if line.startswith(str(path)) else f"{path}: "
                typer.echo(f"error: {where}{line}", err=True)
            continue
        checked += 1
        if found:
            failed += 1
            for line in found:
                typer.echo(line)
    typer.echo(
        f"{checked - failed} passed, {failed} failed"
        + (f", {broken} could not run" if broken else "")
    )
    if broken or (checked == 0 and not failed):
        if checked == 0 and not broken:
            typer.echo("error: no scenario with an expect block was found", err=True)
        raise typer.Exit(2)
    if failed:
        raise typer.Exit(1)


@policy_app.command("show")
def policy_show(
    region: Annotated[str, typer.Argument(help="The region, e.g. sample-city.")],
    scheme: Annotated[
        str | None, typer.Option(help="Only this scheme's rules (and the region's).")
    ] = None,
    on: Annotated[
        str | None, typer.Option(help="The date (YYYY-MM-DD); today when left out.")
    ] = None,
    policies: PoliciesOpt = None,
) -> None:
    """Print the parameters in force on a date, with where each comes from."""

    def go() -> Table:
        try:
            day = date.fromisoformat(on) if on else datetime.now(UTC).date()
        except ValueError:
            raise ScenarioError(f"--on: {on!r} is not a date (write YYYY-MM-DD)") from None
        policy = load_region(region, _path(policies))
        if scheme is not None and scheme not in policy.schemes:
            known = ", ".join(sorted(policy.schemes))
            raise PolicyError(f"--scheme: {region} has no scheme {scheme!r} (it has {known})")
        table = Table(title=f"{policy.name.en} ({policy.name.zh}) — parameters in force on {day}")
        for col in ("file", "key", "when", "value", "since", "source"):
            table.add_column(col, overflow="fold")
        if not policy.year_start.calendar:  # not dated: one row, whatever the day
            start = policy.year_start
            table.add_row(
                f"{region}/region.yaml", "year_start", "", escape(start.describe()), "",
                escape(start.source),
            )  # fmt: skip
        for dated in policy.all_dated():
            stem = dated.file.split("/")[-1].removesuffix(".yaml")
            if scheme is not None and stem in policy.schemes and stem != scheme:
                continue
            rows = dated.rows_at(day)
            if not rows:
                table.add_row(dated.file, dated.key, "", "(none in force)", "", "")
            # A decision table: one line per row, with the bills it applies to.
            for row in rows:
                cells = (
                    row.when.describe() if row.when is not None else "",
                    describe_value(row.value, dated.unit),
                    str(row.start),
                    row.source,
                )
                table.add_row(dated.file, dated.key, *(escape(c) for c in cells))
        return table

    table = _guard(go)
    Console(width=max(Console().width, 160)).print(table)


@app.command(
    "his-sim",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def his_sim(ctx: typer.Context) -> None:
    """Play hospitals' days through the national interface (yibao his-sim --help)."""
    from yibao.entrypoints.his_sim import run as simulate

    raise typer.Exit(simulate(list(ctx.args)))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
