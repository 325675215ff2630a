"""The message shapes real hospital systems send, on SQLite and PostgreSQL: each is taken
as the spec allows it, and what is wrong is refused naming the field."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from integration.conftest import SigningClient
from integration.test_fsi import (
    His,
    World,
    _admission,
    _line_of,
    _refused,
    _register_data,
    _world,
    settle_data,
)
from yibao.adapters.db.tables_fsi import fsi_fee_lines, fsi_sign_ins, fsi_visits
from yibao.entrypoints.api.app import create_app
from yibao.fsi.jsontext import dumps, loads
from yibao.fsi.setlinfo import arithmetic_problems
from yibao.service.services import Services
from yibao.settings import Settings


def _new_visit(w: World, n: int) -> str:
    out: str = w.c1.ok("2201", {"data": _register_data(w.who, n)})["data"]["mdtrt_id"]
    return out


def _sns(engine: Engine, mdtrt_id: str) -> list[str]:
    with engine.connect() as conn:
        c = fsi_fee_lines.c
        rows = conn.execute(select(c.feedetl_sn).where(c.mdtrt_id == mdtrt_id).order_by(c.seq))
        return [r.feedetl_sn for r in rows]


def test_numbers_for_strings_input_as_text_and_the_other_url(
    engine: Engine, client: TestClient
) -> None:
    w = _world(engine, client)
    c1 = w.c1
    message = c1.envelope("1101", {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": w.who.card}})
    plain = c1.send(message)
    assert plain["infcode"] == 0
    # infno and msgid as numbers, input as a JSON text: the same answer.
    shaped = {**message, "infno": 1101, "msgid": 990100202603010001}
    shaped["input"] = json.dumps({"data": message["input"]["data"]})
    answer = c1.send(shaped)
    assert answer["infcode"] == 0, answer["err_msg"]
    assert answer["output"] == plain["output"]
    # The same message at /fsi/api/rsfComIfsService/callService.
    alias = c1.client.post(
        "/fsi/api/rsfComIfsService/callService",
        content=dumps(c1.envelope("1101", message["input"])).encode(),
        headers={"Content-Type": "application/json", "X-Institution": c1.institution},
    )
    assert loads(alias.content)["output"] == plain["output"]
    # Times as clients read them: yyyyMMddHHmmssSSS.
    assert re.fullmatch(r"\d{17}", plain["refmsg_time"])
    assert re.fullmatch(r"\d{17}", plain["respond_time"])
    # An input text that is not JSON, a bool for a string: refused naming the field.
    _refused(c1, {**message, "input": "{data"}, "input", "类型错误")
    _refused(
        c1,
        c1.envelope("1101", {"data": {**message["input"]["data"], "mdtrt_cert_no": True}}),
        "mdtrt_cert_no",
        "类型错误",
    )


def test_sign_no_null_runs_under_the_current_sign_in_until_sign_out(
    engine: Engine, client: TestClient
) -> None:
    w = _world(engine, client)
    c1 = w.c1
    data = {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": w.who.card}}
    assert c1.send({**c1.envelope("1101", data), "sign_no": "null"})["infcode"] == 0
    old = c1.sign_no
    c1.ok("9002", {"signOut": {"sign_no": old, "opter_no": "001"}})
    _refused(c1, c1.envelope("1101", data), "sign_no", "签退")
    _refused(c1, {**c1.envelope("1101", data), "sign_no": "null"}, "sign_no", "9001")
    _refused(c1, c1.envelope("9002", {"signOut": {"sign_no": old, "opter_no": "001"}}), "sign_no")
    c1.sign_in()
    assert c1.send({**c1.envelope("1101", data), "sign_no": "null"})["infcode"] == 0


def test_a_sign_in_lasts_as_long_as_the_setting_says(
    engine: Engine, client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = _world(engine, client)
    c1 = w.c1
    data = {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": w.who.card}}
    # Signed in three hours ago.
    with engine.begin() as conn:
        conn.execute(
            update(fsi_sign_ins)
            .where(fsi_sign_ins.c.sign_no == c1.sign_no)
            .values(signed_at=datetime.now(UTC) - timedelta(hours=3))
        )
    assert c1.call("1101", data)["infcode"] == 0  # the default: 24 hours
    monkeypatch.setenv("YIBAO_FSI_SIGN_IN_HOURS", "2")
    assert Settings().fsi_sign_in_hours == 2
    with SigningClient(create_app(services, settings=Settings()), services) as shift:
        assert isinstance(client, SigningClient)
        shift._tokens.update(client._tokens)  # the same institution's account
        c2 = His(shift, c1.institution)
        c2.day, c2.sign_no = c1.day, c1.sign_no
        _refused(c2, c2.envelope("1101", data), "sign_no", "2 小时")
        c2.sign_in()  # a new sign-in serves again
        assert c2.call("1101", data)["infcode"] == 0
    for wrong in ("0", "-1", "soon"):
        monkeypatch.setenv("YIBAO_FSI_SIGN_IN_HOURS", wrong)
        with pytest.raises(ValidationError, match="fsi_sign_in_hours"):
            Settings()


def test_cancel_by_charge_batch_leaves_other_batches_and_data_may_be_a_list(
    engine: Engine, client: TestClient
) -> None:
    w = _world(engine, client)
    mdtrt_id = _new_visit(w, 7)
    lines = [
        _line_of(w, mdtrt_id, "A1", chrg_bchno="B1"),
        _line_of(w, mdtrt_id, "A2", chrg_bchno="B1"),
        _line_of(w, mdtrt_id, "C1", chrg_bchno="B2"),
        _line_of(w, mdtrt_id, "C2", chrg_bchno="B2"),
        _line_of(w, mdtrt_id, "D1", chrg_bchno="B3"),
    ]
    w.c1.ok("2204", {"feedetail": lines})
    pid = w.who.person_id
    w.c1.ok("2205", {"data": {"mdtrt_id": mdtrt_id, "psn_no": pid, "chrg_bchno": "B1"}})
    assert _sns(engine, mdtrt_id) == ["C1", "C2", "D1"]
    both = [{"mdtrt_id": mdtrt_id, "psn_no": pid, "feedetl_sn": sn} for sn in ("C1", "D1")]
    w.c1.ok("2205", {"data": both})
    assert _sns(engine, mdtrt_id) == ["C2"]
    gone = {"mdtrt_id": mdtrt_id, "psn_no": pid, "chrg_bchno": "B1"}
    _refused(w.c1, w.c1.envelope("2205", {"data": gone}), "chrg_bchno", "B1")
    nothing = {"mdtrt_id": mdtrt_id, "psn_no": pid}
    _refused(w.c1, w.c1.envelope("2205", {"data": nothing}), "feedetl_sn")
    w.c1.ok("2205", {"data": {**nothing, "chrg_bchno": "0000"}})
    assert _sns(engine, mdtrt_id) == []


def test_a_price_rounded_to_four_places_settles_the_line_total(
    engine: Engine, client: TestClient
) -> None:
    """3 × 8.2333 is 24.6999: a hospital bills 24.69 (a fen off), settled as 24.69; two fen
    off is a wrong total."""
    w = _world(engine, client)
    mdtrt_id = _new_visit(w, 8)
    rounded = {"pric": Decimal("8.2333"), "det_item_fee_sumamt": Decimal("24.69")}
    wrong = {"pric": Decimal("8.2333"), "det_item_fee_sumamt": Decimal("24.68")}
    _refused(
        w.c1,
        w.c1.envelope("2204", {"feedetail": [_line_of(w, mdtrt_id, "W", **wrong)]}),
        "det_item_fee_sumamt",
        "24.70",
    )
    result = w.c1.ok("2204", {"feedetail": [_line_of(w, mdtrt_id, "R", **rounded)]})["result"][0]
    assert result["det_item_fee_sumamt"] == Decimal("24.69")
    data = settle_data(w.who, mdtrt_id, Decimal("24.69"), by_card=True, med_type="11")
    out = w.c1.ok("2207", {"data": data})
    info = out["setlinfo"]
    assert info["medfee_sumamt"] == Decimal("24.69")
    assert arithmetic_problems(info) == []
    # pool_prop_selfpay is a ratio: the basic fund's share above the threshold.
    ratio = info["pool_prop_selfpay"]
    assert Decimal(0) <= ratio <= Decimal(1)
    above = info["inscp_scp_amt"] - info["act_pay_dedc"]
    if above > 0:
        assert abs(ratio * above - info["hifp_pay"]) < Decimal("0.01")
    # 5203 by psn_no and setl_id alone.
    found = w.c1.ok("5203", {"data": {"psn_no": w.who.person_id, "setl_id": info["setl_id"]}})
    assert found["setlinfo"]["medfee_sumamt"] == Decimal("24.69")


def test_discharge_with_the_diagnosis_in_diseinfo(engine: Engine, client: TestClient) -> None:
    w = _world(engine, client)
    stay = w.h3.ok("2401", _admission(w.who, 9))["result"]["mdtrt_id"]
    dscg: dict[str, Any] = {
        "mdtrt_id": stay,
        "psn_no": w.who.person_id,
        "insutype": w.who.insutype,
        "endtime": "2026-03-05 10:00:00",
        "dscg_way": "1",
    }
    disease = {"diag_type": "1", "diag_srt_no": 1, "diag_code": "K35.8", "diag_name": "阑尾炎"}
    _refused(w.h3, w.h3.envelope("2402", {"dscginfo": dscg}), "dise_codg")
    w.h3.ok("2402", {"dscginfo": dscg, "diseinfo": [disease]})
    stay_data = settle_data(w.who, stay, Decimal("0.00"), by_card=False, med_type=None)
    assert stay_data["mdtrt_id"] == stay


def test_the_cause_and_the_delivery_as_hospitals_send_them(
    engine: Engine, client: TestClient
) -> None:
    """2401 trum_flag / rel_ttp_flag / matn_type are checked as the card API checks cause
    and delivery, refused naming the field; 2402's matn_type sets the delivery of a stay
    not yet settled."""
    w = _world(engine, client)
    h3 = w.h3
    base = _admission(w.who, 61)
    info = base["mdtrtinfo"]

    def admission(**fields: str) -> dict[str, Any]:
        return {**base, "mdtrtinfo": {**info, "ipt_no": f"IPT6{len(fields)}", **fields}}

    for fields, field, *why in [
        ({"trum_flag": "1", "rel_ttp_flag": "1"}, "rel_ttp_flag", "invalid_cause"),
        ({"trum_flag": "2"}, "trum_flag"),
        ({"matn_type": "9"}, "matn_type", "9"),
    ]:
        _refused(h3, h3.envelope("2401", admission(**fields)), f"mdtrtinfo.{field}", *why)
    stay = h3.ok("2401", admission(trum_flag="1", rel_ttp_flag="0"))["result"]["mdtrt_id"]
    birth = h3.ok("2401", admission(matn_type="1", trum_flag="", rel_ttp_flag=""))["result"]
    with engine.connect() as conn:
        c = fsi_visits.c
        facts = dict(
            conn.execute(select(c.mdtrt_id, c.cause + "/" + func.coalesce(c.delivery, "-"))).all()
        )
    assert facts[stay] == "accident/-"
    assert facts[birth["mdtrt_id"]] == "ordinary/natural"
    dscg = {
        "mdtrt_id": birth["mdtrt_id"],
        "psn_no": w.who.person_id,
        "insutype": w.who.insutype,
        "endtime": "2026-03-04 10:00:00",
        "dise_codg": "O80",
        "dise_name": "单胎顺产",
        "dscg_way": "1",
        "matn_type": "2",
    }
    h3.ok("2402", {"dscginfo": dscg})
    with engine.connect() as conn:
        c = fsi_visits.c
        found = conn.execute(select(c.delivery).where(c.mdtrt_id == birth["mdtrt_id"])).scalar()
    assert found == "caesarean"
