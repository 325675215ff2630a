"""The registry's institutions carry their type (general, TCM) and province, administered
by a clerk (API and command line, with the audit log); river-county's decision tables read
them when a card bill settles, and a settlement keeps what it settled with (a change later
moves only later bills; `yibao verify` settles the year again the same). On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from integration.auth import account, clerk
from integration.world import CODES, register
from yibao.adapters.db import tables as t
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import search_path
from yibao.adapters.scenario_files import load_scenario
from yibao.bootstrap import PolicyLoader
from yibao.domain.access import Role
from yibao.domain.model import Filing, LineClass
from yibao.entrypoints import cli_common
from yibao.entrypoints.cli import app
from yibao.service.services import Services
from yibao.service.verify import verify

TESTS = Path(__file__).resolve().parent.parent
SCENARIO = TESTS / "scenarios" / "river-county" / "rc-thresholds-by-level-and-type.yaml"


@pytest.fixture
def world(engine: Engine) -> str:
    scenario = load_scenario(SCENARIO)
    with UnitOfWork(engine) as uow:
        who = register(uow, scenario, search_path())
        uow.registry.add_filing(
            who.person_id, Filing("far-city", date(2026, 1, 1), date(2026, 12, 31))
        )
        uow.commit()
    return who.person_id


def _stay(client: TestClient, person: str, at: str, day: str, amount: str) -> dict[str, Any]:
    answer = client.post(
        "/v1/settlements",
        json={
            "card_number": f"CARD-{person}",
            "kind": "inpatient",
            "date": day,
            "lines": [{"code": CODES[LineClass.A], "quantity": "1", "unit_price": amount}],
        },
        headers={"X-Institution": at},
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_tcm_hospital_registered_and_changed_through_the_api(
    world: str, services: Services, client: TestClient, engine: Engine, policies: PolicyLoader
) -> None:
    staff = clerk(services, "river-county")
    body = {"id": "TCM2", "region": "river-county", "name": "县中医院", "level": 2, "type": "tcm"}
    elsewhere = client.post("/v1/institutions", json=body, headers=clerk(services))
    assert elsewhere.status_code == 403, elsewhere.text  # a clerk of another region
    bad = client.post("/v1/institutions", json={**body, "type": "herbal"}, headers=staff)
    assert bad.status_code == 422, bad.text
    made = client.post("/v1/institutions", json=body, headers=staff)
    assert made.status_code == 201, made.text
    assert (made.json()["type"], made.json()["province"]) == ("tcm", None)
    again = client.post("/v1/institutions", json=body, headers=staff)
    assert (again.status_code, again.json()["code"]) == (409, "institution_exists")
    # Level 2 TCM: threshold 400 (general 500); 70% above it.
    first = _stay(client, world, "TCM2", "2026-03-05", "1500.00")
    assert (first["threshold"], first["basic"]) == ("400.00", "770.00")
    changed = client.patch("/v1/institutions/TCM2", json={"type": "general"}, headers=staff)
    assert changed.status_code == 200, changed.text
    assert changed.json()["type"] == "general"
    second = _stay(client, world, "TCM2", "2026-03-06", "1500.00")
    assert (second["threshold"], second["basic"]) == ("500.00", "700.00")
    itself = account(services, Role.INSTITUTION, institution_id="TCM2")
    assert client.get("/v1/institutions/TCM2", headers=itself).json()["type"] == "general"
    other = account(services, Role.INSTITUTION, institution_id="H0")
    assert client.get("/v1/institutions/TCM2", headers=other).status_code == 404
    with engine.connect() as conn:
        log = conn.execute(
            select(t.audit_log.c.action, t.audit_log.c.before).where(
                t.audit_log.c.object_id == "TCM2"
            )
        ).all()
    assert sorted(a for a, _ in log) == ["institution.change", "institution.register"]
    assert any(b is not None and '"tcm"' in b for _, b in log)  # the type before the change
    # The first stay is kept as it settled: at a TCM hospital.
    assert verify(lambda: UnitOfWork(engine), policies, year=2026).problems == []


def test_the_province_of_a_hospital_elsewhere(
    world: str, services: Services, client: TestClient, engine: Engine, policies: PolicyLoader
) -> None:
    """river-county: a filed stay in the same province 1,000 / 60%, in another 1,500 / 50%.
    far-city is a region yibao does not run: its province is what the registry says."""
    staff = clerk(services, "river-county")
    operator = clerk(services, None)
    body = {"id": "FAR2", "region": "far-city", "name": "far hospital", "level": 2}
    assert client.post("/v1/institutions", json=body, headers=operator).status_code == 201
    same = _stay(client, world, "FAR2", "2026-02-01", "11000.00")
    assert (same["threshold"], same["basic"]) == ("1000.00", "6000.00")
    moved = client.patch("/v1/institutions/FAR2", json={"province": "51"}, headers=operator)
    assert moved.status_code == 200, moved.text
    # A river-county clerk does not see far-city's institution.
    assert client.get("/v1/institutions/FAR2", headers=staff).status_code == 404
    other = _stay(client, world, "FAR2", "2026-03-01", "11500.00")
    assert (other["threshold"], other["basic"]) == ("1500.00", "5000.00")
    home = client.patch("/v1/institutions/FAR2", json={"province": "99"}, headers=operator)
    assert home.json()["province"] == "99"  # river-county is 990400: the same province
    back = _stay(client, world, "FAR2", "2026-04-01", "11000.00")
    assert back["basic"] == "6000.00"
    assert verify(lambda: UnitOfWork(engine), policies, year=2026).problems == []


def test_the_command_line(
    world: str, engine: Engine, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_common, "services", lambda *_: services)
    monkeypatch.setenv("YIBAO_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, list(args))

    made = run(
        "institution", "add", "TCM3", "--region", "river-county", "--name", "市中医院",
        "--level", "3", "--type", "tcm", "--province", "99",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert '"type": "tcm"' in made.output
    changed = run("institution", "set", "TCM3", "--province", "region")
    assert changed.exit_code == 0, changed.output
    assert '"province": null' in changed.output
    bad = run("institution", "set", "TCM3", "--province", "Sichuan")
    assert bad.exit_code == 2, bad.output
    assert "two digits" in bad.output
    shown = run("institution", "show", "TCM3")
    assert '"level": 3' in shown.output
    assert '"type": "tcm"' in shown.output
