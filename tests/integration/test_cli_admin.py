"""yibao account|person|enrol|enrol-household|premiums|audit on a real database."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from integration.conftest import FakeClock
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.ids import make_resident_id
from yibao.entrypoints import cli_common
from yibao.entrypoints.cli import app
from yibao.service.services import Services

ADULT = make_resident_id("990100", date(1980, 4, 2), 11)
CHILD = make_resident_id("990100", date(2016, 6, 1), 32)


@pytest.fixture
def run(engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Any:
    with UnitOfWork(engine) as uow:
        uow.registry.add_region("sample-city", "样本市", "Sample City", "990100")
        uow.commit()
    monkeypatch.setattr(
        cli_common,
        "services",
        lambda e, p, *_: Services.build(lambda: UnitOfWork(e), p, clock),
    )
    monkeypatch.setenv("YIBAO_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_the_agency_enrols_from_the_command_line(run: Any) -> None:
    made = run("account", "add", "li", "--role", "clerk", "--name", "李", "--region", "sample-city")
    assert made.exit_code == 0, made.output
    assert made.output.splitlines()[1].startswith("yb_")  # the token, shown once
    added = run("person", "add", ADULT, "--name", "张伟", "--region", "sample-city", "--as", "li")
    assert added.exit_code == 0, added.output
    assert '"birth_date": "1980-04-02"' in added.output
    enrolled = run("enrol", f"P{ADULT}", "--year", "2027", "--as", "li")
    assert enrolled.exit_code == 0, enrolled.output
    assert '"status": "pending"' in enrolled.output
    child = run(
        "enrol-household", CHILD, "--name", "张小", "--region", "sample-city", "--year", "2027",
        "--guardian", ADULT, "--as", "li",
    )  # fmt: skip
    assert child.exit_code == 0, child.output
    assert '"channel": "household"' in child.output
    summary = run("premiums", "--region", "sample-city", "--year", "2027", "--as", "li")
    assert summary.exit_code == 0, summary.output
    total = summary.output.splitlines()[-1].split()
    assert total[:2] == ["total", "2"]
    assert total[2:] == ["800.00", "1280.00", "0.00"]
    log = run("audit", "--as", "li")
    assert "enrolment.create" in log.output
    assert "li " in log.output


def test_refusals_are_one_line_and_exit_2(run: Any) -> None:
    outside = run("person", "add", "123", "--name", "x", "--region", "sample-city")
    assert outside.exit_code == 2
    assert outside.output.startswith("error: id_number:")
    unknown = run("enrol", "NOBODY", "--year", "2027", "--as", "ghost")
    assert unknown.exit_code == 2
    assert "no active account 'ghost'" in unknown.output
    assert "Traceback" not in unknown.output + outside.output


def test_a_category_is_recorded_listed_and_ended(run: Any) -> None:
    made = run("account", "add", "li", "--role", "clerk", "--name", "李", "--region", "sample-city")
    assert made.exit_code == 0, made.output
    added = run("person", "add", ADULT, "--name", "张伟", "--region", "sample-city", "--as", "li")
    assert added.exit_code == 0, added.output
    who = f"P{ADULT}"
    made = run("person", "category", who, "low_income", "--from", "2026-07-01", "--as", "li")
    assert made.exit_code == 0, made.output
    ended = run("person", "category", who, "--end", "2026-09-30", "--as", "li")
    assert ended.exit_code == 0, ended.output
    assert '"valid_to": "2026-09-30"' in ended.output
    listed = run("person", "category", who, "--as", "li")
    assert '"valid_from": "2026-07-01"' in listed.output
    assert '"valid_to": "2026-09-30"' in listed.output
    again = run("person", "category", who, "--end", "2026-10-31", "--as", "li")
    assert again.exit_code == 2, again.output
    assert "no category without a last day" in again.output
    assert "category.end" in run("audit", "--as", "li").output
