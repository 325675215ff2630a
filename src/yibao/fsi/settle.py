"""Settlement: pre-settlement and settlement (2206 / 2207 outpatient, 2303 / 2304
inpatient), cancellation (2208 / 2305) and the settlement query (5203).

Each is one unit of work: a 2207 locks its visit, settles through the hospital desk
(the settlement service's own settle, in this unit of work), records the visit as
settled and stores the answer under its msgid — one COMMIT, or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from yibao.domain.model import Kind, age_on
from yibao.domain.money import ZERO, round_fen, to_fen
from yibao.fsi import codes, encounter
from yibao.fsi.context import Ctx, gend, holder, insured, stamp, unsettled, visit
from yibao.fsi.fields import Fields, FsiError, invalid
from yibao.fsi.jsontext import dumps, loads
from yibao.fsi.setlinfo import amounts, money, pool_ratio, setldetail
from yibao.service.errors import ConflictError
from yibao.service.settlement import Bill, BillLine


@dataclass(frozen=True)
class Billing:
    """A (pre-)settlement message checked against its visit: the bill and who it is for."""

    visit: Any
    bill: Bill
    person: dict[str, Any]
    interim: bool  # mid_setl_flag 1: the stay goes on

    def key(self, earlier: int) -> str:
        """The settlement's idempotency key: the visit and the settlements before it
        (`earlier`, in force or cancelled: read only to settle, a quote needs none)."""
        return f"fsi:{self.visit.mdtrt_id}:{self.visit.settle_attempts}:{earlier}"


def _kind(data: Fields, row: Any, inpatient: bool) -> tuple[Kind, str]:
    """The encounter kind and med_type: the admission's, or the message's (2206 / 2207)."""
    if inpatient:
        data.one_of("mid_setl_flag", {"0": "否", "1": "是"})
        return Kind(row.kind), str(row.med_type)
    med_type = data.req("med_type", max_len=8)
    found = codes.med_type_kind(med_type, codes.OUTPATIENT_MED_TYPES)
    if found is None:
        raise invalid(
            data.at("med_type"), f"{med_type!r} 不是可用的门诊医疗类别（可用：11、13、14、41）"
        )
    if row.kind is not None and row.kind != found.value:
        raise invalid(
            data.at("med_type"), f"与就诊信息上传（2203）的医疗类别 {row.med_type} 不一致"
        )
    if found is Kind.SPECIAL_OUTPATIENT and not row.disease:
        raise FsiError(
            "门诊慢特病（med_type 14）须先上传就诊信息（2203），并填写病种编码 mdtrtinfo.dise_codg"
        )
    return found, med_type


def _bill_lines(ctx: Ctx, row: Any, data: Fields) -> tuple[tuple[BillLine, ...], bool]:
    """Each uploaded line not yet settled (an interim settlement took the earlier ones), net
    of its refunds (its quantity and its total), and whether any carries a prescription."""
    sumamt = data.amount("medfee_sumamt")
    lines = [ln for ln in ctx.store.lines(row.mdtrt_id) if ln.setl_id is None]
    uploaded = sum((Decimal(ln.amount_fen) / 100 for ln in lines), ZERO)
    if sumamt != uploaded:
        raise invalid(
            data.at("medfee_sumamt"), f"{sumamt} 与已上传费用明细合计 {round_fen(uploaded)} 不符"
        )
    net: dict[str, tuple[Decimal, Decimal]] = {}
    for ln in lines:
        key = ln.init_feedetl_sn or ln.feedetl_sn
        cnt, fen = net.get(key, (ZERO, ZERO))
        net[key] = (cnt + Decimal(ln.cnt), fen + Decimal(ln.amount_fen))
    out = []
    for ln in lines:
        cnt, fen = net.get(ln.feedetl_sn, (ZERO, ZERO))
        if ln.init_feedetl_sn or cnt <= 0:
            continue
        total, pric = fen / 100, Decimal(ln.pric)
        # A total of its own only where quantity × price misses it (a rounded price).
        own = None if total == round_fen(cnt * pric) else round_fen(total)
        out.append(BillLine(ln.med_list_codg, cnt, pric, own))
    if not out:
        raise FsiError(f"就诊 {row.mdtrt_id} 没有费用明细，请先上传费用明细")
    return tuple(out), any(ln.rxno for ln in lines)


def _billing(ctx: Ctx, data: Fields, inpatient: bool) -> Billing:
    """Check a (pre-)settlement message against its visit (locked) and build the bill."""
    row = visit(ctx, data, inpatient=inpatient)
    unsettled(row, data)
    who = holder(ctx, data, row.begntime.year)
    if who.record.id != row.psn_no:
        raise invalid(data.at("mdtrt_cert_no"), f"就诊凭证不属于 {row.psn_no}")
    insutype = insured(ctx, who, row.begntime, data)
    kind, med_type = _kind(data, row, inpatient)
    data.one_of("psn_setlway", {"01": "按项目结算", "02": "按定额结算"})
    data.one_of("acct_used_flag", {"0": "否", "1": "是"})
    lines, rx = _bill_lines(ctx, row, data)
    bill = Bill(
        institution_id=ctx.call.fixmedins_code,
        # A voucher (or an ID card without a card) settles by the person, as the native
        # API settles a voucher: the desk decided which.
        card_number=None if who.by_person else (who.card or row.card_number),
        person_id=who.record.id if who.by_person else None,
        kind=kind,
        date=row.begntime,
        lines=lines,
        diagnosis=row.diagnosis,
        disease=row.disease,
        prescription=rx if kind is Kind.PHARMACY else True,
        details=encounter.details(row),  # the cause and delivery the hospital sent
    )
    e = who.enrolment
    assert e is not None
    r = who.record
    person = {
        "psn_no": r.id,
        "psn_name": r.name,
        "psn_cert_type": "01",
        "certno": r.id_number,
        "gend": gend(r.sex),
        "naty": "",
        "brdy": r.birth_date.isoformat(),
        "age": age_on(r.birth_date, row.begntime),
        "insutype": insutype,
        "psn_type": codes.psn_type(e.scheme, r.birth_date, row.begntime, r.retired),
        "cvlserv_flag": "0",
        "mdtrt_cert_type": data.req("mdtrt_cert_type"),
        "med_type": med_type,
        "clr_optins": ctx.store.admdvs(r.region),
    }
    interim = inpatient and data.data.get("mid_setl_flag") == "1"
    return Billing(row, bill, person, interim)


def _output(ctx: Ctx, b: Billing, view: dict[str, Any]) -> dict[str, Any]:
    a = amounts(view)
    person = b.person
    info: dict[str, Any] = {
        "setl_id": None if view["id"] is None else str(view["id"]),
        "mdtrt_id": b.visit.mdtrt_id,
        **{k: v for k, v in person.items() if k != "clr_optins"},
        "setl_time": stamp(ctx.call.inf_time),
        **a,
        "medins_setl_id": ctx.call.msgid,
        "clr_optins": person["clr_optins"],
        "clr_way": "1",
        "clr_type": "21" if b.visit.inpatient else "11",
        "memo": view["summary"]["zh"],
    }
    return {"setlinfo": info, "setldetail": setldetail(person["insutype"], a)}


def quote(ctx: Ctx, inpatient: bool) -> dict[str, Any]:
    data = ctx.call.input.obj("data")
    assert data is not None
    b = _billing(ctx, data, inpatient)
    return _output(ctx, b, ctx.desk.quote(ctx.uow, b.bill))


def settle(ctx: Ctx, inpatient: bool) -> dict[str, Any]:
    data = ctx.call.input.obj("data")
    assert data is not None
    b = _billing(ctx, data, inpatient)
    view = ctx.desk.settle(ctx.uow, b.bill, b.key(ctx.store.settlement_count(b.visit.mdtrt_id)))
    out = _output(ctx, b, view)
    row = b.visit
    info = out["setlinfo"]
    settlement = {
        "setl_id": int(view["id"]),
        "mdtrt_id": row.mdtrt_id,
        "fixmedins_code": ctx.call.fixmedins_code,
        "psn_no": row.psn_no,
        "setlinfo": dumps(info),
        "status": "settled",
        # What the hospital was answered, for its reconciliation (3201 / 3202).
        "setl_date": ctx.call.inf_time.date(),
        "insutype": info["insutype"],
        "clr_type": info["clr_type"],
        "medfee_fen": to_fen(info["medfee_sumamt"]),
        "fund_fen": to_fen(info["fund_pay_sumamt"]),
        "cash_fen": to_fen(info["psn_cash_pay"]),
        "mid_setl_flag": 1 if b.interim else 0,
    }
    # An interim settlement (mid_setl_flag 1) leaves the stay open for the lines to come.
    values: dict[str, Any] = {"status": "open" if b.interim else "settled"}
    if row.kind is None:
        values.update(kind=b.bill.kind.value, med_type=out["setlinfo"]["med_type"])
    # The settlement, the lines it took and the visit: one statement on PostgreSQL.
    ctx.store.settled(settlement, values)
    return out


def outpatient_quote(ctx: Ctx) -> dict[str, Any]:
    return quote(ctx, inpatient=False)


def inpatient_quote(ctx: Ctx) -> dict[str, Any]:
    return quote(ctx, inpatient=True)


def outpatient_settlement(ctx: Ctx) -> dict[str, Any]:
    return settle(ctx, inpatient=False)


def inpatient_settlement(ctx: Ctx) -> dict[str, Any]:
    return settle(ctx, inpatient=True)


# --- cancelling a settlement: 2208 / 2305 --------------------------------------------------


def own_settlement(ctx: Ctx, data: Fields) -> Any:
    raw = data.req("setl_id", max_len=20)
    if not raw.isdigit() or int(raw) > 2**63 - 1:
        raise invalid(data.at("setl_id"), f"结算 {raw} 不存在")
    found = ctx.store.settlement(int(raw))
    # Another institution's settlement is "not found", as in the native API.
    if found is None or found.fixmedins_code != ctx.call.fixmedins_code:
        raise invalid(data.at("setl_id"), f"结算 {raw} 不存在")
    # 5203 may name the settlement by psn_no and setl_id alone.
    mdtrt_id = data.text("mdtrt_id", required=ctx.call.infno != "5203", max_len=40)
    if mdtrt_id is not None and mdtrt_id != found.mdtrt_id:
        raise invalid(data.at("mdtrt_id"), f"与结算 {raw} 的就诊ID不符")
    if data.req("psn_no", max_len=32) != found.psn_no:
        raise invalid(data.at("psn_no"), f"与结算 {raw} 的人员编号不符")
    return found


def cancel(ctx: Ctx, inpatient: bool) -> dict[str, Any]:
    data = ctx.call.input.obj("data")
    assert data is not None
    found = own_settlement(ctx, data)
    if found.status != "settled":
        raise invalid(data.at("setl_id"), f"结算 {found.setl_id} 已撤销，不能重复撤销")
    row = ctx.store.visit(found.mdtrt_id, lock=True)
    assert row is not None
    if bool(row.inpatient) != inpatient:
        other = "2305" if row.inpatient else "2208"
        raise invalid(data.at("setl_id"), f"结算 {found.setl_id} 请用 {other} 撤销")
    later = ctx.store.later_settlement(row.mdtrt_id, int(found.setl_id))
    if later is not None:
        raise invalid(
            data.at("setl_id"), f"就诊 {row.mdtrt_id} 其后还有结算 {later.setl_id}，请先撤销"
        )
    return reverse(ctx, found, row, f"{ctx.call.infno} 撤销结算（报文 {ctx.call.msgid}）")


def reverse(ctx: Ctx, found: Any, row: Any, reason: str) -> dict[str, Any]:
    """Reverse a settlement through the desk, record it and reopen its visit: the answer
    is the settlement negated, and the later settlements of the year it adjusted."""
    try:
        answer = ctx.desk.reverse(ctx.uow, int(found.setl_id), reason, ctx.institution)
        reversal_id: int | None = int(answer["reversal_id"])
        adjustments, reversed_split = answer["adjustments"], answer["reversed"]
    except ConflictError as exc:
        if exc.code != "already_reversed":
            raise
        # Reversed by other means (the native API): record it here too.
        reversal_id, adjustments, reversed_split = None, [], None
    setl = loads(found.setlinfo)
    if reversed_split is not None:  # the split as it stood (an adjustment may have moved it)
        setl.update(current_split(setl, reversed_split))
    info = {k: (-v if isinstance(v, Decimal) else v) for k, v in setl.items()}
    info.update(setl_id=str(found.setl_id), setl_time=stamp(ctx.call.inf_time), memo="撤销结算")
    adjusted = [
        {
            "setl_id": str(adj["settlement_id"]),
            "hifp_pay": money(adj["difference"]["basic"]),
            "maf_pay": money(adj["difference"]["assistance"]),
            "hosp_part_amt": money(adj["difference"]["institution"]),
            "psn_part_amt": money(adj["difference"]["personal"]),
        }
        for adj in adjustments
    ]
    ctx.store.cancel_settlement(int(found.setl_id), reversal_id, ctx.call.inf_time.date())
    ctx.store.release_lines(int(found.setl_id))
    ctx.store.update_visit(row.mdtrt_id, status="open", settle_attempts=row.settle_attempts + 1)
    negated = {k: v for k, v in info.items() if isinstance(v, Decimal)}
    return {
        "setlinfo": info,
        "setldetail": setldetail(setl["insutype"], negated),
        "adjustments": adjusted,
    }


def outpatient_cancel(ctx: Ctx) -> dict[str, Any]:
    return cancel(ctx, inpatient=False)


def inpatient_cancel(ctx: Ctx) -> dict[str, Any]:
    return cancel(ctx, inpatient=True)


# --- 5203 settlement query -----------------------------------------------------------------


def query(ctx: Ctx) -> dict[str, Any]:
    data = ctx.call.input.obj("data")
    assert data is not None
    found = own_settlement(ctx, data)
    now_ = ctx.desk.split(ctx.uow, int(found.setl_id), ctx.institution)
    setl = loads(found.setlinfo)
    # The split as it stands now: a reversal of an earlier bill may have adjusted it.
    setl.update(current_split(setl, now_))
    cancelled = found.status != "settled"
    setl["vali_flag"] = "0" if cancelled else "1"
    setl["refd_setl_flag"] = "1" if cancelled else "0"
    return {"setlinfo": setl, "setldetail": setldetail(setl["insutype"], setl)}


def current_split(setl: dict[str, Any], split: dict[str, Any]) -> dict[str, Decimal]:
    """A stored setlinfo's split replaced by yibao's split as it stands (basic, assistance,
    institution, personal): the totals and the scope of the bill do not change."""
    basic, assistance = money(split["basic"]), money(split["assistance"])
    institution, personal = money(split["institution"]), money(split["personal"])
    threshold = money(split["threshold"])  # a re-settlement may charge another threshold
    return {
        "act_pay_dedc": threshold,
        "hifp_pay": basic,
        "maf_pay": assistance,
        "fund_pay_sumamt": basic + setl["hifmi_pay"] + assistance,
        "hosp_part_amt": institution,
        "psn_part_amt": personal,
        "psn_cash_pay": personal,
        "pool_prop_selfpay": pool_ratio(setl["inscp_scp_amt"], threshold, basic),
    }
