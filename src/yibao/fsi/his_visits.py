"""his-sim's visits: an outpatient visit (1101 → 2201 → 2203 → 2204 → 2206 → 2207 → 5203,
now and then 2208, or a lost 2207 answer recovered by 2601) and an inpatient stay with a
refund line (2401 → 2301 → 2303 → 2304 → 2402 → 5203), as a hospital system sends them."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from yibao.fsi.his_client import Client, Item, Patient, check


def _cert(p: Patient) -> dict[str, str]:
    return {"mdtrt_cert_type": "03", "mdtrt_cert_no": p.card}


def _price(rng: random.Random, cap: Decimal | None, markup: Decimal, big: bool) -> Decimal:
    if cap is not None:  # the hospital's own price: a factor of the cap, some above it
        return (cap * markup).quantize(Decimal("0.01"))
    return Decimal(rng.randint(100, 400_000 if big else 30_000)).scaleb(-2)


def _lines(
    c: Client, rng: random.Random, mdtrt_id: str, p: Patient, codes: list[Item], big: bool
) -> list[dict[str, Any]]:
    rows = []
    for i in range(rng.randint(1, 6)):
        cnt = Decimal(rng.randint(1, 4))
        code, cap = rng.choice(codes)
        pric = _price(rng, cap, c.markup, big)
        rows.append(
            {
                "feedetl_sn": f"{mdtrt_id[:8]}{i:03d}",
                "mdtrt_id": mdtrt_id,
                "psn_no": p.person_id,
                "fee_ocur_time": f"{c.day.isoformat()} 10:00:00",
                "med_list_codg": code,
                "medins_list_codg": "SIM",
                "cnt": cnt,
                "pric": pric,
                "det_item_fee_sumamt": cnt * pric,
                "rxno": "RX1",
            }
        )
    return rows


def _settlement_data(
    p: Patient, mdtrt_id: str, lines: list[dict[str, Any]], **extra: str
) -> dict[str, Any]:
    return {
        "psn_no": p.person_id,
        **_cert(p),
        "medfee_sumamt": sum((ln["det_item_fee_sumamt"] for ln in lines), Decimal(0)),
        "psn_setlway": "01",
        "mdtrt_id": mdtrt_id,
        "insutype": p.insutype,
        "acct_used_flag": "0",
        **extra,
    }


def _query(c: Client, p: Patient, settled: dict[str, Any], mdtrt_id: str) -> dict[str, Any]:
    """5203: the settlement read back; the ids of it."""
    ids = {"setl_id": settled["setlinfo"]["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": p.person_id}
    check(c.stats, "5203", c.call("5203", {"data": ids}))
    return ids


# --- outpatient ------------------------------------------------------------------------


def _register(c: Client, p: Patient) -> str | None:
    """1101 and 2201: the visit's mdtrt_id."""
    c.call("1101", {"data": _cert(p)})
    reg = c.call(
        "2201",
        {
            "data": {
                "psn_no": p.person_id,
                "insutype": p.insutype,
                "begntime": f"{c.day.isoformat()} 09:00:00",
                **_cert(p),
                "ipt_otp_no": f"SIM{c.seq}",
                "atddr_no": "D1",
                "dr_name": "医生",
                "dept_code": "01",
                "dept_name": "内科",
                "caty": "A03",
            }
        },
    )
    return None if reg is None else str(reg["data"]["mdtrt_id"])


def _visit_info(c: Client, p: Patient, mdtrt_id: str) -> None:
    """2203: the visit's medical type and diagnosis."""
    c.call(
        "2203",
        {
            "mdtrtinfo": {
                "mdtrt_id": mdtrt_id,
                "psn_no": p.person_id,
                "med_type": "11",
                "begntime": f"{c.day.isoformat()} 09:00:00",
            },
            "diseinfo": [
                {"diag_type": "1", "diag_srt_no": 1, "diag_code": "J06.9", "diag_name": "上感"}
            ],
        },
    )


def outpatient(c: Client, rng: random.Random, p: Patient, codes: list[Item]) -> None:
    mdtrt_id = _register(c, p)
    if mdtrt_id is None:
        return
    _visit_info(c, p, mdtrt_id)
    lines = _lines(c, rng, mdtrt_id, p, codes, big=False)
    if c.call("2204", {"feedetail": lines}) is None:
        return
    data = _settlement_data(p, mdtrt_id, lines, med_type="11")
    check(c.stats, "2206", c.call("2206", {"data": data}))
    settled = _settle(c, rng, p, data)
    if settled is None:
        return
    ids = _query(c, p, settled, mdtrt_id)
    if rng.random() < 0.05 and c.call("2208", {"data": ids}) is not None:
        c.book.cancelled(c.day, settled["setlinfo"])


def _settle(
    c: Client, rng: random.Random, p: Patient, data: dict[str, Any]
) -> dict[str, Any] | None:
    """2207; now and then its answer is lost and the hospital recovers: 2601 by the msgid
    (the book learns the settlement and its reversal from the 2601 answer), then 2207."""
    settled = c.call("2207", {"data": data})
    check(c.stats, "2207", settled)
    if settled is not None and rng.random() < 0.03:
        undo = {"psn_no": p.person_id, "omsgid": c.last_msgid, "oinfno": "2207"}
        reversed_ = c.call("2601", {"data": undo})
        if reversed_ is None:
            return None
        lost = {**reversed_["setlinfo"]}  # the settlement as it was, from its reversal
        for k in ("medfee_sumamt", "fund_pay_sumamt"):
            lost[k] = -Decimal(str(lost[k]))
        c.book.settled(c.day, lost)
        c.book.cancelled(c.day, lost)
        settled = c.call("2207", {"data": data})
        check(c.stats, "2207", settled)
    if settled is None:
        return None
    with c.stats.lock:
        c.stats.settlements += 1
    c.book.settled(c.day, settled["setlinfo"])
    return settled


# --- inpatient -------------------------------------------------------------------------


def _admit(c: Client, p: Patient) -> str | None:
    """2401: the stay's mdtrt_id."""
    adm = c.call(
        "2401",
        {
            "mdtrtinfo": {
                "psn_no": p.person_id,
                "insutype": p.insutype,
                "begntime": f"{c.day.isoformat()} 09:00:00",
                **_cert(p),
                "med_type": "21",
                "ipt_no": f"SIM{c.seq}",
                "atddr_no": "D1",
                "chfpdr_name": "医生",
                "adm_dept_codg": "02",
                "adm_dept_name": "外科",
                "dscg_maindiag_code": "K35.8",
                "dscg_maindiag_name": "阑尾炎",
            }
        },
    )
    return None if adm is None else str(adm["result"]["mdtrt_id"])


def _with_refund(lines: list[dict[str, Any]], mdtrt_id: str) -> list[dict[str, Any]]:
    """The first line charged one unit too many, then refunded one (init_feedetl_sn)."""
    first = lines[0]
    first["cnt"] += 1
    first["det_item_fee_sumamt"] = first["cnt"] * first["pric"]
    refund = {
        **first,
        "feedetl_sn": f"{mdtrt_id[:8]}R01",
        "cnt": Decimal(-1),
        "det_item_fee_sumamt": -first["pric"],
        "init_feedetl_sn": first["feedetl_sn"],
    }
    return [*lines, refund]


def _discharge(c: Client, p: Patient, mdtrt_id: str) -> None:
    c.call(
        "2402",
        {
            "dscginfo": {
                "mdtrt_id": mdtrt_id,
                "psn_no": p.person_id,
                "insutype": p.insutype,
                "endtime": f"{c.day.isoformat()} 17:00:00",
                "dise_codg": "K35.8",
                "dise_name": "阑尾炎",
                "dscg_way": "1",
            }
        },
    )


def inpatient(c: Client, rng: random.Random, p: Patient, codes: list[Item]) -> None:
    mdtrt_id = _admit(c, p)
    if mdtrt_id is None:
        return
    lines = _with_refund(_lines(c, rng, mdtrt_id, p, codes, big=True), mdtrt_id)
    if c.call("2301", {"feedetail": lines}) is None:
        return
    data = _settlement_data(p, mdtrt_id, lines, mid_setl_flag="0")
    check(c.stats, "2303", c.call("2303", {"data": data}))
    settled = c.call("2304", {"data": data})
    check(c.stats, "2304", settled)
    if settled is None:
        return
    with c.stats.lock:
        c.stats.settlements += 1
    c.book.settled(c.day, settled["setlinfo"])
    _discharge(c, p, mdtrt_id)
    _query(c, p, settled, mdtrt_id)
