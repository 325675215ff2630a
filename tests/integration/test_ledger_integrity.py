"""The ledger stays right: reversals re-settle the rest of the year, concurrent bills of
one person never lose an accumulator, and a retried request never pays twice.
Every test ends with `verify` finding nothing to report. SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path
from threading import Barrier
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from integration.world import CODES, Registered, register, register_person
from yibao.adapters.db import tables as t
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import load_region
from yibao.adapters.scenario_files import load_scenario
from yibao.bootstrap import PolicyLoader
from yibao.domain.engine import settle_year
from yibao.domain.model import Kind, LineClass
from yibao.domain.money import fmt
from yibao.fsi.transactions import as_institution
from yibao.service import settlement as settlement_module
from yibao.service.access import OPERATOR
from yibao.service.booking import run_engine
from yibao.service.errors import ConflictError, NotFoundError
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine
from yibao.service.verify import verify

ROOT = Path(__file__).resolve().parents[2]
SEGMENTS = ROOT / "examples" / "student-inpatient-segments.yaml"


def _world(engine: Engine, path: Path = SEGMENTS) -> Registered:
    with UnitOfWork(engine) as uow:
        who = register(uow, load_scenario(path))
        uow.commit()
    return who


def _bill(
    who: Registered, institution: str, day: date, amount: str, kind: Kind = Kind.INPATIENT
) -> Bill:
    line = BillLine(CODES[LineClass.A], Decimal(1), Decimal(amount))
    return Bill(institution, who.card_number, kind, day, (line,), diagnosis="K35.8")


def _clean(services: Services, engine: Engine, policies: PolicyLoader) -> None:
    report = verify(lambda: UnitOfWork(engine), policies)
    assert report.problems == []
    assert report.person_years >= 1


def _count(engine: Engine, table: t.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_reversing_a_mid_year_stay_re_settles_the_later_ones_as_if_it_never_was(
    engine: Engine, services: Services, policies: PolicyLoader
) -> None:
    scenario = load_scenario(SEGMENTS)
    who = _world(engine)
    stays = sorted(scenario.encounters, key=lambda e: e.date)
    ids = []
    for enc in stays:
        status, view = services.settlements.settle(
            _bill(who, enc.hospital.id, enc.date, f"{enc.lines[0].amount:.2f}")
        )
        assert status == 201
        ids.append(view["id"])

    answer = services.settlements.reverse(
        ids[0], "billed to the wrong patient", as_institution("H3")
    )

    # What the engine says the year is without the first stay:
    without, _ = settle_year(load_region("sample-city"), scenario.person, 2026, stays[1:])
    assert answer["reversed"]["basic"] == "21000.00"
    assert [a["settlement_id"] for a in answer["adjustments"]] == ids[1:]
    year = services.queries.person_year(OPERATOR, who.person_id, 2026)
    by_id = {s["id"]: s for s in year["settlements"]}
    assert by_id[ids[0]]["status"] == "reversed"
    for sid, want in zip(ids[1:], without.encounters, strict=True):
        got = by_id[sid]
        assert (got["basic"], got["personal"]) == (fmt(want.basic), fmt(want.personal))
    # Stay 2 now starts the year's segments at 0: 70% of 40,000 + 80% of 40,000 = 60,000.
    assert by_id[ids[1]]["basic"] == "60000.00"
    assert answer["adjustments"][0]["difference"]["basic"] == "-4000.00"
    # The ledger holds exactly what the year now pays.
    with UnitOfWork(engine) as uow:
        paid = uow.ledger.ledger_sum(layer="basic")
    assert paid == sum((r.basic for r in without.encounters), Decimal(0))
    _clean(services, engine, policies)


def test_a_reversal_is_once_only_and_only_by_the_institution_that_settled(
    engine: Engine, services: Services
) -> None:
    who = _world(engine)
    _, view = services.settlements.settle(_bill(who, "H3", date(2026, 3, 2), "1000.00"))
    with pytest.raises(NotFoundError):
        services.settlements.reverse(view["id"], "not mine", as_institution("OTHER"))
    services.settlements.reverse(view["id"], "refund", as_institution("H3"))
    with pytest.raises(ConflictError) as info:
        services.settlements.reverse(view["id"], "again", as_institution("H3"))
    assert info.value.code == "already_reversed"
    assert _count(engine, t.reversals) == 1


def test_fifty_concurrent_bills_of_one_person_lose_no_accumulator(
    engine: Engine, services: Services, policies: PolicyLoader
) -> None:
    who = _world(engine)
    bills = [
        _bill(who, "H3", date(2026, 1 + i % 12, 1 + i % 28), "100.00", Kind.OUTPATIENT)
        for i in range(50)
    ]
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(services.settlements.settle, bills))
    assert all(status == 201 for status, _ in answers)
    assert sorted(view["seq"] for _, view in answers) == list(range(1, 51))
    with UnitOfWork(engine) as uow:
        acc = uow.ledger.read_person_year(who.person_id, 2026)
        paid = uow.ledger.ledger_sum(layer="basic")
    # 50% of 100 is 50 a visit, but the fund pays at most 600 a year in outpatient.
    assert acc.outpatient_fund_paid == Decimal("600.00")
    assert paid == Decimal("600.00")
    assert sum(Decimal(view["basic"]) for _, view in answers) == Decimal("600.00")
    assert acc.personal == Decimal("5000.00") - Decimal("600.00")
    _clean(services, engine, policies)


def test_a_retried_request_returns_the_first_answer_and_pays_nothing_twice(
    engine: Engine, services: Services, policies: PolicyLoader
) -> None:
    who = _world(engine)
    bills = [_bill(who, "H3", date(2026, 2, d), "300.00", Kind.OUTPATIENT) for d in range(1, 6)]
    first = [
        services.settlements.settle(b, idempotency_key=f"key-{i}") for i, b in enumerate(bills)
    ]
    again = [
        services.settlements.settle(b, idempotency_key=f"key-{i}") for i, b in enumerate(bills)
    ]
    assert first == again
    # And retries racing each other, all with one key:
    race_bill = _bill(who, "H3", date(2026, 3, 1), "300.00", Kind.OUTPATIENT)
    with ThreadPoolExecutor(max_workers=10) as pool:
        raced = list(
            pool.map(
                lambda _: services.settlements.settle(race_bill, idempotency_key="race"), range(10)
            )
        )
    assert len({view["id"] for _, view in raced}) == 1
    assert _count(engine, t.settlements) == 6
    with UnitOfWork(engine) as uow:
        assert uow.ledger.ledger_sum(layer="basic") == Decimal("600.00")
    _clean(services, engine, policies)


def test_the_same_key_for_another_bill_is_refused(engine: Engine, services: Services) -> None:
    who = _world(engine)
    services.settlements.settle(_bill(who, "H3", date(2026, 2, 1), "300.00"), idempotency_key="k")
    with pytest.raises(ConflictError) as info:
        services.settlements.settle(
            _bill(who, "H3", date(2026, 2, 1), "301.00"), idempotency_key="k"
        )
    assert info.value.code == "idempotency_key_reused"
    assert _count(engine, t.settlements) == 1


def test_the_http_api_reverses_and_reports_the_year(engine: Engine, client: TestClient) -> None:
    who = _world(engine)
    body = {
        "card_number": who.card_number,
        "kind": "inpatient",
        "date": "2026-03-02",
        "lines": [{"code": "TEST-A", "quantity": "1", "unit_price": "30500.00"}],
    }
    made = client.post(
        "/v1/settlements", json=body, headers={"X-Institution": "H3", "Idempotency-Key": "a"}
    )
    assert made.status_code == 201
    sid = made.json()["id"]
    assert (
        client.get(f"/v1/settlements/{sid}", headers={"X-Institution": "OTHER"}).status_code == 404
    )
    seen = client.get(f"/v1/settlements/{sid}", headers={"X-Institution": "H3"}).json()
    assert seen["basic"] == "21000.00"
    year = client.get(f"/v1/persons/{who.person_id}/years/2026").json()
    top = next(x for x in year["limits"] if x["name"] == "top_line_pooled_cost")
    assert (top["used"], top["remaining"]) == ("30000.00", "170000.00")
    gone = client.post(
        f"/v1/settlements/{sid}/reversal",
        json={"reason": "refund"},
        headers={"X-Institution": "H3"},
    )
    assert gone.status_code == 200, gone.text
    year = client.get(f"/v1/persons/{who.person_id}/years/2026").json()
    assert year["settlements"][0]["status"] == "reversed"
    assert year["accumulators"]["pooled_cost"] == "0"


def test_an_adjustment_reports_the_threshold_the_re_settlement_charged(
    engine: Engine, services: Services, client: TestClient, policies: PolicyLoader
) -> None:
    # An employee's yearly outpatient threshold is 2,000: 1,500 charged on the first
    # bill, 500 on the second (1,300). Without the first bill the second charges 1,300.
    who = _world(engine, ROOT / "examples" / "employee-outpatient-special.yaml")
    _, first = services.settlements.settle(
        _bill(who, "C1", date(2026, 1, 20), "1500.00", Kind.OUTPATIENT)
    )
    _, second = services.settlements.settle(
        _bill(who, "C1", date(2026, 2, 14), "1300.00", Kind.OUTPATIENT)
    )
    assert (first["threshold"], second["threshold"], second["basic"]) == (
        "1500.00",
        "500.00",
        "400.00",
    )
    answer = services.settlements.reverse(first["id"], "refund", as_institution("C1"))
    assert answer["adjustments"][0]["after"]["threshold"] == "1300.00"
    now = client.get(f"/v1/settlements/{second['id']}", headers={"X-Institution": "C1"}).json()
    assert (now["threshold"], now["basic"], now["personal"]) == ("1300.00", "0.00", "1300.00")
    _clean(services, engine, policies)


def test_one_key_racing_for_two_bills_settles_one_and_refuses_the_other(
    engine: Engine, services: Services, policies: PolicyLoader
) -> None:
    """Two different bills (two persons: their years lock apart) sent at once under one
    key: whichever commits first is settled, the other is told the key is taken, and
    nothing is paid for it, however the two interleave."""
    first = _world(engine)
    with UnitOfWork(engine) as uow:
        second = register_person(uow, load_scenario(SEGMENTS), "SECOND")
        uow.commit()
    bills = [
        _bill(who, "H3", date(2026, 2, 1), "300.00", Kind.OUTPATIENT) for who in (first, second)
    ]
    for round_ in range(5):

        def attempt(bill: Bill, key: str = f"shared-{round_}") -> str:
            try:
                services.settlements.settle(bill, idempotency_key=key)
            except ConflictError as exc:
                return exc.code
            return "settled"

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = sorted(pool.map(attempt, bills))
        assert outcomes == ["idempotency_key_reused", "settled"]
    assert _count(engine, t.settlements) == 5
    assert _count(engine, t.idempotency_keys) == 5
    _clean(services, engine, policies)


@pytest.fixture
def postgresql_engine(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writing transaction at a time: two never interleave")
    return engine


def test_a_key_taken_while_a_bill_settled_rolls_the_bill_back(
    postgresql_engine: Engine,
    services: Services,
    policies: PolicyLoader,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both bills past their reads before either writes (the engine waits for the other):
    the second commit finds the key taken, rolls back everything it wrote, and answers 409."""
    engine = postgresql_engine
    first = _world(engine)
    with UnitOfWork(engine) as uow:
        second = register_person(uow, load_scenario(SEGMENTS), "SECOND")
        uow.commit()
    both_read = Barrier(2, timeout=30)

    def engine_after_both_read(*args: Any) -> Any:
        both_read.wait()
        return run_engine(*args)

    monkeypatch.setattr(settlement_module, "run_engine", engine_after_both_read)

    def attempt(who: Registered) -> str:
        bill = _bill(who, "H3", date(2026, 2, 1), "300.00", Kind.OUTPATIENT)
        try:
            services.settlements.settle(bill, idempotency_key="shared")
        except ConflictError as exc:
            return exc.code
        return "settled"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(attempt, (first, second)))
    assert outcomes == ["idempotency_key_reused", "settled"]
    assert _count(engine, t.settlements) == 1
    assert _count(engine, t.settlement_lines) == 1
    with UnitOfWork(engine) as uow:
        years = [uow.ledger.lock_person_year(who.person_id, 2026)[1] for who in (first, second)]
    assert sorted(years) == [0, 1]  # the loser's year is as it was
    monkeypatch.undo()
    _clean(services, engine, policies)
