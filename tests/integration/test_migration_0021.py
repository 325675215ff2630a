"""Migration 0021 (what a settlement costs PostgreSQL) on a database with settlements in
it, on SQLite and PostgreSQL: undone, the foreign keys it drops come back over the data;
done again, the data is as it was, verify finds nothing, and a bill still settles."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url

from integration.conftest import POSTGRES_URL
from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.migrate import downgrade, upgrade
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.domain.model import Kind
from yibao.service.demo import load_demo
from yibao.service.settlement import Bill, BillLine, SettlementService
from yibao.service.verify import verify

DROPPED = {
    ("settlements", "fk_settlements_person_id_persons"),
    ("settlement_lines", "fk_settlement_lines_settlement_id_settlements"),
}
KEPT = {
    ("fund_ledger", "fk_fund_ledger_settlement_id_settlements"),
    ("person_years", "fk_person_years_person_id_persons"),
}


@pytest.fixture(params=[pytest.param(k, marks=pytest.mark.database) for k in ("sqlite", "pg")])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of its own, with no schema: this test migrates it up and down."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'yibao.sqlite3'}")
        yield engine
        engine.dispose()
        return
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"yibao_test_0021_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(POSTGRES_URL).set(database=name).render_as_string(False))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _foreign_keys(engine: Engine) -> set[tuple[str, str]]:
    found = inspect(engine)
    return {
        (table, str(fk["name"]))
        for table in ("settlements", "settlement_lines", "fund_ledger", "person_years")
        for fk in found.get_foreign_keys(table)
    }


def _fillfactor(engine: Engine) -> str | None:
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        options = conn.execute(
            text("SELECT reloptions FROM pg_class WHERE relname = 'person_years'")
        ).scalar_one()
    return next((o for o in options or () if o.startswith("fillfactor=")), None)


def _contents(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            table: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]
            for table in ("settlements", "settlement_lines", "fund_ledger", "person_years")
        }


def _bills(engine: Engine, count: int) -> list[Bill]:
    """Outpatient bills of different cards at one hospital of the demo region."""
    with engine.connect() as conn:
        cards = conn.execute(
            text("SELECT number FROM cards WHERE status = 'active' ORDER BY 1 LIMIT :n"),
            {"n": count},
        ).scalars()
        place, code = conn.execute(
            text(
                "SELECT i.id, c.code FROM institutions i, catalogue_items c "
                "WHERE i.designated AND i.kind = 'hospital' AND i.region = 'sample-city' "
                "AND c.region = i.region AND c.cls = 'A' ORDER BY 1, 2 LIMIT 1"
            )
        ).one()
        line = BillLine(code, Decimal(2), Decimal("12.50"))
        return [
            Bill(place, card, Kind.OUTPATIENT, date(2026, 11, 2), (line, line), "J06.9")
            for card in cards
        ]


def test_0021_undone_and_done_again_over_settlements(empty: Engine, policies: PolicyLoader) -> None:
    engine = empty
    upgrade(engine)
    load_demo(lambda: UnitOfWork(engine), policies, persons=40)
    service = SettlementService(lambda: UnitOfWork(engine), policies)
    bills = _bills(engine, 6)
    for n, bill in enumerate(bills[:5]):
        assert service.settle(bill, f"before-{n}")[0] == 201
    stored = _contents(engine)
    assert len(stored["settlements"]) == 5
    assert len(stored["settlement_lines"]) == 10
    assert _foreign_keys(engine) & (DROPPED | KEPT) == KEPT
    if engine.dialect.name == "postgresql":
        assert _fillfactor(engine) == "fillfactor=80"

    # 0021 undone, and what came after it: the foreign keys are made again
    downgrade(engine, "0019")
    assert _foreign_keys(engine) & (DROPPED | KEPT) == DROPPED | KEPT
    assert _fillfactor(engine) is None
    assert _contents(engine) == stored

    upgrade(engine)
    assert _foreign_keys(engine) & (DROPPED | KEPT) == KEPT
    assert _contents(engine) == stored
    if engine.dialect.name == "postgresql":
        assert _fillfactor(engine) == "fillfactor=80"
    assert service.settle(bills[5], "after")[0] == 201
    report = verify(lambda: UnitOfWork(engine), policies)
    assert report.settlements == 6
    assert report.problems == []
