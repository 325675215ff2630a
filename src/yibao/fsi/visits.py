"""Sign-in (9001), the person (1101) and visits: outpatient registration (2201, 2202,
2203) and inpatient admission and discharge (2401, 2402)."""

from __future__ import annotations

import secrets
from typing import Any

from yibao.domain.model import Kind, age_on
from yibao.fsi import codes, encounter
from yibao.fsi.context import Ctx, gend, holder, insured, stamp, unsettled, visit
from yibao.fsi.fields import Fields, invalid, missing
from yibao.fsi.setlinfo import NIL

# --- 9001 sign-in -------------------------------------------------------------------------


def sign_in(ctx: Ctx) -> dict[str, Any]:
    call = ctx.call
    data = call.input.obj("signIn")
    assert data is not None
    opter_no = data.req("opter_no")
    data.req("mac", max_len=64)
    data.req("ip", max_len=64)
    inst = ctx.uow.registry.institution(call.fixmedins_code)
    if inst is None:
        raise invalid("fixmedins_code", f"定点医药机构 {call.fixmedins_code} 未登记")
    if not inst.designated:
        raise invalid("fixmedins_code", f"{call.fixmedins_code} 不是定点医药机构，不能联网结算")
    sign_no = f"{call.inf_time:%Y%m%d%H%M%S}{secrets.token_hex(8)}"
    ctx.store.add_sign_in(sign_no, call.fixmedins_code, opter_no)
    return {"signinoutb": {"sign_time": stamp(call.inf_time), "sign_no": sign_no}}


# --- 9002 sign-out -----------------------------------------------------------------------


def sign_out(ctx: Ctx) -> dict[str, Any]:
    """Ends a sign-in: later messages under its sign_no are refused until 9001 again."""
    data = ctx.call.input.obj("signOut")
    assert data is not None
    sign_no = data.req("sign_no", max_len=40)
    data.req("opter_no")
    row = ctx.store.sign_in(sign_no)
    if row is None or row.fixmedins_code != ctx.call.fixmedins_code:
        raise invalid(data.at("sign_no"), f"签到 {sign_no} 不存在")
    if row.signed_out_at is not None:
        raise invalid(data.at("sign_no"), f"签到 {sign_no} 已签退")
    ctx.store.sign_out(sign_no)
    return {"signoutoutb": {"sign_time": stamp(ctx.call.inf_time)}}


# --- 1101 person info ---------------------------------------------------------------------


def person_info(ctx: Ctx) -> dict[str, Any]:
    data = ctx.call.input.obj("data")
    assert data is not None
    day = data.day("begntime", required=False) or ctx.call.inf_time.date()
    who = holder(ctx, data, day.year)
    r = who.record
    insuinfo = []
    e = who.enrolment
    if e is not None and e.status == "active":
        insuinfo.append(
            {
                "balc": NIL,
                "insutype": codes.INSUTYPE[e.scheme],
                "psn_type": codes.psn_type(e.scheme, r.birth_date, day, r.retired),
                "psn_insu_stas": "1",
                "psn_insu_date": e.valid_from.isoformat(),
                "paus_insu_date": e.valid_to.isoformat(),
                "cvlserv_flag": "0",
                "insuplc_admdvs": ctx.store.admdvs(r.region),
                "emp_name": "",
            }
        )
    idetinfo = []
    if r.assistance:
        idetinfo.append(
            {
                "psn_idet_type": codes.ASSISTANCE_IDET_TYPE,
                "psn_type_lv": "",
                "memo": "医疗救助对象家庭",
                "begntime": None,
                "endtime": None,
            }
        )
    for span in ctx.uow.registry.categories(r.id):  # dated, as recorded (service/categories)
        code, memo = codes.CATEGORY_IDET_TYPE[span.category]
        idetinfo.append(
            {
                "psn_idet_type": code,
                "psn_type_lv": "",
                "memo": memo,
                "begntime": None if span.valid_from is None else span.valid_from.isoformat(),
                "endtime": None if span.valid_to is None else span.valid_to.isoformat(),
            }
        )
    return {
        "baseinfo": {
            "psn_no": r.id,
            "psn_cert_type": "01",
            "certno": r.id_number,
            "psn_name": r.name,
            "gend": gend(r.sex),
            "naty": "",
            "brdy": r.birth_date.isoformat(),
            "age": age_on(r.birth_date, day),
        },
        "insuinfo": insuinfo,
        "idetinfo": idetinfo,
    }


# --- a new visit: 2201, 2401 --------------------------------------------------------------


def new_visit(
    ctx: Ctx,
    data: Fields,
    *,
    inpatient: bool,
    number_field: str,
    kind: Kind | None,
    med_type: str | None,
    diagnosis: str | None,
    facts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    psn_no = data.req("psn_no", max_len=32)
    day = data.day("begntime")
    assert day is not None
    who = holder(ctx, data, day.year)
    if who.record.id != psn_no:
        raise invalid(data.at("psn_no"), f"就诊凭证属于 {who.record.id}，不是 {psn_no}")
    insutype = insured(ctx, who, day, data)
    number = data.req(number_field, max_len=40)
    mdtrt_id = secrets.token_hex(10)
    ctx.store.add_visit(
        {
            "mdtrt_id": mdtrt_id,
            "fixmedins_code": ctx.call.fixmedins_code,
            "psn_no": psn_no,
            "card_number": who.card or "",  # none: settled by the person
            "mdtrt_cert_type": data.req("mdtrt_cert_type"),
            "insutype": insutype,
            "inpatient": 1 if inpatient else 0,
            "ipt_otp_no": number,
            "med_type": med_type,
            "kind": None if kind is None else kind.value,
            "begntime": day,
            "diagnosis": diagnosis,
            **(facts or {}),
            "status": "open",
        }
    )
    return {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "ipt_otp_no": number}


def diagnoses(data: Fields, *, required: bool) -> str | None:
    """diseinfo: the main diagnosis (diag_srt_no 1, or the first) is the bill's."""
    rows = data.items("diseinfo", required=required, max_items=100)
    main: str | None = None
    for d in rows:
        d.req("diag_type", max_len=8)
        srt = d.amount("diag_srt_no", places=0)
        code = d.req("diag_code", max_len=16)
        d.req("diag_name", max_len=200)
        if main is None or srt == 1:
            main = code
    return main


# --- outpatient visits: 2201, 2202, 2203 --------------------------------------------------


def register(ctx: Ctx) -> dict[str, Any]:
    data = ctx.call.input.obj("data")
    assert data is not None
    for name in ("atddr_no", "dr_name", "dept_code", "dept_name", "caty"):
        data.req(name, max_len=100)
    out = new_visit(
        ctx,
        data,
        inpatient=False,
        number_field="ipt_otp_no",
        kind=None,
        med_type=None,
        diagnosis=None,
    )
    return {"data": out}


def cancel_registration(ctx: Ctx) -> dict[str, Any]:
    data = ctx.call.input.obj("data")
    assert data is not None
    row = visit(ctx, data, inpatient=False)
    number = data.req("ipt_otp_no", max_len=40)
    if number != row.ipt_otp_no:
        raise invalid(data.at("ipt_otp_no"), f"与就诊 {row.mdtrt_id} 的门诊号不符")
    if row.status == "settled":
        raise invalid(data.at("mdtrt_id"), f"就诊 {row.mdtrt_id} 已结算，请先撤销结算（2208）")
    ctx.store.update_visit(row.mdtrt_id, status="cancelled")
    return {}


def visit_info(ctx: Ctx) -> dict[str, Any]:
    info = ctx.call.input.obj("mdtrtinfo")
    assert info is not None
    row = visit(ctx, info, inpatient=False)
    unsettled(row, info)
    med_type = info.req("med_type", max_len=8)
    kind = codes.med_type_kind(med_type, codes.OUTPATIENT_MED_TYPES)
    if kind is None:
        raise invalid(
            info.at("med_type"),
            f"{med_type!r} 不是可用的门诊医疗类别（可用：11 普通门诊、13 急诊、14 门诊慢特病、41 定点药店购药）",
        )
    info.day("begntime")
    dise_codg = info.text("dise_codg", required=False, max_len=64)
    if kind is Kind.SPECIAL_OUTPATIENT and dise_codg is None:
        raise missing(info.at("dise_codg"))
    diagnosis = diagnoses(ctx.call.input, required=True)
    facts = encounter.checked(info, kind, with_delivery=False)
    ctx.store.update_visit(
        row.mdtrt_id,
        **facts,
        med_type=med_type,
        kind=kind.value,
        diagnosis=diagnosis if diagnosis is not None else row.diagnosis,
        disease=dise_codg if kind is Kind.SPECIAL_OUTPATIENT else None,
    )
    return {}


# --- inpatient visits: 2401, 2402 ---------------------------------------------------------


def admit(ctx: Ctx) -> dict[str, Any]:
    info = ctx.call.input.obj("mdtrtinfo")
    assert info is not None
    med_type = info.req("med_type", max_len=8)
    kind = codes.med_type_kind(med_type, codes.INPATIENT_MED_TYPES)
    if kind is None:
        raise invalid(
            info.at("med_type"),
            f"{med_type!r} 不是可用的住院医疗类别（可用：21 普通住院、23 转外诊治住院、25 异地住院）",
        )
    for name in ("atddr_no", "chfpdr_name", "adm_dept_codg", "adm_dept_name", "dscg_maindiag_name"):
        info.req(name, max_len=200)
    diagnosis = info.req("dscg_maindiag_code", max_len=16)
    diagnoses(ctx.call.input, required=False)
    facts = encounter.checked(info, kind, with_delivery=True)
    out = new_visit(
        ctx,
        info,
        inpatient=True,
        number_field="ipt_no",
        kind=kind,
        med_type=med_type,
        diagnosis=diagnosis,
        facts=facts,
    )
    return {"result": out}


def discharge(ctx: Ctx) -> dict[str, Any]:
    """2402. The discharge diagnosis is `dscginfo.dise_codg`, or, as many hospital systems
    send it, the main diagnosis of `diseinfo` (diag_srt_no 1, or the first)."""
    info = ctx.call.input.obj("dscginfo")
    assert info is not None
    row = visit(ctx, info, inpatient=True)
    if row.discharged:
        raise invalid(info.at("mdtrt_id"), f"就诊 {row.mdtrt_id} 已办理出院")
    if info.req("insutype", max_len=6) != row.insutype:
        raise invalid(info.at("insutype"), f"与入院登记的险种 {row.insutype} 不符")
    end = info.day("endtime")
    assert end is not None
    if end < row.begntime:
        raise invalid(info.at("endtime"), f"出院日期早于入院日期 {row.begntime.isoformat()}")
    listed = diagnoses(ctx.call.input, required=False)
    code = info.text("dise_codg", required=listed is None, max_len=16) or listed
    info.text("dise_name", required=listed is None, max_len=200)
    info.req("dscg_way", max_len=8)
    values: dict[str, Any] = {"endtime": end, "discharged": 1}
    known = encounter.delivery(info)  # the delivery, when it is known at discharge
    if row.status != "settled":  # a settled stay keeps what it settled with
        values["diagnosis"] = code
        if known is not None:
            values["delivery"] = known
    ctx.store.update_visit(row.mdtrt_id, **values)
    return {}
