"""The yearly serious-illness run (idempotent, resumable, paying only differences) and
institution statements that reconcile to the settlements. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.world import CODES, Registered, register
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.scenario_files import load_scenario
from yibao.bootstrap import PolicyLoader
from yibao.domain.model import Kind, LineClass
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine
from yibao.service.verify import verify
from yibao.service.yearly import settle_serious_illness

ROOT = Path(__file__).resolve().parents[2]
REFERRAL = ROOT / "examples" / "resident-serious-illness-referral.yaml"  # serious illness 58,809.00


def _settle_scenario(
    engine: Engine, services: Services, client: TestClient, path: Path
) -> Registered:
    from integration.world import bill_json

    scenario = load_scenario(path)
    with UnitOfWork(engine) as uow:
        who = register(uow, scenario)
        uow.commit()
    for enc in sorted(scenario.encounters, key=lambda e: e.date):
        answer = client.post(
            "/v1/settlements",
            json=bill_json(who.card_number, enc),
            headers={"X-Institution": enc.hospital.id},
        )
        assert answer.status_code == 201, answer.text
    return who


def test_the_yearly_run_pays_once_and_then_only_differences(
    engine: Engine, services: Services, client: TestClient, policies: PolicyLoader
) -> None:
    who = _settle_scenario(engine, services, client, REFERRAL)
    uow = lambda: UnitOfWork(engine)  # noqa: E731
    first = settle_serious_illness(uow, policies, "sample-city", 2026)
    assert (first.persons, first.changed, first.paid) == (1, 1, Decimal("58809.00"))
    second = settle_serious_illness(uow, policies, "sample-city", 2026)
    assert (second.changed, second.paid, second.total) == (0, Decimal(0), Decimal("58809.00"))
    with UnitOfWork(engine) as u:
        assert u.ledger.ledger_sum(layer="serious_illness") == Decimal("58809.00")

    # A late outpatient bill: 5,000 eligible, the fund pays 50% = 2,500 capped at the 600
    # outpatient limit, so 4,400 more of personal payment on eligible cost. The year's
    # base goes from 152,015 to 156,415, across the 154,000 bracket:
    # 1,985 at 60% + 2,415 at 70% = 1,191.00 + 1,690.50 = 2,881.50 more.
    line = BillLine(CODES[LineClass.A], Decimal(1), Decimal("5000.00"))
    status, view = services.settlements.settle(
        Bill("H3", who.card_number, Kind.OUTPATIENT, date(2026, 12, 20), (line,))
    )
    assert (status, view["basic"]) == (201, "600.00")
    third = settle_serious_illness(uow, policies, "sample-city", 2026)
    assert (third.changed, third.paid, third.total) == (1, Decimal("2881.50"), Decimal("61690.50"))
    with UnitOfWork(engine) as u:
        assert u.ledger.ledger_sum(layer="serious_illness") == third.total
    year = client.get(f"/v1/persons/{who.person_id}/years/2026").json()
    assert year["serious_illness"]["settled"] == f"{third.total:.2f}"
    assert verify(uow, policies).problems == []


def test_a_crashed_run_resumes_without_paying_twice(
    engine: Engine, services: Services, client: TestClient, policies: PolicyLoader, tmp_path: Path
) -> None:
    # Three residents with serious-illness payments: copy the scenario under new ids.
    text = REFERRAL.read_text(encoding="utf-8")
    for n in ("A", "B", "C"):
        path = tmp_path / f"{n}.yaml"
        path.write_text(
            text.replace("id: P5", f"id: P5{n}").replace("H3", f"H3{n}").replace("S1", f"S1{n}"),
            encoding="utf-8",
        )
        _settle_scenario(engine, services, client, path)
    uow = lambda: UnitOfWork(engine)  # noqa: E731
    calls = []

    def crash_after_first_chunk(done: int) -> None:
        calls.append(done)
        if len(calls) == 1:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        settle_serious_illness(
            uow, policies, "sample-city", 2026, chunk=1, progress=crash_after_first_chunk
        )
    with UnitOfWork(engine) as u:
        assert u.ledger.ledger_sum(layer="serious_illness") == Decimal(
            "58809.00"
        )  # the first chunk stands
    resumed = settle_serious_illness(uow, policies, "sample-city", 2026, chunk=1)
    assert (resumed.persons, resumed.changed) == (3, 2)
    with UnitOfWork(engine) as u:
        assert u.ledger.ledger_sum(layer="serious_illness") == Decimal("58809.00") * 3


def test_a_statement_reconciles_to_the_settlements_to_the_fen(
    engine: Engine, services: Services, client: TestClient
) -> None:
    who = _settle_scenario(
        engine, services, client, ROOT / "examples" / "student-inpatient-segments.yaml"
    )
    # March: stay 1 (21,000); July: stay 2 (64,000); November: stay 3 (81,000).
    march = client.get("/v1/institutions/H3/statements", params={"month": "2026-03"}).json()
    assert march["lines"] == [{"scheme": "student", "layer": "basic", "amount": "21000.00"}]
    # Reverse the March stay: March nets to zero, July's stay is adjusted by its difference.
    year = client.get(f"/v1/persons/{who.person_id}/years/2026").json()
    first = year["settlements"][0]["id"]
    assert (
        client.post(
            f"/v1/settlements/{first}/reversal",
            json={"reason": "x"},
            headers={"X-Institution": "H3"},
        ).status_code
        == 200
    )
    year = client.get(f"/v1/persons/{who.person_id}/years/2026").json()
    for month in ("2026-03", "2026-07", "2026-11"):
        got = client.get("/v1/institutions/H3/statements", params={"month": month}).json()
        owed = sum(
            (
                Decimal(s["basic"]) + Decimal(s["assistance"])
                for s in year["settlements"]
                if s["status"] == "settled" and s["date"].startswith(month)
            ),
            Decimal(0),
        )
        assert Decimal(got["total"]) == owed, month
    assert (
        client.get("/v1/institutions/NOPE/statements", params={"month": "2026-03"}).json()["code"]
        == "unknown_institution"
    )
    assert (
        client.get("/v1/institutions/H3/statements", params={"month": "2026-13"}).status_code == 422
    )
