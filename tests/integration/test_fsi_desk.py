"""The national interface over the hospital desk, on SQLite and PostgreSQL: each message
is one transaction (a 2207, the visit it settles and its stored answer commit together,
or nothing does), and the desk's rules are the settlement service's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from integration.test_fsi import (
    POLICY_PATH,
    ROOT,
    His,
    cert,
    fee_lines,
    insured,
    settle_data,
)
from integration.world import register
from yibao.adapters.db.fsi_repo import FsiStore
from yibao.adapters.db.tables import settlements
from yibao.adapters.db.tables_fsi import fsi_messages, fsi_settlements, fsi_visits
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.scenario_files import load_scenario
from yibao.domain.model import Encounter, Hospital, Kind, Line, LineClass


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _open_visit(engine: Engine, client: TestClient) -> tuple[His, dict[str, Any]]:
    """A signed-in C1 and the 2207 message of an outpatient visit with its lines."""
    scenario = load_scenario(ROOT / "examples" / "employee-outpatient-special.yaml")
    with UnitOfWork(engine) as uow:
        reg = register(uow, scenario, POLICY_PATH)
        uow.commit()
    with UnitOfWork(engine) as uow:
        who = insured(uow, reg.person_id, reg.card_number)
    his = His(client, "C1")
    his.day = date(2026, 3, 1)
    his.sign_in()
    data = {
        "psn_no": who.person_id,
        "insutype": who.insutype,
        "begntime": "2026-03-01 08:00:00",
        **cert(who, by_card=True),
        "ipt_otp_no": "OTP1",
        "atddr_no": "DR01",
        "dr_name": "医生",
        "dept_code": "D01",
        "dept_name": "内科",
        "caty": "A03",
    }
    mdtrt_id = his.ok("2201", {"data": data})["data"]["mdtrt_id"]
    enc = Encounter(
        "X", his.day, Kind.OUTPATIENT, Hospital("C1", 1), (Line(LineClass.A, Decimal("80.00")),)
    )
    lines = fee_lines(mdtrt_id, who.person_id, enc, "L", refund=False)
    his.ok("2204", {"feedetail": lines})
    settle = settle_data(who, mdtrt_id, Decimal("80.00"), by_card=True, med_type="11")
    return his, his.envelope("2207", {"data": settle})


def test_a_settlement_whose_answer_cannot_be_stored_is_not_made(
    engine: Engine, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer fails to be stored after the settlement was made in the same unit of
    work: nothing is left — no settlement, no fund ledger entry, the visit still open —
    and the same message sent again settles once."""
    his, message = _open_visit(engine, client)
    before = (_count(engine, settlements), _count(engine, fsi_settlements))
    messages = _count(engine, fsi_messages)

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(FsiStore, "add_message", broken)
    answer = his.send(message)
    assert answer["infcode"] == -1
    assert "系统内部错误" in answer["err_msg"]
    assert (_count(engine, settlements), _count(engine, fsi_settlements)) == before
    assert _count(engine, fsi_messages) == messages
    with engine.connect() as conn:
        status = conn.execute(select(fsi_visits.c.status)).scalars().all()
    assert "settled" not in status
    monkeypatch.undo()
    first = his.send(message)
    assert first["infcode"] == 0, first["err_msg"]
    assert his.send(message) == first  # the msgid's stored answer
    assert _count(engine, settlements) == before[0] + 1
    assert _count(engine, fsi_settlements) == before[1] + 1
