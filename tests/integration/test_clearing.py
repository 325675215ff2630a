"""Treatment in another region (reference §9) through the API, on SQLite and PostgreSQL:
the place of treatment's catalogue, the insured place's policy, the money's path (the
institution's statement, the receivable and the payable, the fund that bears it), and the
monthly clearing: two runs, confirmation and payment by the net payer, a reversal after
clearing in its own month, CSV and .xlsx."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from integration.clearing_world import (
    CITIZEN,
    CITIZEN2,
    CITY,
    CITY2,
    CITY3,
    COUNTRYMAN,
    COUNTY,
    COUNTY2,
    FILED,
    build,
    clerk_of,
    settle,
    stay,
)
from integration.conftest import FakeClock
from yibao.adapters.db import tables as t
from yibao.adapters.db.tables_clearing import region_ledger
from yibao.service.services import Services
from yibao.service.verify import verify


def test_a_county_resident_in_a_city_hospital(
    engine: Engine, client: TestClient, services: Services
) -> None:
    """Hill-county's resident in sample-city's level-3 hospital: the city's cap (50.00 a bed
    day) and class (the drug is class A there); the county's threshold (500 at level 3),
    rate (70%) lowered 15 points for an unfiled stay elsewhere."""
    build(engine)
    quote = client.post(
        "/v1/quotes",
        json=stay(COUNTRYMAN, "2026-03-02", 10, "60.00", "1000.00"),
        headers={"X-Institution": CITY3},
    )
    assert quote.status_code == 200, quote.text
    view = settle(client, CITY3, stay(COUNTRYMAN, "2026-03-02", 10, "60.00", "1000.00"))
    assert {k: view[k] for k in ("total", "over_limit", "eligible", "threshold", "basic")} == {
        "total": "1600.00",
        "over_limit": "100.00",  # (60 - 50) x 10 above the city's cap
        "eligible": "1500.00",  # the bed days at the cap, and the drug (class A here)
        "threshold": "500.00",
        "basic": "550.00",  # (1500 - 500) x (70% - 15 points)
    }
    assert view["personal"] == "1050.00"
    assert {k: quote.json()[k] for k in ("basic", "eligible")} == {
        "basic": "550.00",
        "eligible": "1500.00",
    }

    # The money's path: the city hospital's statement has it; the city's books a receivable
    # from the county, the county's a payable; the county's fund bears it.
    statement = client.get(f"/v1/institutions/{CITY3}/statements", params={"month": "2026-03"})
    assert statement.json()["total"] == "550.00"
    with engine.connect() as conn:
        fund = conn.execute(
            select(t.fund_ledger.c.region, t.fund_ledger.c.amount_fen).where(
                t.fund_ledger.c.settlement_id == view["id"]
            )
        ).all()
    assert [tuple(r) for r in fund] == [(COUNTY, 55000)]
    assert _balances(client) == {
        (CITY, COUNTY, "receivable"): "550.00",
        (COUNTY, CITY, "payable"): "550.00",
    }


def test_a_city_resident_in_a_county_hospital_filed_unfiled_and_emergency(
    engine: Engine, client: TestClient
) -> None:
    """Sample-city's residents in hill-county's level-2 hospital: the county's cap (40.00)
    and class (the drug is outside its catalogue); the city's threshold (500) and rate
    (70%), halved unfiled, whole when filed; an emergency at the city's local rates."""
    build(engine)
    unfiled = settle(client, COUNTY2, stay(CITIZEN, "2026-03-05", 30, "60.00", "1000.00"))
    assert {k: unfiled[k] for k in ("over_limit", "self_pay", "eligible", "basic")} == {
        "over_limit": "600.00",  # (60 - 40) x 30 above the county's cap
        "self_pay": "1000.00",  # the drug: outside the county's catalogue
        "eligible": "1200.00",
        "basic": "245.00",  # (1200 - 500) x 70%, halved: neither filed nor referred
    }
    filed = settle(client, COUNTY2, stay(FILED, "2026-03-06", 30, "60.00", "1000.00"))
    assert filed["basic"] == "490.00"  # filed: the local rates
    bill = stay(CITIZEN2, "2026-03-07", 20, "40.00", kind="emergency")
    there = settle(client, COUNTY2, bill)
    local = client.post(
        "/v1/quotes",
        json={**bill, "card_number": "CARD-" + CITIZEN},
        headers={"X-Institution": CITY2},
    ).json()
    assert Decimal(there["basic"]) > 0
    assert there["basic"] == local["basic"]  # an emergency elsewhere: local rates
    owed = Decimal("245.00") + Decimal("490.00") + Decimal(there["basic"])
    assert _balances(client) == {
        (CITY, COUNTY, "payable"): f"{owed:.2f}",
        (COUNTY, CITY, "receivable"): f"{owed:.2f}",
    }


def test_clearing_two_runs_confirmation_payment_and_a_reversal_after_it(
    engine: Engine, client: TestClient, services: Services, clock: FakeClock
) -> None:
    build(engine)
    county_stay = settle(client, CITY3, stay(COUNTRYMAN, "2026-03-02", 10, "60.00", "1000.00"))
    settle(client, COUNTY2, stay(CITIZEN, "2026-03-05", 30, "60.00", "1000.00"))
    settle(client, COUNTY2, stay(FILED, "2026-04-02", 30, "60.00", "1000.00"))  # April's
    city, county = clerk_of(engine, CITY), clerk_of(engine, COUNTY)

    clock.today = date(2026, 3, 31)
    early = client.post("/v1/clearings", json={"month": "2026-03"})
    assert early.status_code == 422
    assert early.json()["code"] == "month_not_over"

    clock.today = date(2026, 4, 10)
    first = client.post("/v1/clearings", json={"month": "2026-03"})
    assert first.status_code == 200, first.text
    [head] = first.json()["statements"]
    assert first.json()["made"] == [head["id"]]
    # region_a is hill-county (by code): it advanced 245.00 for the city's resident, the
    # city 550.00 for the county's; the county pays the net 305.00.
    assert {
        k: head[k] for k in ("region_a", "a_advanced", "b_advanced", "net", "payer", "entries")
    } == {
        "region_a": COUNTY,
        "a_advanced": "245.00",
        "b_advanced": "550.00",
        "net": "305.00",
        "payer": COUNTY,
        "entries": 2,
    }
    again = client.post("/v1/clearings", json={"month": "2026-03"})
    assert again.json()["made"] == []
    assert again.json()["statements"] == first.json()["statements"]

    cid = head["id"]
    lines = client.get(f"/v1/clearings/{cid}").json()["lines"]
    assert sorted((ln["treated"], ln["insured"], ln["amount"], ln["entry"]) for ln in lines) == [
        (COUNTY, CITY, "245.00", "settlement"),
        (CITY, COUNTY, "550.00", "settlement"),
    ]
    refused = client.post(f"/v1/clearings/{cid}/confirmation", headers=city)
    assert refused.status_code == 403  # the city is paid; the county confirms
    assert (
        client.post(
            f"/v1/clearings/{cid}/payment", json={"reference": "B1"}, headers=county
        ).status_code
        == 409
    )
    confirmed = client.post(f"/v1/clearings/{cid}/confirmation", headers=county)
    assert confirmed.json()["status"] == "confirmed"
    paid = client.post(
        f"/v1/clearings/{cid}/payment", json={"reference": "BANK-0001"}, headers=county
    )
    assert paid.json()["status"] == "paid"
    assert paid.json()["payment_ref"] == "BANK-0001"
    # March closed in both books; April's stay is still open.
    assert _balances(client) == {
        (CITY, COUNTY, "payable"): "490.00",
        (COUNTY, CITY, "receivable"): "490.00",
        (CITY, COUNTY, "receivable"): "0.00",
        (COUNTY, CITY, "payable"): "0.00",
    }

    exported = client.get(f"/v1/clearings/{cid}/export", params={"format": "csv"})
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["settlement", "entry"]
    assert ["net", "305.00"] in rows
    xlsx = client.get(f"/v1/clearings/{cid}/export", params={"format": "xlsx"})
    assert xlsx.content[:2] == b"PK"

    # A reversal after March was cleared lands in April, the month it happened in.
    clock.today = date(2026, 4, 20)
    reversed_ = client.post(
        f"/v1/settlements/{county_stay['id']}/reversal",
        json={"reason": "refund"},
        headers={"X-Institution": CITY3},
    )
    assert reversed_.status_code == 200, reversed_.text
    assert client.get(f"/v1/clearings/{cid}").json()["entries"] == 2  # March as it was
    clock.today = date(2026, 5, 3)
    april = client.post("/v1/clearings", json={"month": "2026-04"}).json()
    [head4] = april["statements"]
    assert (head4["a_advanced"], head4["b_advanced"], head4["net"], head4["payer"]) == (
        "490.00",
        "-550.00",
        "1040.00",
        CITY,
    )
    entries = {
        ln["entry"]: ln["amount"]
        for ln in client.get(f"/v1/clearings/{head4['id']}").json()["lines"]
    }
    assert entries == {"settlement": "490.00", "reversal": "-550.00"}
    assert client.post("/v1/clearings", json={"month": "2026-04"}).json()["made"] == []

    report = verify(services.settlements.uow, services.settlements.policies)
    assert report.problems == []


def test_verify_finds_a_payable_without_its_receivable(
    engine: Engine, client: TestClient, services: Services
) -> None:
    build(engine)
    settle(client, CITY3, stay(COUNTRYMAN, "2026-03-02", 10, "60.00", "1000.00"))
    assert verify(services.settlements.uow, services.settlements.policies).problems == []
    with engine.begin() as conn:
        conn.execute(
            region_ledger.update()
            .where(region_ledger.c.side == "receivable")
            .values(amount_fen=region_ledger.c.amount_fen - 1)
        )
    problems = verify(services.settlements.uow, services.settlements.policies).problems
    assert any("receivable" in p and "payable" in p for p in problems), problems


def _balances(client: TestClient) -> dict[tuple[str, str, str], str]:
    rows: list[dict[str, Any]] = client.get("/v1/clearings/balances").json()
    return {(r["region"], r["counterparty"], r["side"]): r["open"] for r in rows}


def test_the_console_shows_a_statement_and_the_payer_confirms_it(
    engine: Engine, client: TestClient, clock: FakeClock
) -> None:
    """The console's clearing pages: the month's statements, a statement with its lines
    and the net in yuan, the confirmation offered to the payer only."""
    from yibao.entrypoints.web.session import SESSION_COOKIE

    build(engine)
    settle(client, CITY3, stay(COUNTRYMAN, "2026-03-02", 10, "60.00", "1000.00"))
    clock.today = date(2026, 4, 10)
    [head] = client.post("/v1/clearings", json={"month": "2026-03"}).json()["statements"]
    pages = TestClient(client.app, follow_redirects=False)
    for region, offered in ((COUNTY, True), (CITY, False)):
        token = clerk_of(engine, region)["Authorization"].split()[1]
        pages.cookies.set(SESSION_COOKIE, token)
        listed = pages.get("/console/clearing", params={"month": "2026-03", "lang": "en"})
        assert listed.status_code == 200
        assert f'data-clearing="{head["id"]}"' in listed.text
        shown = pages.get(f"/console/clearing/{head['id']}", params={"lang": "zh"})
        assert shown.status_code == 200
        assert "550.00元" in shown.text
        assert "山县支付给样本市" in shown.text
        assert ('data-testid="confirm"' in shown.text) is offered
        csv_file = pages.get(f"/console/clearing/{head['id']}/export.csv")
        assert csv_file.headers["content-type"].startswith("text/csv")


def test_a_referral_to_the_city_lowers_the_county_rate_by_ten_points(
    engine: Engine, client: TestClient
) -> None:
    """Hill-county's resident referred to sample-city: the county's rate lowered 10 points
    (not 15); the stay is advanced by the city for the county like any other."""
    from integration.clearing_world import COUNTRYMAN2
    from yibao.adapters.db.uow import UnitOfWork
    from yibao.domain.registry import Referral

    build(engine)
    with UnitOfWork(engine) as uow:
        uow.registry.add_referral(
            Referral(COUNTRYMAN2, COUNTY2, CITY, date(2026, 3, 1), date(2026, 3, 31))
        )
        uow.commit()
    view = settle(client, CITY3, stay(COUNTRYMAN2, "2026-03-02", 10, "60.00", "1000.00"))
    assert view["referral"] is True
    assert view["basic"] == "600.00"  # (1500 - 500) x (70% - 10 points)
    assert _balances(client)[(CITY, COUNTY, "receivable")] == "600.00"
