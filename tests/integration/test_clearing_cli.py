"""`yibao clearing` on SQLite and PostgreSQL: a month run twice, listed, confirmed and paid
by the net payer's clerk (the payee's is refused), exported as .xlsx, and `yibao verify
--funds` finds every book in order."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy.engine import Engine

from integration.clearing_world import CITY, CITY3, COUNTRYMAN, COUNTY, build, clerk_of, stay
from integration.test_cli_server import assert_no_traceback, db, url, yibao
from yibao.adapters.db.migrate import upgrade
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import policy_source
from yibao.domain.model import Kind
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine

__all__ = ["db", "url"]  # the fixtures, from test_cli_server


def test_clearing_commands(url: str, db: Engine, tmp_path: Path) -> None:
    upgrade(db)
    build(db)
    clerk_of(db, CITY)
    clerk_of(db, COUNTY)
    services = Services.build(lambda: UnitOfWork(db), policy_source(), lambda: date(2026, 4, 10))
    body = stay(COUNTRYMAN, "2026-03-02", 10, "60.00", "1000.00")
    lines = tuple(
        BillLine(ln["code"], Decimal(ln["quantity"]), Decimal(ln["unit_price"]))
        for ln in body["lines"]
    )
    _, view = services.settlements.settle(
        Bill(CITY3, body["card_number"], Kind.INPATIENT, date(2026, 3, 2), lines)
    )
    assert view["basic"] == "550.00"

    first = yibao(tmp_path, "clearing", "run", "--month", "2026-03", "--database", url)
    assert first.code == 0, first.show()
    assert_no_traceback(first)
    made = json.loads(first.out)
    [head] = made["statements"]
    assert (head["net"], head["payer"], head["status"]) == ("550.00", COUNTY, "stated")
    again = json.loads(
        yibao(tmp_path, "clearing", "run", "--month", "2026-03", "--database", url).out
    )
    assert again["made"] == []

    cid = str(head["id"])
    refused = yibao(
        tmp_path, "clearing", "confirm", cid, "--as", f"clerk-{CITY}", "--database", url
    )
    assert refused.code == 2, refused.show()
    assert_no_traceback(refused)
    ok = yibao(tmp_path, "clearing", "confirm", cid, "--as", f"clerk-{COUNTY}", "--database", url)
    assert json.loads(ok.out)["status"] == "confirmed", ok.show()
    paid = yibao(
        tmp_path,
        "clearing",
        "pay",
        cid,
        "--reference",
        "BANK-1",
        "--as",
        f"clerk-{COUNTY}",
        "--database",
        url,
    )
    assert json.loads(paid.out)["status"] == "paid", paid.show()
    out = tmp_path / "statement.xlsx"
    exported = yibao(
        tmp_path,
        "clearing",
        "export",
        cid,
        "--format",
        "xlsx",
        "--out",
        str(out),
        "--database",
        url,
    )
    assert exported.code == 0, exported.show()
    assert out.read_bytes()[:2] == b"PK"
    balances = json.loads(yibao(tmp_path, "clearing", "balances", "--database", url).out)
    assert {b["open"] for b in balances} == {"0.00"}
    check = yibao(tmp_path, "verify", "--funds", "--database", url)
    assert check.code == 0, check.show()
    assert any(line.startswith(f"fund {COUNTY}:") for line in check.lines()), check.show()
    assert check.lines()[-1].endswith("0 problems")
