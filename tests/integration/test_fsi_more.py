"""The transactions hospitals use beyond the visit itself, on SQLite and PostgreSQL: 2601
reversal by msgid (the recovery of a lost answer), 2404 / 2405, interim inpatient
settlement, and the day's reconciliation (3201, 3202 with 9101 / 9102)."""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.test_fsi import (
    World,
    _admission,
    _line_of,
    _refused,
    _register_data,
    _world,
    settle_data,
)
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.registry import CardStatus
from yibao.fsi.setlinfo import AMOUNTS, arithmetic_problems


def _outpatient(w: World, n: int, total: Decimal = Decimal("24.69")) -> tuple[str, dict[str, Any]]:
    mdtrt_id: str = w.c1.ok("2201", {"data": _register_data(w.who, n)})["data"]["mdtrt_id"]
    w.c1.ok("2204", {"feedetail": [_line_of(w, mdtrt_id, f"L{n}")]})
    return mdtrt_id, settle_data(w.who, mdtrt_id, total, by_card=True, med_type="11")


def test_a_lost_answer_is_reversed_by_its_msgid(engine: Engine, client: TestClient) -> None:
    w = _world(engine, client)
    c1, pid = w.c1, w.who.person_id
    mdtrt_id, data = _outpatient(w, 11)
    message = c1.envelope("2207", {"data": data})
    settled = c1.send(message)  # the hospital never sees this answer
    assert settled["infcode"] == 0
    setl_id = settled["output"]["setlinfo"]["setl_id"]
    undo = {"psn_no": pid, "omsgid": message["msgid"], "oinfno": "2207"}
    out = c1.ok("2601", {"data": undo})
    assert out["setlinfo"]["setl_id"] == setl_id
    assert out["setlinfo"]["medfee_sumamt"] == -Decimal("24.69")
    assert arithmetic_problems(out["setlinfo"]) == []
    found = c1.ok("5203", {"data": {"psn_no": pid, "setl_id": setl_id}})["setlinfo"]
    assert found["refd_setl_flag"] == "1"
    _refused(c1, c1.envelope("2601", {"data": undo}), "omsgid", "已撤销")
    # The visit is open again: settled anew, once.
    assert c1.ok("2207", {"data": data})["setlinfo"]["setl_id"] != setl_id
    _refused(
        c1, c1.envelope("2601", {"data": {**undo, "omsgid": "NEVER-SENT"}}), "omsgid", "无需冲正"
    )
    _refused(c1, c1.envelope("2601", {"data": {**undo, "oinfno": "2204"}}), "oinfno", "2204")
    _refused(c1, c1.envelope("2601", {"data": {**undo, "oinfno": "2201"}}), "oinfno", "2207")
    # A registration reversed: the visit is cancelled.
    register = c1.envelope("2201", {"data": _register_data(w.who, 12)})
    visit = c1.send(register)["output"]["data"]["mdtrt_id"]
    c1.ok("2601", {"data": {"psn_no": pid, "omsgid": register["msgid"], "oinfno": "2201"}})
    _refused(c1, c1.envelope("2204", {"feedetail": [_line_of(w, visit, "X1")]}), "已撤销")
    assert mdtrt_id != visit


def test_cancel_admission_and_discharge(engine: Engine, client: TestClient) -> None:
    w = _world(engine, client)
    h3, pid = w.h3, w.who.person_id
    stay = h3.ok("2401", _admission(w.who, 21))["result"]["mdtrt_id"]
    h3.ok("2404", {"data": {"mdtrt_id": stay, "psn_no": pid}})
    _refused(h3, h3.envelope("2404", {"data": {"mdtrt_id": stay, "psn_no": pid}}), "已撤销")
    # w.stay has fee lines: they are cancelled first.
    _refused(h3, h3.envelope("2404", {"data": {"mdtrt_id": w.stay, "psn_no": pid}}), "2302")
    dscg = {
        "mdtrt_id": w.stay,
        "psn_no": pid,
        "insutype": w.who.insutype,
        "endtime": "2026-03-04 10:00:00",
        "dise_codg": "K35.8",
        "dise_name": "阑尾炎",
        "dscg_way": "1",
    }
    _refused(h3, h3.envelope("2405", {"data": {"mdtrt_id": w.stay, "psn_no": pid}}), "尚未")
    h3.ok("2402", {"dscginfo": dscg})
    h3.ok("2405", {"data": {"mdtrt_id": w.stay, "psn_no": pid}})
    h3.ok("2402", {"dscginfo": dscg})  # discharged again


def test_an_interim_settlement_takes_the_lines_so_far(engine: Engine, client: TestClient) -> None:
    w = _world(engine, client)
    h3, pid = w.h3, w.who.person_id
    stay = h3.ok("2401", _admission(w.who, 31))["result"]["mdtrt_id"]
    h3.ok("2301", {"feedetail": [_line_of(w, stay, "P1", med_list_codg="TEST-A")]})
    first = settle_data(w.who, stay, Decimal("24.69"), by_card=False, med_type=None)
    interim = h3.ok("2304", {"data": {**first, "mid_setl_flag": "1"}})["setlinfo"]
    assert interim["medfee_sumamt"] == Decimal("24.69")
    h3.ok("2301", {"feedetail": [_line_of(w, stay, "P2", med_list_codg="TEST-A")] * 1})
    h3.ok("2301", {"feedetail": [_line_of(w, stay, "P3", med_list_codg="TEST-A")]})
    # The next settlement bills only the lines since: 2 × 24.69.
    wrong = settle_data(w.who, stay, Decimal("74.07"), by_card=False, med_type=None)
    _refused(h3, h3.envelope("2304", {"data": wrong}), "medfee_sumamt", "49.38")
    rest = settle_data(w.who, stay, Decimal("49.38"), by_card=False, med_type=None)
    final = h3.ok("2304", {"data": rest})["setlinfo"]
    assert final["medfee_sumamt"] == Decimal("49.38")
    _refused(h3, h3.envelope("2304", {"data": rest}), "已结算")
    undo_interim = {"setl_id": interim["setl_id"], "mdtrt_id": stay, "psn_no": pid}
    _refused(h3, h3.envelope("2305", {"data": undo_interim}), "setl_id", final["setl_id"])
    h3.ok("2305", {"data": {**undo_interim, "setl_id": final["setl_id"]}})
    h3.ok("2305", {"data": undo_interim})
    # Everything open again: one settlement of all three lines.
    whole = settle_data(w.who, stay, Decimal("74.07"), by_card=False, med_type=None)
    assert h3.ok("2304", {"data": whole})["setlinfo"]["medfee_sumamt"] == Decimal("74.07")


def _detail(rows: list[tuple[str, str, Decimal, Decimal, str]], pid: str) -> str:
    lines = [f"{s}\t{m}\t{pid}\t{fee}\t{fund}\t0.00\t{flag}" for s, m, fee, fund, flag in rows]
    return base64.b64encode("\n".join(lines).encode()).decode()


def test_the_day_reconciles_in_total_and_in_detail(engine: Engine, client: TestClient) -> None:
    w = _world(engine, client)
    c1, pid = w.c1, w.who.person_id
    mine = c1.ok("5203", {"data": {"psn_no": pid, "setl_id": w.setl_id}})["setlinfo"]
    # A second settlement the same day, then cancelled: three records in all.
    _, data = _outpatient(w, 41)
    other = c1.ok("2207", {"data": data})["setlinfo"]
    c1.ok(
        "2208",
        {"data": {"setl_id": other["setl_id"], "mdtrt_id": other["mdtrt_id"], "psn_no": pid}},
    )
    day = {"stmt_begndate": "2026-03-01", "stmt_enddate": "2026-03-01", "clr_type": "11"}
    totals = {
        **day,
        "insutype": w.who.insutype,
        "setl_optins": "990100",
        "medfee_sumamt": mine["medfee_sumamt"],
        "fund_pay_sumamt": mine["fund_pay_sumamt"],
        "acct_pay": Decimal("0.00"),
        "fixmedins_setl_cnt": 3,
    }
    assert c1.ok("3201", {"data": totals})["stmtinfo"]["stmt_rslt"] == "0"
    off = c1.ok("3201", {"data": {**totals, "fixmedins_setl_cnt": 1}})["stmtinfo"]
    assert off["stmt_rslt"] == "1"
    assert "结算笔数" in off["stmt_rslt_dscr"]
    rows = [
        (w.setl_id, w.settled_visit, mine["medfee_sumamt"], mine["fund_pay_sumamt"], "0"),
        (
            other["setl_id"],
            other["mdtrt_id"],
            other["medfee_sumamt"],
            other["fund_pay_sumamt"],
            "0",
        ),
        (
            other["setl_id"],
            other["mdtrt_id"],
            -other["medfee_sumamt"],
            -other["fund_pay_sumamt"],
            "1",
        ),
    ]

    def detail(content: str) -> dict[str, Any]:
        up = c1.ok(
            "9101", {"fsUploadIn": {"in": content, "filename": "stmt.txt", "fixmedins_code": "C1"}}
        )
        return c1.ok(
            "3202",
            {
                "data": {
                    **day,
                    "file_qury_no": up["file_qury_no"],
                    "medfee_sumamt": mine["medfee_sumamt"],
                    "fund_pay_sumamt": mine["fund_pay_sumamt"],
                    "cash_payamt": mine["psn_cash_pay"],
                    "fixmedins_setl_cnt": 3,
                }
            },
        )

    balanced = detail(_detail(rows, pid))
    assert balanced["stmtinfo"]["stmt_rslt"] == "0"
    short = detail(_detail(rows[:2], pid))
    assert short["stmtinfo"]["stmt_rslt"] == "1"
    got = c1.ok(
        "9102",
        {"fsDownloadIn": {"file_qury_no": short["fileinfo"]["file_qury_no"], "filename": "x"}},
    )
    text = base64.b64decode(got["file"]).decode()
    assert text.split("\t")[:3] == [other["setl_id"], "1", "3"]
    # Another institution's file does not exist for C1.
    _refused(
        w.h3,
        w.h3.envelope(
            "9102", {"fsDownloadIn": {"file_qury_no": short["fileinfo"]["file_qury_no"]}}
        ),
        "file_qury_no",
    )
    _refused(
        c1,
        c1.envelope("9101", {"fsUploadIn": {"in": "not base64!", "filename": "x"}}),
        "in",
        "类型错误",
    )


def test_an_id_number_settles_a_person_whose_card_is_lost(
    engine: Engine, client: TestClient
) -> None:
    """mdtrt_cert_type 02 for a person with no active card: the desk settles by the person
    (as by the member app's voucher), the same split as the 2206 quote; the lost card
    itself is refused, naming it."""
    w = _world(engine, client)
    c1, pid = w.c1, w.who.person_id
    with UnitOfWork(engine) as uow:
        assert uow.collection.set_card(
            w.who.card, CardStatus.ACTIVE, status=CardStatus.LOST, lost_on=date(2026, 3, 1)
        )
        uow.commit()
    by_card = {**_register_data(w.who, 51)}
    _refused(c1, c1.envelope("2201", {"data": by_card}), "mdtrt_cert_no", "card_lost")
    by_id = {**by_card, "mdtrt_cert_type": "02", "mdtrt_cert_no": w.who.id_number}
    assert c1.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": w.who.id_number}})
    mdtrt_id = c1.ok("2201", {"data": by_id})["data"]["mdtrt_id"]
    c1.ok("2204", {"feedetail": [_line_of(w, mdtrt_id, "ID1")]})
    data = {
        **settle_data(w.who, mdtrt_id, Decimal("24.69"), by_card=False, med_type="11"),
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": w.who.id_number,
    }
    quoted = c1.ok("2206", {"data": data})["setlinfo"]
    settled = c1.ok("2207", {"data": data})["setlinfo"]
    assert arithmetic_problems(settled) == []
    assert {k: settled[k] for k in AMOUNTS} == {k: quoted[k] for k in AMOUNTS}
    assert settled["medfee_sumamt"] == Decimal("24.69")
    with UnitOfWork(engine) as uow:
        row = uow.ledger.settlement(int(settled["setl_id"]))
    assert row is not None
    assert row.person_id == pid
    assert c1.ok("5203", {"data": {"psn_no": pid, "setl_id": settled["setl_id"]}})
    # Settling by the lost card instead is refused.
    other = c1.ok("2201", {"data": {**by_id, "ipt_otp_no": "OTP52"}})["data"]["mdtrt_id"]
    c1.ok("2204", {"feedetail": [_line_of(w, other, "ID2")]})
    card = {**data, "mdtrt_id": other, "mdtrt_cert_type": "03", "mdtrt_cert_no": w.who.card}
    _refused(c1, c1.envelope("2206", {"data": card}), "mdtrt_cert_no", "card_lost")
