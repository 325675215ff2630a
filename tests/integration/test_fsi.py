"""The national interface (`POST /fsi/api/callService`) on SQLite and PostgreSQL: a
hospital system (HIS) plays whole years of scenarios through it, and every settlement
splits exactly as the native API and the scenario runner split the same bill, with the
arithmetic a hospital reconciles on holding to the fen; bad messages answer infcode -1
and change nothing."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from integration.world import (
    CODES,
    bill_json,
    claim_json,
    item_code,
    register,
    register_person,
)
from yibao.adapters.db.tables import metadata, person_years, settlements
from yibao.adapters.db.tables_fsi import fsi_visits
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import search_path
from yibao.adapters.scenario_files import Scenario, load_scenario
from yibao.bootstrap import PolicyLoader
from yibao.domain.engine import EncounterResult, Route
from yibao.domain.engine.settle import order_of_settlement
from yibao.domain.model import Encounter, Hospital, Kind, Line, LineClass, Scheme
from yibao.domain.money import fmt, round_fen
from yibao.domain.registry import (
    Institution,
    InstitutionKind,
)
from yibao.fsi.codes import INSUTYPE, MED_TYPE_OF_KIND
from yibao.fsi.jsontext import dumps, loads
from yibao.fsi.setlinfo import AMOUNTS, arithmetic_problems
from yibao.service import scenarios

URL = "/fsi/api/callService"
_msgids = itertools.count(1)


class His:
    """One institution's hospital system."""

    def __init__(self, client: TestClient, institution: str, admvs: str = "990100") -> None:
        self.client = client
        self.institution = institution
        self.admvs = admvs
        self.sign_no = ""
        self.day = date(2026, 1, 1)

    def envelope(
        self, infno: str, input_: dict[str, Any], msgid: str | None = None
    ) -> dict[str, Any]:
        return {
            "infno": infno,
            "msgid": msgid or f"{self.institution:0<12}{self.day:%Y%m%d}090000{next(_msgids):06d}",
            "mdtrtarea_admvs": self.admvs,
            "insuplc_admdvs": self.admvs,
            "recer_sys_code": "FSI_LOCAL",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": "001",
            "opter_name": "收费员",
            "inf_time": f"{self.day.isoformat()} 09:00:00",
            "fixmedins_code": self.institution,
            "fixmedins_name": f"hospital {self.institution}",
            "sign_no": self.sign_no,
            "input": input_,
        }

    def send(self, message: Any) -> dict[str, Any]:
        body = message if isinstance(message, bytes) else dumps(message).encode()
        # Signed as an account of the institution (the test client's X-Institution).
        headers = {"Content-Type": "application/json", "X-Institution": self.institution}
        answer = self.client.post(URL, content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        parsed: dict[str, Any] = loads(answer.content)
        return parsed

    def call(self, infno: str, input_: dict[str, Any], msgid: str | None = None) -> dict[str, Any]:
        return self.send(self.envelope(infno, input_, msgid))

    def ok(self, infno: str, input_: dict[str, Any]) -> dict[str, Any]:
        answer = self.call(infno, input_)
        assert answer["infcode"] == 0, f"{infno}: {answer['err_msg']}"
        assert answer["err_msg"] is None
        out: dict[str, Any] = answer["output"]
        return out

    def sign_in(self) -> str:
        out = self.ok(
            "9001", {"signIn": {"opter_no": "001", "mac": "00-00-00-00-00-00", "ip": "10.0.0.1"}}
        )
        self.sign_no = out["signinoutb"]["sign_no"]
        return self.sign_no


@dataclass(frozen=True)
class Insured:
    person_id: str
    id_number: str
    card: str
    insutype: str
    voucher: Callable[[], str] | None = None  # makes a fresh electronic voucher


def register_twin(
    uow: UnitOfWork, scenario: Scenario, suffix: str, policy_path: Any = None
) -> Insured:
    """The scenario's person again under another id (its institutions must exist already)."""
    twin = register_person(uow, scenario, f"{scenario.person.id}-{suffix}", policy_path)
    record = uow.registry.person(twin.person_id)
    assert record is not None
    return Insured(
        twin.person_id, record.id_number, twin.card_number, INSUTYPE[scenario.person.scheme]
    )


def insured(uow: UnitOfWork, person_id: str, card: str) -> Insured:
    record = uow.registry.person(person_id)
    assert record is not None
    enrolments = [uow.registry.enrolment(person_id, y) for y in range(2024, 2028)]
    scheme = next(e.scheme for e in enrolments if e is not None)
    return Insured(person_id, record.id_number, card, INSUTYPE[scheme])


def cert(who: Insured, by_card: bool | str) -> dict[str, str]:
    """The certificate a patient shows: card, ID card, or (by_card="voucher") the member
    app's electronic voucher, freshly made."""
    if by_card == "voucher":
        assert who.voucher is not None
        return {"mdtrt_cert_type": "01", "mdtrt_cert_no": who.voucher()}
    if by_card:
        return {"mdtrt_cert_type": "03", "mdtrt_cert_no": who.card}
    return {"mdtrt_cert_type": "02", "mdtrt_cert_no": who.id_number}


def fee_lines(
    mdtrt_id: str, psn_no: str, enc: Encounter, prefix: str, refund: bool
) -> list[dict[str, Any]]:
    """The bill's lines: a catalogue item by its code, quantity and the institution's own
    price (above the cap, in the over-limit scenarios), a plain line as one of its class.
    With `refund`, the first line is charged twice and one is refunded."""
    rows: list[dict[str, Any]] = []
    for i, ln in enumerate(enc.lines, start=1):
        code, cnt, pric = _billed(enc, i, ln)
        if refund and i == 1:
            cnt *= 2
        rows.append(_line(mdtrt_id, psn_no, enc, f"{prefix}{i:03d}", code, cnt, pric))
    if refund and enc.lines:
        code, cnt, pric = _billed(enc, 1, enc.lines[0])
        rows.append(
            {
                **_line(mdtrt_id, psn_no, enc, f"{prefix}R01", code, -cnt, pric),
                "init_feedetl_sn": f"{prefix}001",
            }
        )
    return rows


def _billed(enc: Encounter, no: int, ln: Line) -> tuple[str, Decimal, Decimal]:
    if not ln.itemised:
        return CODES[ln.cls], Decimal(1), ln.amount
    quantity = ln.quantity if ln.quantity is not None else Decimal(1)
    price = ln.unit_price if ln.unit_price is not None else ln.amount
    return item_code(enc, no), quantity, price


def _line(
    mdtrt_id: str, psn_no: str, enc: Encounter, sn: str, code: str, cnt: Decimal, pric: Decimal
) -> dict[str, Any]:
    row = {
        "feedetl_sn": sn,
        "mdtrt_id": mdtrt_id,
        "psn_no": psn_no,
        "chrg_bchno": "B1",
        "fee_ocur_time": f"{enc.date.isoformat()} 10:00:00",
        "med_list_codg": code,
        "medins_list_codg": f"HIS-{code}",
        "det_item_fee_sumamt": round_fen(cnt * pric),
        "cnt": cnt,
        "pric": pric,
        "bilg_dept_codg": "D01",
        "bilg_dept_name": "内科",
        "bilg_dr_codg": "DR01",
        "bilg_dr_name": "医生",
    }
    if enc.kind is Kind.PHARMACY and enc.prescription:
        row["rxno"] = f"RX{sn}"
    return row


def settle_data(
    who: Insured, mdtrt_id: str, total: Decimal, *, by_card: bool | str, med_type: str | None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "psn_no": who.person_id,
        **cert(who, by_card),
        "medfee_sumamt": total,
        "psn_setlway": "01",
        "mdtrt_id": mdtrt_id,
        "chrg_bchno": "B1",
        "insutype": who.insutype,
        "acct_used_flag": "0",
    }
    if med_type is None:
        data["mid_setl_flag"] = "0"
    else:
        data["med_type"] = med_type
    return data


@dataclass
class Played:
    setl_id: str
    mdtrt_id: str
    inpatient: bool
    quote: dict[str, Any]
    setlinfo: dict[str, Any]
    setldetail: list[dict[str, Any]]
    uploads: list[dict[str, Any]]


DELIVERY_MATN = {"natural": "1", "caesarean": "2"}  # matn_type (生育类别)


def _facts(enc: Encounter) -> dict[str, str]:
    """The encounter's cause as hospitals send it: 外伤标志, 涉及第三方标志."""
    return {"trum_flag": "1" if enc.cause == "accident" else "0", "rel_ttp_flag": "0"}


def play(his: His, who: Insured, enc: Encounter, n: int, *, by_card: bool | str) -> Played:
    """One encounter through the interface: register or admit, upload, pre-settle, settle."""
    his.day = enc.date
    prefix = f"F{n:03d}"
    if enc.kind is Kind.INPATIENT:
        out = his.ok(
            "2401",
            {
                "mdtrtinfo": {
                    "psn_no": who.person_id,
                    "insutype": who.insutype,
                    "coner_name": "",
                    "tel": "",
                    "begntime": f"{enc.date.isoformat()} 08:00:00",
                    **cert(who, by_card),
                    "med_type": "21",
                    "ipt_no": f"IPT{n}",
                    "medrcdno": f"MR{n}",
                    "atddr_no": "DR01",
                    "chfpdr_name": "医生",
                    "adm_diag_dscr": "",
                    "adm_dept_codg": "D01",
                    "adm_dept_name": "外科",
                    "adm_bed": "1",
                    "dscg_maindiag_code": enc.diagnosis or "R69",
                    "dscg_maindiag_name": "主诊断",
                    "main_cond_dscr": "",
                    "dise_codg": "",
                    "dise_name": "",
                    **_facts(enc),
                    "matn_type": DELIVERY_MATN.get(enc.delivery or "", ""),
                },
                "diseinfo": [
                    {
                        "psn_no": who.person_id,
                        "diag_type": "1",
                        "maindiag_flag": "1",
                        "diag_srt_no": 1,
                        "diag_code": enc.diagnosis or "R69",
                        "diag_name": "主诊断",
                        "adm_cond": "",
                        "diag_dept": "外科",
                        "dise_dor_no": "DR01",
                        "dise_dor_name": "医生",
                        "diag_time": f"{enc.date.isoformat()} 08:00:00",
                    }
                ],
            },
        )
        mdtrt_id = out["result"]["mdtrt_id"]
        lines = fee_lines(mdtrt_id, who.person_id, enc, prefix, refund=True)
        uploads = his.ok("2301", {"feedetail": lines})["result"]
        total = sum((ln["det_item_fee_sumamt"] for ln in lines), Decimal(0))
        data = settle_data(who, mdtrt_id, total, by_card=by_card, med_type=None)
        quote = his.ok("2303", {"data": data})
        settled = his.ok("2304", {"data": data})
    else:
        med_type = MED_TYPE_OF_KIND[enc.kind]
        out = his.ok(
            "2201",
            {
                "data": {
                    "psn_no": who.person_id,
                    "insutype": who.insutype,
                    "begntime": f"{enc.date.isoformat()} 08:00:00",
                    **cert(who, by_card),
                    "ipt_otp_no": f"OTP{n}",
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
                    "begntime": f"{enc.date.isoformat()} 08:00:00",
                    "main_cond_dscr": "",
                    "dise_codg": enc.disease or "",
                    "dise_name": enc.disease or "",
                    **_facts(enc),
                },
                "diseinfo": [
                    {
                        "psn_no": who.person_id,
                        "diag_type": "1",
                        "diag_srt_no": "1",
                        "diag_code": enc.diagnosis or "R69",
                        "diag_name": "诊断",
                        "diag_dept": "内科",
                        "dise_dor_no": "DR01",
                        "dise_dor_name": "医生",
                        "diag_time": f"{enc.date.isoformat()} 08:00:00",
                        "vali_flag": "1",
                    }
                ],
            },
        )
        lines = fee_lines(mdtrt_id, who.person_id, enc, prefix, refund=False)
        uploads = his.ok("2204", {"feedetail": lines})["result"]
        total = sum((ln["det_item_fee_sumamt"] for ln in lines), Decimal(0))
        data = settle_data(who, mdtrt_id, total, by_card=by_card, med_type=med_type)
        quote = his.ok("2206", {"data": data})
        settled = his.ok("2207", {"data": data})
    return Played(
        settled["setlinfo"]["setl_id"],
        mdtrt_id,
        enc.kind is Kind.INPATIENT,
        quote,
        settled["setlinfo"],
        settled["setldetail"],
        uploads,
    )


# --- the flows, scenario by scenario ---------------------------------------------------

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
POLICY_PATH = search_path([TESTS / "regions"])
RIVER = ("accident-yearly-cap", "childbirth-fixed-sums", "childbirth-outside-top-line")
FILES = sorted(
    [
        *(ROOT / "examples").glob("*.yaml"),
        *(TESTS / "scenarios").glob("*.yaml"),
        *(TESTS / "regions" / "test-town-scenarios").glob("*.yaml"),
        # The cause and the delivery, sent as 2401 / 2203 trum_flag and matn_type.
        *(TESTS / "scenarios" / "river-county" / f"rc-{name}.yaml" for name in RIVER),
    ]
)
SPLIT = ("basic", "assistance", "institution", "personal")


def _amounts(setlinfo: dict[str, Any]) -> dict[str, Decimal]:
    return {k: Decimal(str(setlinfo[k])) for k in AMOUNTS}


def _check(p: Played, want: EncounterResult, native: dict[str, Any]) -> None:
    s = p.setlinfo
    assert arithmetic_problems(s) == [], s
    for name in AMOUNTS:  # numbers with exactly two decimals
        assert isinstance(s[name], Decimal), name
        assert s[name].as_tuple().exponent == -2, name
    a = _amounts(s)
    assert a["medfee_sumamt"] == want.total
    assert a["fulamt_ownpay_amt"] == want.self_pay
    assert a["overlmt_selfpay"] == want.over_limit
    assert a["preselfpay_amt"] == want.first_self_pay_balanced
    assert a["inscp_scp_amt"] == round_fen(want.eligible)
    assert a["act_pay_dedc"] == round_fen(want.threshold)
    assert (a["hifp_pay"], a["maf_pay"], a["hosp_part_amt"], a["psn_part_amt"]) == (
        want.basic,
        want.assistance,
        want.institution,
        want.personal,
    )
    assert a["fund_pay_sumamt"] == want.basic + want.assistance
    # The native API settles the same bill (for the person's twin) the same way.
    assert native["total"] == fmt(a["medfee_sumamt"])
    assert native["self_pay"] == fmt(a["fulamt_ownpay_amt"])
    assert native["first_self_pay"] == fmt(a["preselfpay_amt"])
    assert native["eligible"] == fmt(a["inscp_scp_amt"])
    assert native["threshold"] == fmt(a["act_pay_dedc"])
    assert [native[k] for k in SPLIT] == [
        fmt(a[k]) for k in ("hifp_pay", "maf_pay", "hosp_part_amt", "psn_part_amt")
    ]
    # The pre-settlement said the same; the funds add up; each line adds up.
    quoted = _amounts(p.quote["setlinfo"])
    assert quoted == a
    assert p.quote["setlinfo"]["setl_id"] is None
    assert sum((d["fund_payamt"] for d in p.setldetail), Decimal(0)) == a["fund_pay_sumamt"]
    assert sum((u["det_item_fee_sumamt"] for u in p.uploads), Decimal(0)) == a["medfee_sumamt"]
    for u in p.uploads:
        parts = u["inscp_scp_amt"] + u["preselfpay_amt"] + u["fulamt_ownpay_amt"] + u["overlmt_amt"]
        assert parts == u["det_item_fee_sumamt"], u
    if want.route not in (Route.REFUSED, Route.OUT_OF_SCOPE):  # else the whole bill is self-paid
        # Each line's result (before settlement) is the settlement's line step.
        for key, part in (("fulamt_ownpay_amt", "full_self_pay"), ("overlmt_amt", "over_limit")):
            got = sum((u[key] for u in p.uploads), Decimal(0))
            assert got == sum((getattr(r, part) for r in want.lines), Decimal(0)), key


def _claim_both(client: TestClient, scenario: Scenario, enc: Encounter, ids: list[str]) -> None:
    for pid in ids:
        submitted = client.post("/v1/claims", json=claim_json(pid, scenario.region, enc))
        assert submitted.status_code == 201, submitted.text
        approved = client.post(f"/v1/claims/{submitted.json()['id']}/approval")
        assert approved.status_code == 200, approved.text


def _cancel(his: His, who: Insured, p: Played) -> dict[str, Any]:
    data = {"setl_id": p.setl_id, "mdtrt_id": p.mdtrt_id, "psn_no": who.person_id}
    return his.ok("2305" if p.inpatient else "2208", {"data": data})


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_scenario_settles_through_the_interface_as_natively(
    path: Path, engine: Engine, client: TestClient
) -> None:
    scenario = load_scenario(path)
    expected = scenarios.run(scenario, PolicyLoader(POLICY_PATH))
    with UnitOfWork(engine) as uow:
        reg = register(uow, scenario, POLICY_PATH)
        twin = register_twin(uow, scenario, "native", POLICY_PATH)
        uow.commit()
    with UnitOfWork(engine) as uow:
        me = insured(uow, reg.person_id, reg.card_number)
    by_id = {r.encounter_id: r for r in expected.encounters}
    systems: dict[str, His] = {}
    played: list[tuple[His, Played, int]] = []
    for n, enc in enumerate(order_of_settlement(scenario.encounters)):
        if not enc.hospital.designated:  # no card settlement there: paid first, claimed back
            _claim_both(client, scenario, enc, [me.person_id, twin.person_id])
            continue
        his = systems.get(enc.hospital.id)
        if his is None:
            his = systems[enc.hospital.id] = His(client, enc.hospital.id)
            his.day = enc.date
            his.sign_in()
            info = his.ok("1101", {"data": cert(me, by_card=n % 2 == 1)})
            assert info["baseinfo"]["psn_no"] == me.person_id
            assert info["insuinfo"][0]["insutype"] == me.insutype
        p = play(his, me, enc, n, by_card=n % 2 == 0)
        headers = {"X-Institution": enc.hospital.id}
        native = client.post("/v1/settlements", json=bill_json(twin.card, enc), headers=headers)
        assert native.status_code == 201, native.text
        _check(p, by_id[enc.id], native.json())
        query = {"setl_id": p.setl_id, "mdtrt_id": p.mdtrt_id, "psn_no": me.person_id}
        found = his.ok("5203", {"data": query})
        assert _amounts(found["setlinfo"]) == _amounts(p.setlinfo)
        stored = client.get(f"/v1/settlements/{p.setl_id}", headers=headers).json()
        assert [stored[k] for k in SPLIT] == [native.json()[k] for k in SPLIT]
        if p.inpatient:
            his.ok(
                "2402",
                {
                    "dscginfo": {
                        "mdtrt_id": p.mdtrt_id,
                        "psn_no": me.person_id,
                        "insutype": me.insutype,
                        "endtime": f"{enc.date.isoformat()} 16:00:00",
                        "dise_codg": enc.diagnosis or "R69",
                        "dise_name": "出院诊断",
                        "dscg_way": "1",
                    }
                },
            )
        played.append((his, p, int(native.json()["id"])))
    if not played:
        return
    # Cancel the first settlement (the later ones are re-settled) and the last, through the
    # interface and natively for the twin: the same amounts move, and 5203 then reports
    # what the native API reports.
    cancels = [played[0]] + ([played[-1]] if len(played) > 1 else [])
    for his, p, twin_id in cancels:
        out = _cancel(his, me, p)
        reversal = client.post(
            f"/v1/settlements/{twin_id}/reversal",
            json={"reason": "test"},
            headers={"X-Institution": his.institution},
        )
        assert reversal.status_code == 200, reversal.text
        native = reversal.json()
        assert fmt(-out["setlinfo"]["hifp_pay"]) == native["reversed"]["basic"]
        assert fmt(-out["setlinfo"]["psn_part_amt"]) == native["reversed"]["personal"]
        assert len(out["adjustments"]) == len(native["adjustments"])
        for mine, theirs in zip(out["adjustments"], native["adjustments"], strict=True):
            assert fmt(mine["hifp_pay"]) == theirs["difference"]["basic"]
            assert fmt(mine["psn_part_amt"]) == theirs["difference"]["personal"]
    for his, p, twin_id in played:
        query = {"setl_id": p.setl_id, "mdtrt_id": p.mdtrt_id, "psn_no": me.person_id}
        found = his.ok("5203", {"data": query})["setlinfo"]
        assert arithmetic_problems(found) == []
        theirs = client.get(
            f"/v1/settlements/{twin_id}", headers={"X-Institution": his.institution}
        ).json()
        got = [found[k] for k in ("hifp_pay", "maf_pay", "hosp_part_amt", "psn_part_amt")]
        assert [fmt(v) for v in got] == [theirs[k] for k in SPLIT]
        assert found["refd_setl_flag"] == ("1" if theirs["status"] == "reversed" else "0")


def test_the_scenarios_cover_every_scheme_outpatient_and_inpatient() -> None:
    seen = set()
    for path in FILES:
        s = load_scenario(path)
        for e in s.encounters:
            if e.hospital.designated:
                seen.add((s.person.scheme, e.kind is Kind.INPATIENT))
    assert seen >= {(scheme, inpatient) for scheme in Scheme for inpatient in (False, True)}


# --- bad messages: infcode -1, a Chinese err_msg naming the field, nothing changed ------


def _snapshot(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }
        visits = sorted(conn.execute(select(fsi_visits)).all())
        years = sorted(conn.execute(select(person_years)).all())
        settled = sorted(conn.execute(select(settlements.c.id, settlements.c.status)).all())
    return {"rows": counts, "visits": visits, "years": years, "settlements": settled}


def _without(message: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    copy = loads(dumps(message))
    node = copy
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return copy


def _with(message: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    copy = loads(dumps(message))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


def _shown(path: tuple[str | int, ...]) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else key)
    return out


@dataclass
class World:
    c1: His
    h3: His
    who: Insured
    open_visit: str  # outpatient at C1, lines uploaded, not settled
    settled_visit: str
    setl_id: str
    cancelled_visit: str
    stay: str  # inpatient at H3, lines uploaded, not settled
    stay_setl: tuple[str, str]  # (setl_id, mdtrt_id) of a settled stay at H3


def _world(engine: Engine, client: TestClient) -> World:
    scenario = load_scenario(ROOT / "examples" / "employee-outpatient-special.yaml")
    with UnitOfWork(engine) as uow:
        reg = register(uow, scenario, POLICY_PATH)
        uow.registry.add_institution(
            Institution("H9", "sample-city", "hospital H9", 3, InstitutionKind.HOSPITAL, True)
        )
        uow.commit()
    with UnitOfWork(engine) as uow:
        who = insured(uow, reg.person_id, reg.card_number)
    c1, h3 = His(client, "C1"), His(client, "H9")
    for his in (c1, h3):
        his.day = date(2026, 3, 1)
        his.sign_in()
    outpatient = Encounter(
        "X",
        date(2026, 3, 1),
        Kind.OUTPATIENT,
        Hospital("C1", 1),
        (Line(LineClass.A, Decimal("80.00")),),
    )
    settled = play(c1, who, outpatient, 1, by_card=True)
    inpatient = Encounter(
        "Y",
        date(2026, 3, 1),
        Kind.INPATIENT,
        Hospital("H9", 3),
        (Line(LineClass.A, Decimal("3000.00")),),
        diagnosis="K35.8",
    )
    stay_settled = play(h3, who, inpatient, 2, by_card=False)
    # An open outpatient visit with a line, and a cancelled one.
    ids = []
    for n in (3, 4):
        out = c1.ok("2201", {"data": _register_data(who, n)})
        ids.append(out["data"]["mdtrt_id"])
    c1.ok("2204", {"feedetail": fee_lines(ids[0], who.person_id, outpatient, "O3", refund=False)})
    c1.ok("2202", {"data": {"psn_no": who.person_id, "mdtrt_id": ids[1], "ipt_otp_no": "OTP4"}})
    stay = h3.ok("2401", _admission(who, 5))["result"]["mdtrt_id"]
    h3.ok("2301", {"feedetail": fee_lines(stay, who.person_id, inpatient, "S5", refund=True)})
    return World(
        c1,
        h3,
        who,
        ids[0],
        settled.mdtrt_id,
        settled.setl_id,
        ids[1],
        stay,
        (stay_settled.setl_id, stay_settled.mdtrt_id),
    )


def _register_data(who: Insured, n: int) -> dict[str, Any]:
    return {
        "psn_no": who.person_id,
        "insutype": who.insutype,
        "begntime": "2026-03-01 08:00:00",
        **cert(who, by_card=True),
        "ipt_otp_no": f"OTP{n}",
        "atddr_no": "DR01",
        "dr_name": "医生",
        "dept_code": "D01",
        "dept_name": "内科",
        "caty": "A03",
    }


def _admission(who: Insured, n: int) -> dict[str, Any]:
    return {
        "mdtrtinfo": {
            "psn_no": who.person_id,
            "insutype": who.insutype,
            "begntime": "2026-03-01 08:00:00",
            **cert(who, by_card=False),
            "med_type": "21",
            "ipt_no": f"IPT{n}",
            "atddr_no": "DR01",
            "chfpdr_name": "医生",
            "adm_dept_codg": "D01",
            "adm_dept_name": "外科",
            "dscg_maindiag_code": "K35.8",
            "dscg_maindiag_name": "阑尾炎",
        }
    }


def _line_of(w: World, mdtrt_id: str, sn: str, **extra: Any) -> dict[str, Any]:
    return {
        "feedetl_sn": sn,
        "mdtrt_id": mdtrt_id,
        "psn_no": w.who.person_id,
        "fee_ocur_time": "2026-03-01 10:00:00",
        "med_list_codg": "TEST-B",
        "medins_list_codg": "HIS-B",
        "det_item_fee_sumamt": Decimal("24.69"),
        "cnt": Decimal(3),
        "pric": Decimal("8.23"),
        **extra,
    }


def _valid(w: World) -> list[tuple[His, str, dict[str, Any], list[tuple[str | int, ...]]]]:
    """A message for every transaction that is complete and right but for what a case
    takes out, with the paths of its required fields."""
    who = w.who
    pid = who.person_id
    settle_open = settle_data(who, w.open_visit, Decimal("80.00"), by_card=True, med_type="11")
    settle_stay = settle_data(who, w.stay, Decimal("3000.00"), by_card=False, med_type=None)
    setl = {"setl_id": w.setl_id, "mdtrt_id": w.settled_visit, "psn_no": pid}
    stay_setl = {"setl_id": w.stay_setl[0], "mdtrt_id": w.stay_setl[1], "psn_no": pid}
    d = ("input", "data")
    info = ("input", "mdtrtinfo")
    line0 = ("input", "feedetail", 0)
    dscg = ("input", "dscginfo")
    settle_fields = [
        "psn_no",
        "mdtrt_cert_type",
        "mdtrt_cert_no",
        "medfee_sumamt",
        "psn_setlway",
        "mdtrt_id",
        "insutype",
        "acct_used_flag",
    ]
    line_fields = [
        "feedetl_sn",
        "mdtrt_id",
        "psn_no",
        "med_list_codg",
        "medins_list_codg",
        "fee_ocur_time",
        "cnt",
        "pric",
        "det_item_fee_sumamt",
    ]
    visit_info = {
        "mdtrtinfo": {
            "mdtrt_id": w.open_visit,
            "psn_no": pid,
            "med_type": "11",
            "begntime": "2026-03-01 08:00:00",
        },
        "diseinfo": [
            {"diag_type": "1", "diag_srt_no": 1, "diag_code": "J06.9", "diag_name": "上感"}
        ],
    }
    return [
        (
            w.c1,
            "9001",
            {"signIn": {"opter_no": "001", "mac": "m", "ip": "i"}},
            [("input", "signIn", k) for k in ("opter_no", "mac", "ip")],
        ),
        (
            w.c1,
            "1101",
            {"data": cert(who, by_card=True)},
            [(*d, "mdtrt_cert_type"), (*d, "mdtrt_cert_no")],
        ),
        (w.c1, "2201", {"data": _register_data(who, 9)}, [(*d, k) for k in _register_data(who, 9)]),
        (
            w.c1,
            "2202",
            {"data": {"psn_no": pid, "mdtrt_id": w.open_visit, "ipt_otp_no": "OTP3"}},
            [(*d, k) for k in ("psn_no", "mdtrt_id", "ipt_otp_no")],
        ),
        (
            w.c1,
            "2203",
            visit_info,
            [(*info, k) for k in visit_info["mdtrtinfo"]]
            + [
                ("input", "diseinfo"),
                *[("input", "diseinfo", 0, k) for k in visit_info["diseinfo"][0]],
            ],
        ),
        (
            w.c1,
            "2204",
            {"feedetail": [_line_of(w, w.open_visit, "N1")]},
            [("input", "feedetail"), *[(*line0, k) for k in line_fields]],
        ),
        (
            w.c1,
            "2205",
            {"data": {"mdtrt_id": w.open_visit, "psn_no": pid, "feedetl_sn": "O3001"}},
            [(*d, "mdtrt_id"), (*d, "psn_no")],
        ),
        (w.c1, "2206", {"data": settle_open}, [(*d, k) for k in [*settle_fields, "med_type"]]),
        (w.c1, "2207", {"data": settle_open}, [(*d, k) for k in [*settle_fields, "med_type"]]),
        (w.c1, "2208", {"data": setl}, [(*d, k) for k in setl]),
        (
            w.c1,
            "5203",
            {"data": setl},
            [(*d, k) for k in setl if k != "mdtrt_id"],
        ),  # by psn_no + setl_id too
        (w.h3, "2401", _admission(who, 8), [(*info, k) for k in _admission(who, 8)["mdtrtinfo"]]),
        (
            w.h3,
            "2301",
            {"feedetail": [_line_of(w, w.stay, "N2")]},
            [("input", "feedetail"), *[(*line0, k) for k in line_fields]],
        ),
        (
            w.h3,
            "2302",
            {"data": {"mdtrt_id": w.stay, "psn_no": pid}},
            [(*d, "mdtrt_id"), (*d, "psn_no")],
        ),
        (w.h3, "2303", {"data": settle_stay}, [(*d, k) for k in [*settle_fields, "mid_setl_flag"]]),
        (w.h3, "2304", {"data": settle_stay}, [(*d, k) for k in [*settle_fields, "mid_setl_flag"]]),
        (w.h3, "2305", {"data": stay_setl}, [(*d, k) for k in stay_setl]),
        (
            w.h3,
            "2402",
            {
                "dscginfo": {
                    "mdtrt_id": w.stay,
                    "psn_no": pid,
                    "insutype": who.insutype,
                    "endtime": "2026-03-05",
                    "dise_codg": "K35.8",
                    "dise_name": "阑尾炎",
                    "dscg_way": "1",
                }
            },
            [
                (*dscg, k)
                for k in (
                    "mdtrt_id",
                    "psn_no",
                    "insutype",
                    "endtime",
                    "dise_codg",
                    "dise_name",
                    "dscg_way",
                )
            ],
        ),
    ]


ENVELOPE = [
    "infno",
    "msgid",
    "mdtrtarea_admvs",
    "opter_type",
    "opter",
    "opter_name",
    "inf_time",
    "fixmedins_code",
    "input",
]


def _refused(his: His, message: dict[str, Any] | bytes, *expected: str) -> None:
    answer = his.send(message)
    assert answer["infcode"] == -1, (message, answer)
    assert answer["output"] is None
    err = answer["err_msg"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err), err  # in Chinese
    for text in expected:
        assert text in err, (text, err)
    assert answer["inf_refmsgid"]
    assert answer["respond_time"]


def test_each_required_field_missing_is_refused_and_changes_nothing(
    engine: Engine, client: TestClient
) -> None:
    w = _world(engine, client)
    before = _snapshot(engine)
    cases = 0
    for his, infno, input_, required in _valid(w):
        message = his.envelope(infno, input_)
        for path in required:
            _refused(his, _without(message, path), _shown(path))
            cases += 1
    message = w.c1.envelope("1101", {"data": cert(w.who, by_card=True)})
    for name in ENVELOPE:
        _refused(w.c1, _without(message, (name,)), name)
        _refused(w.c1, _with(message, (name,), ""), name)  # an empty text is a missing field
        cases += 2
    assert cases > 120
    assert _snapshot(engine) == before


def test_wrong_types_unknown_codes_and_wrong_states_are_refused_and_change_nothing(
    engine: Engine, client: TestClient
) -> None:
    w = _world(engine, client)
    c1, h3, who, pid = w.c1, w.h3, w.who, w.who.person_id
    # A message that succeeds (before the snapshot), whose msgid is reused below.
    used = c1.envelope("1101", {"data": cert(who, by_card=True)})
    assert c1.send(used)["infcode"] == 0
    before = _snapshot(engine)
    valid = {infno: (his, input_) for his, infno, input_, _ in _valid(w)}

    def refused(infno: str, path: tuple[str | int, ...], value: Any, *expected: str) -> None:
        his, input_ = valid[infno]
        _refused(his, _with(his.envelope(infno, input_), path, value), *expected)

    d = ("input", "data")
    line0 = ("input", "feedetail", 0)
    # Wrong types
    refused("2204", (*line0, "cnt"), "three", "input.feedetail[0].cnt", "类型错误")
    refused("2204", (*line0, "pric"), True, "input.feedetail[0].pric", "类型错误")
    refused("2204", (*line0, "det_item_fee_sumamt"), "24,69", "det_item_fee_sumamt")
    refused("2204", (*line0, "psn_no"), 123, "input.feedetail[0].psn_no", "不符")
    refused("2204", (*line0, "psn_no"), True, "input.feedetail[0].psn_no", "类型错误")
    refused("2204", ("input", "feedetail"), "lines", "input.feedetail", "类型错误")
    refused("2204", ("input", "feedetail", 0), "line", "input.feedetail[0]", "类型错误")
    refused("2206", d, ["not", "an", "object"], "input.data", "类型错误")
    refused("2207", (*d, "medfee_sumamt"), {"x": 1}, "input.data.medfee_sumamt", "类型错误")
    refused("2207", (*d, "medfee_sumamt"), Decimal("80.001"), "input.data.medfee_sumamt")
    refused("2201", (*d, "begntime"), "2026-13-45", "input.data.begntime")
    refused("2201", ("infno",), [2201], "infno", "类型错误")
    refused("2201", ("msgid",), {"id": 42}, "msgid", "类型错误")
    refused("1101", ("input",), "data", "input", "类型错误")
    refused("1101", ("inf_time",), "yesterday", "inf_time")
    refused("1101", ("mdtrtarea_admvs",), "99010", "mdtrtarea_admvs")
    refused(
        "2204", (*line0, "det_item_fee_sumamt"), Decimal("25.00"), "det_item_fee_sumamt", "24.69"
    )
    refused("2204", (*line0, "cnt"), 0, "input.feedetail[0].cnt")
    refused("2204", (*line0, "cnt"), Decimal(-3), "input.feedetail[0].init_feedetl_sn")
    # Unknown codes
    refused("1101", ("infno",), "9999", "infno", "9999")
    refused(
        "2204", (*line0, "med_list_codg"), "NOT-IN-CATALOGUE", "med_list_codg", "NOT-IN-CATALOGUE"
    )
    refused("1101", (*d, "mdtrt_cert_type"), "09", "mdtrt_cert_type")
    refused(
        "1101", d, {"mdtrt_cert_type": "01", "mdtrt_cert_no": "yb1.P2.1.forged"}, "电子凭证无效"
    )
    refused("1101", (*d, "mdtrt_cert_no"), "NO-SUCH-CARD", "人员不存在", "mdtrt_cert_no")
    refused(
        "1101", d, {"mdtrt_cert_type": "02", "mdtrt_cert_no": "11010119900307001X"}, "人员不存在"
    )
    refused("2203", ("input", "mdtrtinfo", "med_type"), "99", "med_type", "99")
    refused("2401", ("input", "mdtrtinfo", "med_type"), "11", "med_type")
    refused("2201", (*d, "insutype"), "390", "insutype", "310")
    refused("2201", (*d, "psn_no"), "NOBODY", "input.data.psn_no")
    refused("2206", (*d, "mdtrt_id"), "NO-SUCH-VISIT", "input.data.mdtrt_id", "不存在")
    refused("2207", (*d, "medfee_sumamt"), Decimal("81.00"), "medfee_sumamt", "80.00")
    refused("2207", (*d, "psn_setlway"), "09", "psn_setlway")
    refused("2304", (*d, "mid_setl_flag"), "2", "mid_setl_flag")
    refused("5203", (*d, "setl_id"), "999999", "setl_id", "不存在")
    refused("5203", (*d, "setl_id"), "abc", "setl_id")
    refused("1101", ("sign_no",), "NOT-SIGNED-IN", "sign_no", "9001")
    refused("1101", ("sign_no",), h3.sign_no, "sign_no")  # another institution's sign-in
    # Wrong states
    refused("2207", (*d, "mdtrt_id"), w.settled_visit, "已结算")  # a second 2207
    refused("2204", (*line0, "mdtrt_id"), w.settled_visit, "已结算")
    refused("2202", d, {"psn_no": pid, "mdtrt_id": w.settled_visit, "ipt_otp_no": "OTP1"}, "已结算")
    refused("2204", (*line0, "mdtrt_id"), w.cancelled_visit, "已撤销")
    refused("2206", (*d, "mdtrt_id"), w.cancelled_visit, "已撤销")
    refused("2204", (*line0, "feedetl_sn"), "O3001", "O3001", "已上传")
    refused("2305", (*d, "setl_id"), w.setl_id, "setl_id")  # an outpatient settlement
    stay_as_outpatient = settle_data(who, w.stay, Decimal("3000.00"), by_card=False, med_type="11")
    _refused(h3, h3.envelope("2206", {"data": stay_as_outpatient}), "住院")
    _refused(
        c1,
        c1.envelope(
            "2208", {"data": {"setl_id": w.stay_setl[0], "mdtrt_id": w.stay_setl[1], "psn_no": pid}}
        ),
        "不存在",
    )  # someone else's
    _refused(
        c1,
        c1.envelope(
            "2205", {"data": {"mdtrt_id": w.open_visit, "psn_no": pid, "feedetl_sn": "NOPE"}}
        ),
        "NOPE",
    )
    refund = _line_of(
        w,
        w.stay,
        "R9",
        cnt=Decimal(-5),
        det_item_fee_sumamt=Decimal("-15000.00"),
        pric=Decimal("3000.00"),
        med_list_codg="TEST-A",
        init_feedetl_sn="S5001",
    )
    _refused(h3, h3.envelope("2301", {"feedetail": [refund]}), "退费数量")
    _refused(
        h3, h3.envelope("2301", {"feedetail": [{**refund, "init_feedetl_sn": "NOPE"}]}), "NOPE"
    )
    # Malformed messages, a reused msgid
    _refused(c1, b"{not json", "JSON")
    _refused(c1, b"[1, 2]", "类型错误")
    _refused(c1, b"", "JSON")
    _refused(c1, {**c1.envelope("5203", valid["5203"][1]), "msgid": used["msgid"]}, "msgid", "1101")
    assert _snapshot(engine) == before


SIGNED = {"X-Institution": "C1"}  # the test client's bearer token of an account of C1


def test_a_repeated_msgid_gets_the_first_answer_and_pays_once(
    engine: Engine, client: TestClient
) -> None:
    w = _world(engine, client)
    c1, who = w.c1, w.who
    register_again = c1.envelope("2201", {"data": _register_data(who, 7)})
    first = client.post(URL, content=dumps(register_again), headers=SIGNED).content
    before = _snapshot(engine)
    assert client.post(URL, content=dumps(register_again), headers=SIGNED).content == first
    assert _snapshot(engine) == before
    data = settle_data(who, w.open_visit, Decimal("80.00"), by_card=True, med_type="11")
    settle = c1.envelope("2207", {"data": data})
    answer = client.post(URL, content=dumps(settle), headers=SIGNED).content
    assert loads(answer)["infcode"] == 0
    before = _snapshot(engine)
    again = {**settle, "inf_time": "2026-03-01 09:05:00"}  # a retry: same msgid, same input
    assert client.post(URL, content=dumps(again), headers=SIGNED).content == answer
    assert _snapshot(engine) == before
    # A new msgid for the same visit is a second settlement: refused.
    _refused(c1, c1.envelope("2207", {"data": data}), "已结算")
    # Cancelled, the visit can settle again (a corrected bill), under a new settlement.
    setl_id = loads(answer)["output"]["setlinfo"]["setl_id"]
    c1.ok("2208", {"data": {"setl_id": setl_id, "mdtrt_id": w.open_visit, "psn_no": who.person_id}})
    again_settled = c1.ok("2207", {"data": data})
    assert again_settled["setlinfo"]["setl_id"] != setl_id


def test_person_info_by_id_number_and_card(engine: Engine, client: TestClient) -> None:
    scenario = load_scenario(ROOT / "examples" / "pilot-leukaemia-assistance.yaml")
    with UnitOfWork(engine) as uow:
        reg = register(uow, scenario, POLICY_PATH)
        uow.commit()
    with UnitOfWork(engine) as uow:
        who = insured(uow, reg.person_id, reg.card_number)
    his = His(client, scenario.encounters[0].hospital.id)
    his.day = scenario.encounters[0].date
    _refused(his, his.envelope("1101", {"data": cert(who, by_card=True)}), "sign_no")
    his.sign_in()
    by_id = his.ok("1101", {"data": cert(who, by_card=False)})
    by_card = his.ok("1101", {"data": cert(who, by_card=True)})
    assert by_id == by_card
    base = by_id["baseinfo"]
    assert (base["psn_no"], base["certno"]) == (who.person_id, who.id_number)
    assert base["brdy"] == scenario.person.birth_date.isoformat()
    (insu,) = by_id["insuinfo"]
    assert insu["insutype"] == INSUTYPE[scenario.person.scheme]
    assert insu["balc"] == Decimal("0.00")
    assert insu["psn_type"] in {"1101", "1201", "1401", "1402", "1403", "1404", "1405", "1499"}
    assert insu["insuplc_admdvs"] == "990100"
    assert bool(by_id["idetinfo"]) == scenario.person.assistance


def test_the_member_apps_voucher_settles_in_place_of_the_card(
    engine: Engine, client: TestClient
) -> None:
    """1101 and a whole outpatient visit with mdtrt_cert_type 01: the person the signed
    voucher names, settled as the native API settles their twin; an expired voucher is
    refused."""
    scenario = load_scenario(ROOT / "examples" / "student-outpatient-cap.yaml")
    expected = scenarios.run(scenario, PolicyLoader(POLICY_PATH))
    with UnitOfWork(engine) as uow:
        reg = register(uow, scenario, POLICY_PATH)
        twin = register_twin(uow, scenario, "native", POLICY_PATH)
        uow.commit()
    member = client.app.state.services.member  # type: ignore[attr-defined]
    with UnitOfWork(engine) as uow:
        plain = insured(uow, reg.person_id, reg.card_number)
    me = replace(plain, voucher=lambda: member._voucher(plain.person_id, None)["token"])
    enc = order_of_settlement(scenario.encounters)[0]
    his = His(client, enc.hospital.id)
    his.day = enc.date
    his.sign_in()
    by_voucher = his.ok("1101", {"data": cert(me, by_card="voucher")})
    assert by_voucher == his.ok("1101", {"data": cert(me, by_card=True)})
    p = play(his, me, enc, 0, by_card="voucher")
    native = client.post(
        "/v1/settlements",
        json=bill_json(twin.card, enc),
        headers={"X-Institution": his.institution},
    )
    assert native.status_code == 201, native.text
    _check(p, {r.encounter_id: r for r in expected.encounters}[enc.id], native.json())
    expired = member._voucher(me.person_id, 0.0)["token"]  # made at the epoch: long expired
    answer = his.call("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": expired}})
    assert answer["infcode"] == -1
    assert "已过期" in answer["err_msg"]
