"""Treatment in another region at the national interface (reference §9), on SQLite and
PostgreSQL: the envelope names the insured place (insuplc_admdvs, hill-county's 990200)
and the place of treatment (mdtrtarea_admvs, sample-city's 990100); the pre-settlement
and the settlement give the card API's answer (the city's caps and classes, the county's
rates), the settlement books the receivable and the payable, and a cancellation the
opposite."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from integration.certificates_world import card_of
from integration.clearing_world import (
    BED,
    CITIZEN,
    CITIZEN2,
    CITY,
    CITY3,
    COUNTRYMAN,
    COUNTY,
    COUNTY2,
    DRUG,
    FILED,
    build,
    stay,
)
from integration.test_fsi import His, insured
from yibao.adapters.db.tables_clearing import region_ledger
from yibao.adapters.db.uow import UnitOfWork


class Elsewhere(His):
    """A hospital's system sending for a patient insured in another region: by default a
    sample-city hospital (990100) for a hill-county patient (990200)."""

    insured_at = "990200"

    def envelope(
        self, infno: str, input_: dict[str, Any], msgid: str | None = None
    ) -> dict[str, Any]:
        message = super().envelope(infno, input_, msgid)
        message["insuplc_admdvs"] = self.insured_at
        return message


# The bed day at the city's price (the county's cap is lower); the drug is class A in the
# city, self-pay in the county.
CITY_LINES = [(BED, Decimal(10), Decimal("50.00")), (DRUG, Decimal(1), Decimal("300.00"))]


def _visit(
    his: His,
    who: Any,
    day: str,
    lines: list[tuple[str, Decimal, Decimal]] = CITY_LINES,
    med_type: str = "11",  # 11 outpatient, 13 emergency
) -> tuple[str, dict[str, Any]]:
    """Register an outpatient visit, its diagnosis and its fee lines; the settle data."""
    out = his.ok(
        "2201",
        {
            "data": {
                "psn_no": who.person_id,
                "insutype": who.insutype,
                "begntime": f"{day} 08:00:00",
                "mdtrt_cert_type": "03",
                "mdtrt_cert_no": who.card,
                "ipt_otp_no": "OTP1",
                "atddr_no": "DR01",
                "dr_name": "医生",
                "dept_code": "D01",
                "dept_name": "内科",
                "caty": "A03",
            }
        },
    )
    mdtrt_id = out["data"]["mdtrt_id"]
    his.ok(
        "2203",
        {
            "mdtrtinfo": {
                "mdtrt_id": mdtrt_id,
                "psn_no": who.person_id,
                "med_type": med_type,
                "begntime": f"{day} 08:00:00",
                "main_cond_dscr": "",
                "dise_codg": "",
                "dise_name": "",
            },
            "diseinfo": [
                {
                    "psn_no": who.person_id,
                    "diag_type": "1",
                    "diag_srt_no": "1",
                    "diag_code": "J06.9",
                    "diag_name": "诊断",
                    "diag_dept": "内科",
                    "dise_dor_no": "DR01",
                    "dise_dor_name": "医生",
                    "diag_time": f"{day} 08:00:00",
                    "vali_flag": "1",
                }
            ],
        },
    )
    his.ok(
        "2204",
        {
            "feedetail": [
                {
                    "feedetl_sn": f"L{i}",
                    "mdtrt_id": mdtrt_id,
                    "psn_no": who.person_id,
                    "chrg_bchno": "B1",
                    "fee_ocur_time": f"{day} 10:00:00",
                    "med_list_codg": code,
                    "medins_list_codg": f"HIS-{code}",
                    "det_item_fee_sumamt": cnt * pric,
                    "cnt": cnt,
                    "pric": pric,
                    "bilg_dept_codg": "D01",
                    "bilg_dept_name": "内科",
                    "bilg_dr_codg": "DR01",
                    "bilg_dr_name": "医生",
                }
                for i, (code, cnt, pric) in enumerate(lines, start=1)
            ]
        },
    )
    total = sum((cnt * pric for _, cnt, pric in lines), Decimal(0))
    return mdtrt_id, {
        "psn_no": who.person_id,
        "mdtrt_cert_type": "03",
        "mdtrt_cert_no": who.card,
        "medfee_sumamt": total,
        "psn_setlway": "01",
        "mdtrt_id": mdtrt_id,
        "chrg_bchno": "B1",
        "insutype": who.insutype,
        "acct_used_flag": "0",
        "med_type": med_type,
    }


def test_a_county_patient_at_a_city_hospital_through_the_interface(
    engine: Engine, client: TestClient
) -> None:
    build(engine)
    body = stay(COUNTRYMAN, "2026-03-02", 10, "50.00", "300.00", kind="outpatient")
    api = client.post("/v1/quotes", json=body, headers={"X-Institution": CITY3})
    assert api.status_code == 200, api.text
    want = api.json()
    assert (want["over_limit"], want["self_pay"]) == ("0.00", "0.00")  # the city's cap, class
    assert Decimal(want["basic"]) > 0
    with UnitOfWork(engine) as uow:
        who = insured(uow, COUNTRYMAN, card_of(COUNTRYMAN))
    his = Elsewhere(client, CITY3, admvs="990100")
    his.day = his.day.replace(month=3, day=2)
    his.sign_in()
    info = his.ok("1101", {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": who.card}})
    assert {i["insuplc_admdvs"] for i in info["insuinfo"]} == {"990200"}
    mdtrt_id, data = _visit(his, who, "2026-03-02")
    quote = his.ok("2206", {"data": data})["setlinfo"]
    settled = his.ok("2207", {"data": data})["setlinfo"]
    for answer in (quote, settled):
        assert Decimal(str(answer["hifp_pay"])) == Decimal(want["basic"])
        assert Decimal(str(answer["overlmt_selfpay"])) == Decimal(want["over_limit"])
        assert Decimal(str(answer["medfee_sumamt"])) == Decimal(want["total"])
    with engine.connect() as conn:
        books = conn.execute(
            select(region_ledger.c.region, region_ledger.c.side, region_ledger.c.amount_fen)
        ).all()
    fen = int(Decimal(want["basic"]) * 100)
    assert sorted(tuple(r) for r in books) == [(COUNTY, "payable", fen), (CITY, "receivable", fen)]

    cancelled = his.ok(
        "2208",
        {"data": {"setl_id": settled["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": who.person_id}},
    )
    assert cancelled
    with engine.connect() as conn:
        open_ = conn.execute(select(region_ledger.c.region, region_ledger.c.amount_fen)).all()
    assert sum(int(r.amount_fen) for r in open_ if r.region == CITY) == 0
    assert sum(int(r.amount_fen) for r in open_ if r.region == COUNTY) == 0


def test_city_residents_at_a_county_hospital_filed_unfiled_and_emergency_through_the_interface(
    engine: Engine, client: TestClient
) -> None:
    """The reverse direction: the county's catalogue (its cap, its classes), the city's
    rates, halved for the unfiled resident, whole for the filed one and in an emergency;
    the interface answers
    what the card API answers for the same bill."""
    build(engine)
    his = Elsewhere(client, COUNTY2, admvs="990200")
    his.insured_at = "990100"
    his.day = his.day.replace(month=3, day=5)
    his.sign_in()
    lines = [(BED, Decimal(20), Decimal("40.00"))]
    paid = {}
    for person in (CITIZEN, FILED):
        body = stay(person, "2026-03-05", 20, "40.00", kind="outpatient")
        want = client.post("/v1/quotes", json=body, headers={"X-Institution": COUNTY2}).json()
        with UnitOfWork(engine) as uow:
            who = insured(uow, person, card_of(person))
        _, data = _visit(his, who, "2026-03-05", lines)
        settled = his.ok("2207", {"data": data})["setlinfo"]
        assert Decimal(str(settled["hifp_pay"])) == Decimal(want["basic"]), person
        assert Decimal(str(settled["medfee_sumamt"])) == Decimal(want["total"]), person
        paid[person] = Decimal(want["basic"])
    assert paid[FILED] > 0
    assert paid[FILED] == 2 * paid[CITIZEN]  # unfiled: the city's rate halved
    # An emergency there (med_type 13) is settled at the city's local rates.
    body = stay(CITIZEN2, "2026-03-05", 20, "40.00", kind="emergency")
    want = client.post("/v1/quotes", json=body, headers={"X-Institution": COUNTY2}).json()
    with UnitOfWork(engine) as uow:
        who = insured(uow, CITIZEN2, card_of(CITIZEN2))
    _, data = _visit(his, who, "2026-03-05", lines, med_type="13")
    settled = his.ok("2207", {"data": data})["setlinfo"]
    assert Decimal(str(settled["hifp_pay"])) == Decimal(want["basic"]) == paid[FILED]
    paid[CITIZEN2] = Decimal(want["basic"])
    with engine.connect() as conn:
        books = conn.execute(
            select(region_ledger.c.region, region_ledger.c.side, region_ledger.c.amount_fen)
        ).all()
    owed = int(sum(paid.values()) * 100)
    assert sorted((r.region, r.side) for r in books) == sorted(
        [(CITY, "payable")] * 3 + [(COUNTY, "receivable")] * 3
    )
    assert sum(int(r.amount_fen) for r in books if r.region == CITY) == owed
    assert sum(int(r.amount_fen) for r in books if r.region == COUNTY) == owed
