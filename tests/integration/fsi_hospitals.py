"""Hospitals of the demo region talking to the national interface, for the group-commit
tests of 2207: each signs in, opens outpatient visits (2201 and 2204) and settles them
(2207), through a `send` of its own (the gateway in the test's process, or HTTP to a
server)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from yibao.domain.model import Scheme
from yibao.fsi.codes import INSUTYPE
from yibao.fsi.jsontext import dumps, loads

DAY = date(2026, 3, 2)
Send = Callable[[bytes], bytes]
_numbers = itertools.count(1)
_numbers_lock = threading.Lock()


@dataclass(frozen=True)
class Patient:
    person_id: str
    card: str
    insutype: str


@dataclass(frozen=True)
class DemoWorld:
    hospitals: list[str]  # designated hospitals and clinics of sample-city
    patients: list[Patient]  # enrolled for 2026, with an active card
    code: str  # a class A catalogue item without a price cap


def demo_world(engine: Engine) -> DemoWorld:
    with engine.connect() as conn:
        hospitals = conn.execute(
            text(
                "SELECT id FROM institutions WHERE designated AND kind <> 'pharmacy' "
                "AND region = 'sample-city' ORDER BY id"
            )
        ).scalars()
        rows = conn.execute(
            text(
                "SELECT p.id, c.number, e.scheme FROM persons p "
                "JOIN cards c ON c.person_id = p.id AND c.status = 'active' "
                "JOIN enrolments e ON e.person_id = p.id AND e.year = 2026 "
                "AND e.status = 'active' WHERE p.region = 'sample-city' ORDER BY p.id"
            )
        ).all()
        code = conn.execute(
            text(
                "SELECT code FROM catalogue_items WHERE region = 'sample-city' AND cls = 'A' "
                "AND unit_price_fen IS NULL ORDER BY code LIMIT 1"
            )
        ).scalar_one()
    patients = [Patient(r[0], r[1], INSUTYPE[Scheme(r[2])]) for r in rows]
    return DemoWorld([str(h) for h in hospitals], patients, str(code))


class Hospital:
    def __init__(self, code: str, send: Send) -> None:
        self.code = code
        self.send_bytes = send
        self.sign_no = ""

    def envelope(self, infno: str, input_: dict[str, Any]) -> dict[str, Any]:
        with _numbers_lock:
            n = next(_numbers)
        return {
            "infno": infno,
            "msgid": f"{self.code:0<12}{DAY:%Y%m%d}090000{n:08d}",
            "mdtrtarea_admvs": "990100",
            "insuplc_admdvs": "990100",
            "recer_sys_code": "FSI_LOCAL",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": "001",
            "opter_name": "收费员",
            "inf_time": f"{DAY.isoformat()} 09:00:00",
            "fixmedins_code": self.code,
            "fixmedins_name": "",
            "sign_no": self.sign_no,
            "input": input_,
        }

    def send(self, message: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = loads(self.send_bytes(dumps(message).encode()))
        return answer

    def ok(self, infno: str, input_: dict[str, Any]) -> dict[str, Any]:
        answer = self.send(self.envelope(infno, input_))
        assert answer["infcode"] == 0, f"{infno}: {answer['err_msg']}"
        out: dict[str, Any] = answer["output"]
        return out

    def sign_in(self) -> None:
        out = self.ok("9001", {"signIn": {"opter_no": "001", "mac": "00", "ip": "10.0.0.1"}})
        self.sign_no = out["signinoutb"]["sign_no"]

    def open_visit(self, p: Patient, code: str, price: Decimal) -> dict[str, Any]:
        """Register a visit and upload its one line: the 2207 message that settles it."""
        cert = {"mdtrt_cert_type": "03", "mdtrt_cert_no": p.card}
        registered = self.ok(
            "2201",
            {
                "data": {
                    "psn_no": p.person_id,
                    "insutype": p.insutype,
                    "begntime": f"{DAY.isoformat()} 08:00:00",
                    **cert,
                    "ipt_otp_no": "OTP1",
                    "atddr_no": "DR01",
                    "dr_name": "医生",
                    "dept_code": "D01",
                    "dept_name": "内科",
                    "caty": "A03",
                }
            },
        )
        mdtrt_id = registered["data"]["mdtrt_id"]
        line = {
            "feedetl_sn": f"{mdtrt_id[-12:]}01",
            "mdtrt_id": mdtrt_id,
            "psn_no": p.person_id,
            "fee_ocur_time": f"{DAY.isoformat()} 10:00:00",
            "med_list_codg": code,
            "medins_list_codg": "HIS-1",
            "cnt": Decimal(1),
            "pric": price,
            "det_item_fee_sumamt": price,
        }
        self.ok("2204", {"feedetail": [line]})
        settle = {
            "psn_no": p.person_id,
            **cert,
            "medfee_sumamt": price,
            "psn_setlway": "01",
            "mdtrt_id": mdtrt_id,
            "insutype": p.insutype,
            "acct_used_flag": "0",
            "med_type": "11",
        }
        return self.envelope("2207", {"data": settle})
