"""The transactions, one pair of functions each: `prepare` (outside any unit of work: reads
and calls the settlement service, which opens its own) and `apply` (inside the unit of
work that also stores the answer under its msgid, so that either both are there or
neither). A problem anywhere is an FsiError; nothing is written then.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Principal, Role
from yibao.domain.model import Kind, age_on
from yibao.domain.money import ONE, ZERO, round_fen, to_fen
from yibao.domain.parameters import PolicyGapError
from yibao.domain.registry import CardStatus, Enrolment, PersonRecord
from yibao.fsi import codes
from yibao.fsi.fields import Fields, FsiError, invalid, missing
from yibao.fsi.jsontext import dumps, loads
from yibao.fsi.setlinfo import NIL, amounts, money, setldetail
from yibao.fsi.store import FsiStore
from yibao.service.errors import ConflictError, ServiceError
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine


def as_institution(code: str) -> Principal:
    """The signed-in hospital system (9001), as the service layer's caller."""
    return Principal(account=f"fsi:{code}", role=Role.INSTITUTION, institution_id=code)


@dataclass(frozen=True)
class Call:
    infno: str
    msgid: str
    fixmedins_code: str
    opter: str
    inf_time: datetime
    mdtrtarea_admvs: str
    input: Fields


@dataclass
class Work:
    """What `prepare` found, for `apply`."""

    data: dict[str, Any] = field(default_factory=dict)


Prepare = Callable[["Transactions", Call], Work]
Apply = Callable[["Transactions", Call, UnitOfWork, FsiStore, Work], dict[str, Any]]


@dataclass(frozen=True)
class Person:
    record: PersonRecord
    card: str | None
    enrolment: Enrolment | None
    by_voucher: bool = False  # the member app's electronic voucher: no card needed


def _gend(sex: str) -> str:
    return "1" if sex == "M" else "2"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def service_error(exc: ServiceError) -> FsiError:
    """The settlement service's refusal, in Chinese, with its code."""
    zh = {
        "unknown_card": "社保卡不存在",
        "card_lost": "社保卡已挂失，参保人先行垫付后申请手工报销",
        "card_replaced": "社保卡已换卡，请使用新卡",
        "not_enrolled": "参保人在就诊日期无有效参保",
        "unknown_institution": "定点医药机构未登记",
        "not_designated": "非定点医药机构，不能联网结算",
        "missing_disease": "门诊慢特病须在就诊信息上传（2203）中填写病种编码 dise_codg",
        "unknown_catalogue_code": "医疗目录编码（med_list_codg）不在医保目录中",
        "price_mismatch": "单价（pric）与目录限定价格不符",
        "amount_too_large": "金额超过上限",
        "invalid_bill": "费用数据有误",
        "no_policy_in_force": "就诊日期无有效的待遇政策",
        "region_not_configured": "参保地待遇政策未配置",
        "unknown_settlement": "结算记录不存在",
        "already_reversed": "结算已撤销，不能重复撤销",
        "idempotency_key_reused": "本次就诊的费用与此前未完成的结算请求不一致，请撤销后重新结算",
    }.get(exc.code, "结算服务拒绝")
    return FsiError(f"{zh}：{exc.message}（{exc.code}）")


class Transactions:
    def __init__(self, services: Services) -> None:
        self.services = services
        # The database's unit of work (FsiStore writes through its connection).
        self.uow = cast(Callable[[], UnitOfWork], services.settlements.uow)
        self.policies = services.settlements.policies

    # --- people --------------------------------------------------------------------

    def person(
        self, uow: UnitOfWork, store: FsiStore, data: Fields, year: int, *, need_card: bool
    ) -> Person:
        """The person a certificate names (mdtrt_cert_type, mdtrt_cert_no)."""
        cert_type = data.one_of("mdtrt_cert_type", codes.CERT_TYPES)
        cert_no = data.req("mdtrt_cert_no", max_len=64)
        if cert_type == codes.VOUCHER:
            try:
                person_id = self.services.member.voucher_person(cert_no)
            except ServiceError as exc:
                why = (
                    "已过期，请在智慧医保中刷新二维码" if exc.code == "voucher_expired" else "无效"
                )
                raise FsiError(f"医保电子凭证{why}（字段 {data.at('mdtrt_cert_no')}）") from None
            record = uow.registry.person(person_id)
            if record is None:
                raise FsiError(f"人员不存在：电子凭证所指参保人 {person_id} 未登记")
            enrolment = uow.registry.enrolment(record.id, year)
            return Person(record, store.active_card(record.id), enrolment, by_voucher=True)
        if cert_type == codes.ID_CARD:
            record = uow.registry.person_by_id_number(cert_no.upper())
            if record is None:
                raise FsiError(
                    f"人员不存在：证件号码 {cert_no} 未参保登记（字段 {data.at('mdtrt_cert_no')}）"
                )
            card = store.active_card(record.id)
            if card is None and need_card:
                raise FsiError(
                    f"参保人 {record.id} 无有效社会保障卡，暂不能以身份证联网结算（字段 {data.at('mdtrt_cert_type')}）"
                )
            return Person(record, card, uow.registry.enrolment(record.id, year))
        found = uow.registry.holder(cert_no, year)
        if found is None:
            raise FsiError(
                f"人员不存在：社会保障卡 {cert_no} 未登记（字段 {data.at('mdtrt_cert_no')}）"
            )
        held, record, enrolment = found
        if held.status is CardStatus.LOST:
            raise FsiError(
                f"社会保障卡 {cert_no} 已挂失：参保人先行垫付后申请手工报销（字段 {data.at('mdtrt_cert_no')}）"
            )
        if held.status is CardStatus.REPLACED:
            raise FsiError(
                f"社会保障卡 {cert_no} 已换卡为 {held.replaced_by}（字段 {data.at('mdtrt_cert_no')}）"
            )
        if held.status is CardStatus.ORDERED:
            raise FsiError(
                f"社会保障卡 {cert_no} 正在制卡，尚未发放：参保人先行垫付后申请手工报销（字段 {data.at('mdtrt_cert_no')}）"
            )
        return Person(record, held.number, enrolment)

    def _insured(self, who: Person, day: date, data: Fields) -> str:
        """The insutype of an enrolment that covers `day`, checked against the message."""
        e = who.enrolment
        if e is None or not e.covers(day):
            raise FsiError(f"参保人 {who.record.id} 在 {day.isoformat()} 无有效参保")
        insutype = data.req("insutype", max_len=6)
        want = codes.INSUTYPE[e.scheme]
        if insutype != want:
            raise invalid(
                data.at("insutype"),
                f"参保人的险种为 {want}（{codes.INSUTYPE_NAME[want]}），不是 {insutype}",
            )
        return want

    # --- visits ---------------------------------------------------------------------

    def visit(
        self, store: FsiStore, call: Call, data: Fields, *, inpatient: bool, lock: bool = False
    ) -> Any:
        mdtrt_id = data.req("mdtrt_id", max_len=40)
        psn_no = data.req("psn_no", max_len=32)
        row = store.visit(mdtrt_id, lock=lock)
        if row is None or row.fixmedins_code != call.fixmedins_code:
            raise invalid(data.at("mdtrt_id"), f"就诊 {mdtrt_id} 不存在")
        if row.psn_no != psn_no:
            raise invalid(data.at("psn_no"), f"人员编号与就诊 {mdtrt_id} 不符")
        if bool(row.inpatient) != inpatient:
            what = "住院" if row.inpatient else "门诊"
            raise invalid(data.at("mdtrt_id"), f"就诊 {mdtrt_id} 是{what}就诊，请使用{what}交易")
        if row.status == "cancelled":
            raise invalid(data.at("mdtrt_id"), f"就诊 {mdtrt_id} 已撤销")
        return row

    @staticmethod
    def unsettled(row: Any, data: Fields) -> None:
        if row.status == "settled":
            raise invalid(
                data.at("mdtrt_id"),
                f"就诊 {row.mdtrt_id} 已结算，不能重复结算或修改；如需更正请先撤销结算",
            )

    def _new_visit(
        self,
        call: Call,
        uow: UnitOfWork,
        store: FsiStore,
        data: Fields,
        *,
        inpatient: bool,
        number_field: str,
        kind: Kind | None,
        med_type: str | None,
        diagnosis: str | None,
    ) -> dict[str, Any]:
        psn_no = data.req("psn_no", max_len=32)
        day = data.day("begntime")
        assert day is not None
        who = self.person(uow, store, data, day.year, need_card=True)
        if who.record.id != psn_no:
            raise invalid(data.at("psn_no"), f"就诊凭证属于 {who.record.id}，不是 {psn_no}")
        insutype = self._insured(who, day, data)
        number = data.req(number_field, max_len=40)
        assert who.card is not None or who.by_voucher
        mdtrt_id = secrets.token_hex(10)
        store.add_visit(
            {
                "mdtrt_id": mdtrt_id,
                "fixmedins_code": call.fixmedins_code,
                "psn_no": psn_no,
                "card_number": who.card or "",  # none for a voucher holder without a card
                "mdtrt_cert_type": data.req("mdtrt_cert_type"),
                "insutype": insutype,
                "inpatient": 1 if inpatient else 0,
                "ipt_otp_no": number,
                "med_type": med_type,
                "kind": None if kind is None else kind.value,
                "begntime": day,
                "diagnosis": diagnosis,
                "status": "open",
            }
        )
        return {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "ipt_otp_no": number}

    # --- 9001 sign-in -------------------------------------------------------------------

    def sign_in(self, call: Call, uow: UnitOfWork, store: FsiStore, _: Work) -> dict[str, Any]:
        data = call.input.obj("signIn")
        assert data is not None
        opter_no = data.req("opter_no")
        data.req("mac", max_len=64)
        data.req("ip", max_len=64)
        inst = uow.registry.institution(call.fixmedins_code)
        if inst is None:
            raise invalid("fixmedins_code", f"定点医药机构 {call.fixmedins_code} 未登记")
        if not inst.designated:
            raise invalid("fixmedins_code", f"{call.fixmedins_code} 不是定点医药机构，不能联网结算")
        sign_no = f"{call.inf_time:%Y%m%d%H%M%S}{secrets.token_hex(8)}"
        store.add_sign_in(sign_no, call.fixmedins_code, opter_no)
        return {"signinoutb": {"sign_time": _stamp(call.inf_time), "sign_no": sign_no}}

    # --- 1101 person info ---------------------------------------------------------------

    def person_info(self, call: Call, uow: UnitOfWork, store: FsiStore, _: Work) -> dict[str, Any]:
        data = call.input.obj("data")
        assert data is not None
        day = data.day("begntime", required=False) or call.inf_time.date()
        who = self.person(uow, store, data, day.year, need_card=False)
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
                    "insuplc_admdvs": store.admdvs(r.region),
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
        return {
            "baseinfo": {
                "psn_no": r.id,
                "psn_cert_type": "01",
                "certno": r.id_number,
                "psn_name": r.name,
                "gend": _gend(r.sex),
                "naty": "",
                "brdy": r.birth_date.isoformat(),
                "age": age_on(r.birth_date, day),
            },
            "insuinfo": insuinfo,
            "idetinfo": idetinfo,
        }

    # --- outpatient visits: 2201, 2202, 2203 ---------------------------------------------

    def register(self, call: Call, uow: UnitOfWork, store: FsiStore, _: Work) -> dict[str, Any]:
        data = call.input.obj("data")
        assert data is not None
        for name in ("atddr_no", "dr_name", "dept_code", "dept_name", "caty"):
            data.req(name, max_len=100)
        out = self._new_visit(
            call,
            uow,
            store,
            data,
            inpatient=False,
            number_field="ipt_otp_no",
            kind=None,
            med_type=None,
            diagnosis=None,
        )
        return {"data": out}

    def cancel_registration(
        self, call: Call, uow: UnitOfWork, store: FsiStore, _: Work
    ) -> dict[str, Any]:
        data = call.input.obj("data")
        assert data is not None
        row = self.visit(store, call, data, inpatient=False, lock=True)
        number = data.req("ipt_otp_no", max_len=40)
        if number != row.ipt_otp_no:
            raise invalid(data.at("ipt_otp_no"), f"与就诊 {row.mdtrt_id} 的门诊号不符")
        if row.status == "settled":
            raise invalid(data.at("mdtrt_id"), f"就诊 {row.mdtrt_id} 已结算，请先撤销结算（2208）")
        store.update_visit(row.mdtrt_id, status="cancelled")
        return {}

    def visit_info(self, call: Call, uow: UnitOfWork, store: FsiStore, _: Work) -> dict[str, Any]:
        info = call.input.obj("mdtrtinfo")
        assert info is not None
        row = self.visit(store, call, info, inpatient=False, lock=True)
        self.unsettled(row, info)
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
        diagnosis = self._diagnoses(call.input, required=True)
        store.update_visit(
            row.mdtrt_id,
            med_type=med_type,
            kind=kind.value,
            diagnosis=diagnosis if diagnosis is not None else row.diagnosis,
            disease=dise_codg if kind is Kind.SPECIAL_OUTPATIENT else None,
        )
        return {}

    @staticmethod
    def _diagnoses(data: Fields, *, required: bool) -> str | None:
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

    # --- fee lines: 2204 / 2301, 2205 / 2302 -------------------------------------------

    def _upload(
        self, call: Call, uow: UnitOfWork, store: FsiStore, inpatient: bool
    ) -> dict[str, Any]:
        lines = call.input.items("feedetail")
        first = lines[0]
        row = self.visit(store, call, first, inpatient=inpatient, lock=True)
        self.unsettled(row, first)
        record = uow.registry.person(row.psn_no)
        assert record is not None
        existing = {ln.feedetl_sn: ln for ln in store.lines(row.mdtrt_id)}
        refunded: dict[str, Decimal] = {}
        for ln in existing.values():
            if ln.init_feedetl_sn:
                refunded[ln.init_feedetl_sn] = refunded.get(ln.init_feedetl_sn, ZERO) + Decimal(
                    ln.cnt
                )
        parsed: list[dict[str, Any]] = []
        entry: dict[str, Any]
        new: dict[str, dict[str, Any]] = {}
        for ln in lines:
            if ln.req("mdtrt_id", max_len=40) != row.mdtrt_id:
                raise invalid(ln.at("mdtrt_id"), "一次上传的费用明细须属于同一就诊")
            if ln.req("psn_no", max_len=32) != row.psn_no:
                raise invalid(ln.at("psn_no"), f"人员编号与就诊 {row.mdtrt_id} 不符")
            sn = ln.req("feedetl_sn", max_len=40)
            if sn in existing or sn in new:
                raise invalid(ln.at("feedetl_sn"), f"费用明细流水号 {sn} 已上传")
            code = ln.req("med_list_codg", max_len=64)
            ln.req("medins_list_codg", max_len=64)
            ln.day("fee_ocur_time")
            cnt = ln.amount("cnt", places=4, negative=True)
            pric = ln.amount("pric", places=6)
            sumamt = ln.amount("det_item_fee_sumamt", places=2, negative=True)
            init = ln.text("init_feedetl_sn", required=False, max_len=40)
            rxno = ln.text("rxno", required=False, max_len=40)
            ln.text("chrg_bchno", required=False, max_len=40)
            if cnt == 0:
                raise invalid(ln.at("cnt"), "数量不能为0")
            if cnt < 0 and init is None:  # a refund names the line it refunds
                raise missing(ln.at("init_feedetl_sn"))
            if sumamt != round_fen(cnt * pric):
                raise invalid(
                    ln.at("det_item_fee_sumamt"),
                    f"{sumamt} 不等于 数量×单价 = {round_fen(cnt * pric)}",
                )
            if cnt < 0:
                if init is None:
                    raise missing(ln.at("init_feedetl_sn"))
                original = new.get(init) or (
                    {
                        "code": existing[init].med_list_codg,
                        "pric": Decimal(existing[init].pric),
                        "cnt": Decimal(existing[init].cnt),
                        "init": existing[init].init_feedetl_sn,
                    }
                    if init in existing
                    else None
                )
                if original is None or original["init"]:
                    raise invalid(ln.at("init_feedetl_sn"), f"原费用明细 {init} 不存在")
                if original["code"] != code or original["pric"] != pric:
                    raise invalid(
                        ln.at("init_feedetl_sn"), f"退费明细的目录编码和单价须与原明细 {init} 相同"
                    )
                refunded[init] = refunded.get(init, ZERO) + cnt
                if original["cnt"] + refunded[init] < 0:
                    raise invalid(
                        ln.at("cnt"), f"退费数量超过原明细 {init} 的数量 {original['cnt']}"
                    )
            elif init is not None:
                raise invalid(
                    ln.at("init_feedetl_sn"), "只有退费明细（数量为负）才能填写原费用流水号"
                )
            entry = {
                "sn": sn,
                "code": code,
                "cnt": cnt,
                "pric": pric,
                "sumamt": sumamt,
                "init": init,
                "rxno": rxno,
                "fields": ln,
                "medins": ln.req("medins_list_codg", max_len=64),
            }
            new[sn] = entry
            parsed.append(entry)
        catalogue = uow.registry.catalogue_items(record.region, (p["code"] for p in parsed))
        try:
            policy = self.policies(record.region)
        except ValueError as exc:
            raise FsiError(f"参保地待遇政策未配置：{exc}") from None
        results = []
        seq = store.next_line_seq(row.mdtrt_id)
        rows = []
        for p in parsed:
            ln = p["fields"]
            item = catalogue.get(p["code"])
            if item is None:
                raise invalid(
                    ln.at("med_list_codg"), f"{p['code']} 不在 {record.region} 医保目录中"
                )
            if item.unit_price is not None and p["pric"] != item.unit_price:
                raise invalid(
                    ln.at("pric"), f"{p['code']} 的限定价格为 {item.unit_price}，不是 {p['pric']}"
                )
            try:
                share = policy.eligible_share[item.cls.value].at(row.begntime).value
            except PolicyGapError as exc:
                raise FsiError(f"就诊日期无有效的待遇政策：{exc}") from None
            amount = p["sumamt"]
            inscp = round_fen(amount * share)
            fulamt = amount if share == ZERO else NIL
            results.append(
                {
                    "feedetl_sn": p["sn"],
                    "det_item_fee_sumamt": amount,
                    "cnt": p["cnt"],
                    "pric": p["pric"],
                    "pric_uplmt_amt": NIL if item.unit_price is None else money(item.unit_price),
                    "selfpay_prop": (ONE - share).quantize(Decimal("0.0001")),
                    "fulamt_ownpay_amt": fulamt,
                    "overlmt_amt": NIL,
                    "preselfpay_amt": round_fen(amount - inscp - fulamt),
                    "inscp_scp_amt": inscp + NIL,
                    "chrgitm_lv": codes.CHRGITM_LV[item.cls.value],
                    "med_chrgitm_type": "",
                    "bas_medn_flag": "0",
                    "hi_nego_drug_flag": "0",
                    "chld_medc_flag": "0",
                    "list_sp_item_flag": "0",
                    "lmt_used_flag": "0",
                    "drt_reim_flag": "0",
                    "memo": item.name,
                }
            )
            rows.append(
                {
                    "mdtrt_id": row.mdtrt_id,
                    "feedetl_sn": p["sn"],
                    "seq": seq,
                    "init_feedetl_sn": p["init"],
                    "med_list_codg": p["code"],
                    "medins_list_codg": p["medins"],
                    "cnt": str(p["cnt"]),
                    "pric": str(p["pric"]),
                    "amount_fen": to_fen(amount),
                    "rxno": p["rxno"],
                }
            )
            seq += 1
        store.add_lines(rows)
        return {"result": results}

    def upload_outpatient(
        self, call: Call, uow: UnitOfWork, store: FsiStore, _: Work
    ) -> dict[str, Any]:
        return self._upload(call, uow, store, inpatient=False)

    def upload_inpatient(
        self, call: Call, uow: UnitOfWork, store: FsiStore, _: Work
    ) -> dict[str, Any]:
        return self._upload(call, uow, store, inpatient=True)

    def _cancel_lines(self, call: Call, store: FsiStore, inpatient: bool) -> dict[str, Any]:
        data = call.input.obj("data")
        assert data is not None
        row = self.visit(store, call, data, inpatient=inpatient, lock=True)
        self.unsettled(row, data)
        sn = data.text("feedetl_sn", required=False, max_len=40)
        if sn is None or sn == "0000":
            store.delete_lines(row.mdtrt_id, None)
            return {}
        lines = store.lines(row.mdtrt_id)
        if all(ln.feedetl_sn != sn for ln in lines):
            raise invalid(data.at("feedetl_sn"), f"费用明细 {sn} 不存在")
        if any(ln.init_feedetl_sn == sn for ln in lines):
            raise invalid(data.at("feedetl_sn"), f"费用明细 {sn} 有退费明细，请先撤销退费明细")
        store.delete_lines(row.mdtrt_id, [sn])
        return {}

    def cancel_outpatient_lines(
        self, call: Call, uow: UnitOfWork, store: FsiStore, _: Work
    ) -> dict[str, Any]:
        return self._cancel_lines(call, store, inpatient=False)

    def cancel_inpatient_lines(
        self, call: Call, uow: UnitOfWork, store: FsiStore, _: Work
    ) -> dict[str, Any]:
        return self._cancel_lines(call, store, inpatient=True)

    # --- inpatient visits: 2401, 2402 ----------------------------------------------------

    def admit(self, call: Call, uow: UnitOfWork, store: FsiStore, _: Work) -> dict[str, Any]:
        info = call.input.obj("mdtrtinfo")
        assert info is not None
        med_type = info.req("med_type", max_len=8)
        kind = codes.med_type_kind(med_type, codes.INPATIENT_MED_TYPES)
        if kind is None:
            raise invalid(
                info.at("med_type"),
                f"{med_type!r} 不是可用的住院医疗类别（可用：21 普通住院、23 转外诊治住院、25 异地住院）",
            )
        for name in (
            "atddr_no",
            "chfpdr_name",
            "adm_dept_codg",
            "adm_dept_name",
            "dscg_maindiag_name",
        ):
            info.req(name, max_len=200)
        diagnosis = info.req("dscg_maindiag_code", max_len=16)
        self._diagnoses(call.input, required=False)
        out = self._new_visit(
            call,
            uow,
            store,
            info,
            inpatient=True,
            number_field="ipt_no",
            kind=kind,
            med_type=med_type,
            diagnosis=diagnosis,
        )
        return {"result": out}

    def discharge(self, call: Call, uow: UnitOfWork, store: FsiStore, _: Work) -> dict[str, Any]:
        info = call.input.obj("dscginfo")
        assert info is not None
        row = self.visit(store, call, info, inpatient=True, lock=True)
        if row.discharged:
            raise invalid(info.at("mdtrt_id"), f"就诊 {row.mdtrt_id} 已办理出院")
        if info.req("insutype", max_len=6) != row.insutype:
            raise invalid(info.at("insutype"), f"与入院登记的险种 {row.insutype} 不符")
        end = info.day("endtime")
        assert end is not None
        if end < row.begntime:
            raise invalid(info.at("endtime"), f"出院日期早于入院日期 {row.begntime.isoformat()}")
        code = info.req("dise_codg", max_len=16)
        info.req("dise_name", max_len=200)
        info.req("dscg_way", max_len=8)
        self._diagnoses(call.input, required=False)
        values: dict[str, Any] = {"endtime": end, "discharged": 1}
        if row.status != "settled":  # a settled stay keeps the diagnosis it settled with
            values["diagnosis"] = code
        store.update_visit(row.mdtrt_id, **values)
        return {}

    # --- settlement: 2206 / 2207, 2303 / 2304 --------------------------------------------

    def _bill(self, call: Call, data: Fields, inpatient: bool) -> Work:
        """Check a (pre-)settlement message against its visit and build the bill."""
        with self.uow() as uow:
            store = FsiStore(uow.connection)
            row = self.visit(store, call, data, inpatient=inpatient)
            self.unsettled(row, data)
            who = self.person(uow, store, data, row.begntime.year, need_card=True)
            if who.record.id != row.psn_no:
                raise invalid(data.at("mdtrt_cert_no"), f"就诊凭证不属于 {row.psn_no}")
            insutype = self._insured(who, row.begntime, data)
            if inpatient:
                kind = Kind(row.kind)
                med_type = row.med_type
                flag = data.one_of("mid_setl_flag", {"0": "否", "1": "是"})
                if flag == "1":
                    raise invalid(data.at("mid_setl_flag"), "暂不支持中途结算，请出院结算")
            else:
                med_type = data.req("med_type", max_len=8)
                found = codes.med_type_kind(med_type, codes.OUTPATIENT_MED_TYPES)
                if found is None:
                    raise invalid(
                        data.at("med_type"),
                        f"{med_type!r} 不是可用的门诊医疗类别（可用：11、13、14、41）",
                    )
                if row.kind is not None and row.kind != found.value:
                    raise invalid(
                        data.at("med_type"),
                        f"与就诊信息上传（2203）的医疗类别 {row.med_type} 不一致",
                    )
                kind = found
                if kind is Kind.SPECIAL_OUTPATIENT and not row.disease:
                    raise FsiError(
                        "门诊慢特病（med_type 14）须先上传就诊信息（2203），并填写病种编码 mdtrtinfo.dise_codg"
                    )
            sumamt = data.amount("medfee_sumamt")
            data.one_of("psn_setlway", {"01": "按项目结算", "02": "按定额结算"})
            data.one_of("acct_used_flag", {"0": "否", "1": "是"})
            lines = store.lines(row.mdtrt_id)
            uploaded = sum((Decimal(ln.amount_fen) / 100 for ln in lines), ZERO)
            if sumamt != uploaded:
                raise invalid(
                    data.at("medfee_sumamt"),
                    f"{sumamt} 与已上传费用明细合计 {round_fen(uploaded)} 不符",
                )
            net: dict[str, Decimal] = {}
            for ln in lines:
                key = ln.init_feedetl_sn or ln.feedetl_sn
                net[key] = net.get(key, ZERO) + Decimal(ln.cnt)
            bill_lines = tuple(
                BillLine(ln.med_list_codg, net[ln.feedetl_sn], Decimal(ln.pric))
                for ln in lines
                if not ln.init_feedetl_sn and net[ln.feedetl_sn] > 0
            )
            if not bill_lines:
                raise FsiError(f"就诊 {row.mdtrt_id} 没有费用明细，请先上传费用明细")
            total = sum((round_fen(b.quantity * b.unit_price) for b in bill_lines), ZERO)
            if total != uploaded:
                raise FsiError(
                    f"部分退费后按净数量计算的费用 {total} 与明细合计 {round_fen(uploaded)} 因舍入不一致：请整笔退费后重新上传"
                )
            bill = Bill(
                institution_id=call.fixmedins_code,
                # A voucher settles by the person it names, as the native API does.
                card_number=None if who.by_voucher else (who.card or row.card_number),
                person_id=who.record.id if who.by_voucher else None,
                kind=kind,
                date=row.begntime,
                lines=bill_lines,
                diagnosis=row.diagnosis,
                disease=row.disease,
                prescription=any(ln.rxno for ln in lines) if kind is Kind.PHARMACY else True,
            )
            e = who.enrolment
            assert e is not None
            person = {
                "psn_no": who.record.id,
                "psn_name": who.record.name,
                "psn_cert_type": "01",
                "certno": who.record.id_number,
                "gend": _gend(who.record.sex),
                "naty": "",
                "brdy": who.record.birth_date.isoformat(),
                "age": age_on(who.record.birth_date, row.begntime),
                "insutype": insutype,
                "psn_type": codes.psn_type(
                    e.scheme, who.record.birth_date, row.begntime, who.record.retired
                ),
                "cvlserv_flag": "0",
                "mdtrt_cert_type": data.req("mdtrt_cert_type"),
                "med_type": med_type or codes.MED_TYPE_OF_KIND[kind],
                "clr_optins": store.admdvs(who.record.region),
            }
        return Work(
            {
                "bill": bill,
                "visit": row,
                "person": person,
                "key": f"fsi:{row.mdtrt_id}:{row.settle_attempts}",
            }
        )

    def _setlinfo(self, call: Call, work: Work, view: dict[str, Any]) -> dict[str, Any]:
        row = work.data["visit"]
        person = work.data["person"]
        a = amounts(view)
        info: dict[str, Any] = {
            "setl_id": None if view["id"] is None else str(view["id"]),
            "mdtrt_id": row.mdtrt_id,
            **{k: v for k, v in person.items() if k != "clr_optins"},
            "setl_time": _stamp(call.inf_time),
            **a,
            "medins_setl_id": call.msgid,
            "clr_optins": person["clr_optins"],
            "clr_way": "1",
            "clr_type": "21" if row.inpatient else "11",
            "memo": view["summary"]["zh"],
        }
        return {"setlinfo": info, "setldetail": setldetail(person["insutype"], a)}

    def _quote(self, call: Call, inpatient: bool) -> Work:
        data = call.input.obj("data")
        assert data is not None
        work = self._bill(call, data, inpatient)
        try:
            view = self.services.settlements.quote(work.data["bill"])
        except ServiceError as exc:
            raise service_error(exc) from None
        work.data["output"] = self._setlinfo(call, work, view)
        return work

    def prepare_outpatient_quote(self, call: Call) -> Work:
        return self._quote(call, inpatient=False)

    def prepare_inpatient_quote(self, call: Call) -> Work:
        return self._quote(call, inpatient=True)

    def answer(self, call: Call, uow: UnitOfWork, store: FsiStore, work: Work) -> dict[str, Any]:
        out: dict[str, Any] = work.data["output"]
        return out

    def _settle(self, call: Call, inpatient: bool) -> Work:
        data = call.input.obj("data")
        assert data is not None
        work = self._bill(call, data, inpatient)
        try:
            _, view = self.services.settlements.settle(work.data["bill"], work.data["key"])
        except ServiceError as exc:
            raise service_error(exc) from None
        work.data["output"] = self._setlinfo(call, work, view)
        work.data["setl_id"] = int(view["id"])
        return work

    def prepare_outpatient_settlement(self, call: Call) -> Work:
        return self._settle(call, inpatient=False)

    def prepare_inpatient_settlement(self, call: Call) -> Work:
        return self._settle(call, inpatient=True)

    def record_settlement(
        self, call: Call, uow: UnitOfWork, store: FsiStore, work: Work
    ) -> dict[str, Any]:
        row = store.visit(work.data["visit"].mdtrt_id, lock=True)
        assert row is not None
        if row.status != "open" or row.settle_attempts != work.data["visit"].settle_attempts:
            raise FsiError(f"就诊 {row.mdtrt_id} 已结算，不能重复结算")
        out: dict[str, Any] = work.data["output"]
        store.add_settlement(
            {
                "setl_id": work.data["setl_id"],
                "mdtrt_id": row.mdtrt_id,
                "fixmedins_code": call.fixmedins_code,
                "psn_no": row.psn_no,
                "setlinfo": dumps(out["setlinfo"]),
                "status": "settled",
            }
        )
        values: dict[str, Any] = {"status": "settled"}
        if row.kind is None:
            values.update(kind=work.data["bill"].kind.value, med_type=out["setlinfo"]["med_type"])
        store.update_visit(row.mdtrt_id, **values)
        return out

    # --- cancelling a settlement: 2208 / 2305 --------------------------------------------

    def _own_settlement(self, store: FsiStore, call: Call, data: Fields) -> Any:
        raw = data.req("setl_id", max_len=20)
        if not raw.isdigit() or int(raw) > 2**63 - 1:
            raise invalid(data.at("setl_id"), f"结算 {raw} 不存在")
        found = store.settlement(int(raw))
        # Another institution's settlement is "not found", as in the native API.
        if found is None or found.fixmedins_code != call.fixmedins_code:
            raise invalid(data.at("setl_id"), f"结算 {raw} 不存在")
        if data.req("mdtrt_id", max_len=40) != found.mdtrt_id:
            raise invalid(data.at("mdtrt_id"), f"与结算 {raw} 的就诊ID不符")
        if data.req("psn_no", max_len=32) != found.psn_no:
            raise invalid(data.at("psn_no"), f"与结算 {raw} 的人员编号不符")
        return found

    def _cancel(self, call: Call, inpatient: bool) -> Work:
        data = call.input.obj("data")
        assert data is not None
        with self.uow() as uow:
            store = FsiStore(uow.connection)
            found = self._own_settlement(store, call, data)
            if found.status != "settled":
                raise invalid(data.at("setl_id"), f"结算 {found.setl_id} 已撤销，不能重复撤销")
            row = store.visit(found.mdtrt_id)
            assert row is not None
            if bool(row.inpatient) != inpatient:
                other = "2305" if row.inpatient else "2208"
                raise invalid(data.at("setl_id"), f"结算 {found.setl_id} 请用 {other} 撤销")
        try:
            answer = self.services.settlements.reverse(
                int(found.setl_id),
                f"{call.infno} 撤销结算（报文 {call.msgid}）",
                as_institution(call.fixmedins_code),
            )
            reversal_id: int | None = int(answer["reversal_id"])
            adjustments = answer["adjustments"]
            reversed_split: dict[str, str] | None = answer["reversed"]
        except ConflictError as exc:
            if exc.code != "already_reversed":
                raise service_error(exc) from None
            # Reversed before the answer was stored: finish recording it.
            reversal_id, adjustments, reversed_split = None, [], None
        except ServiceError as exc:
            raise service_error(exc) from None
        setl = loads(found.setlinfo)
        if reversed_split is not None:  # the split as it stood (an adjustment may have moved it)
            setl.update(_current_split(setl, reversed_split))
        info = {k: (-v if isinstance(v, Decimal) else v) for k, v in setl.items()}
        info.update(setl_id=str(found.setl_id), setl_time=_stamp(call.inf_time), memo="撤销结算")
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
        output = {
            "setlinfo": info,
            "setldetail": setldetail(
                setl["insutype"], {k: v for k, v in info.items() if isinstance(v, Decimal)}
            ),
            "adjustments": adjusted,
        }
        return Work({"found": found, "reversal_id": reversal_id, "output": output})

    def prepare_outpatient_cancel(self, call: Call) -> Work:
        return self._cancel(call, inpatient=False)

    def prepare_inpatient_cancel(self, call: Call) -> Work:
        return self._cancel(call, inpatient=True)

    def record_cancel(
        self, call: Call, uow: UnitOfWork, store: FsiStore, work: Work
    ) -> dict[str, Any]:
        found = work.data["found"]
        now_ = store.settlement(int(found.setl_id))
        if now_ is None or now_.status != "settled":
            raise FsiError(f"结算 {found.setl_id} 已撤销，不能重复撤销")
        store.cancel_settlement(int(found.setl_id), work.data["reversal_id"])
        row = store.visit(found.mdtrt_id, lock=True)
        assert row is not None
        store.update_visit(row.mdtrt_id, status="open", settle_attempts=row.settle_attempts + 1)
        out: dict[str, Any] = work.data["output"]
        return out

    # --- 5203 settlement query -------------------------------------------------------

    def prepare_query(self, call: Call) -> Work:
        data = call.input.obj("data")
        assert data is not None
        with self.uow() as uow:
            found = self._own_settlement(FsiStore(uow.connection), call, data)
        try:
            now_ = self.services.queries.settlement(
                int(found.setl_id), as_institution(call.fixmedins_code)
            )
        except ServiceError as exc:
            raise service_error(exc) from None
        setl = loads(found.setlinfo)
        # The split as it stands now: a reversal of an earlier bill may have adjusted it.
        setl.update(_current_split(setl, now_))
        cancelled = found.status != "settled"
        setl["vali_flag"] = "0" if cancelled else "1"
        setl["refd_setl_flag"] = "1" if cancelled else "0"
        return Work(
            {"output": {"setlinfo": setl, "setldetail": setldetail(setl["insutype"], setl)}}
        )


def _current_split(setl: dict[str, Any], split: dict[str, Any]) -> dict[str, Decimal]:
    """A stored setlinfo's split replaced by yibao's split as it stands (basic, assistance,
    institution, personal): the totals and the scope of the bill do not change."""
    basic, assistance = money(split["basic"]), money(split["assistance"])
    institution, personal = money(split["institution"]), money(split["personal"])
    threshold = money(split["threshold"])  # a re-settlement may charge another threshold
    copay = setl["inscp_scp_amt"] - threshold - basic - assistance - institution
    return {
        "act_pay_dedc": threshold,
        "hifp_pay": basic,
        "maf_pay": assistance,
        "fund_pay_sumamt": basic + setl["hifmi_pay"] + assistance,
        "hosp_part_amt": institution,
        "psn_part_amt": personal,
        "psn_cash_pay": personal,
        "pool_prop_selfpay": round_fen(max(copay, ZERO)),
    }


# infno → (name, prepare, apply)
TRANSACTIONS: dict[str, tuple[str, Prepare | None, Apply]] = {
    "9001": ("签到", None, Transactions.sign_in),
    "1101": ("人员信息获取", None, Transactions.person_info),
    "2201": ("门诊挂号", None, Transactions.register),
    "2202": ("门诊挂号撤销", None, Transactions.cancel_registration),
    "2203": ("门诊就诊信息上传", None, Transactions.visit_info),
    "2204": ("门诊费用明细上传", None, Transactions.upload_outpatient),
    "2205": ("门诊费用明细撤销", None, Transactions.cancel_outpatient_lines),
    "2206": ("门诊预结算", Transactions.prepare_outpatient_quote, Transactions.answer),
    "2207": (
        "门诊结算",
        Transactions.prepare_outpatient_settlement,
        Transactions.record_settlement,
    ),
    "2208": ("门诊结算撤销", Transactions.prepare_outpatient_cancel, Transactions.record_cancel),
    "2401": ("入院办理", None, Transactions.admit),
    "2402": ("出院办理", None, Transactions.discharge),
    "2301": ("住院费用明细上传", None, Transactions.upload_inpatient),
    "2302": ("住院费用明细撤销", None, Transactions.cancel_inpatient_lines),
    "2303": ("住院预结算", Transactions.prepare_inpatient_quote, Transactions.answer),
    "2304": ("住院结算", Transactions.prepare_inpatient_settlement, Transactions.record_settlement),
    "2305": ("住院结算撤销", Transactions.prepare_inpatient_cancel, Transactions.record_cancel),
    "5203": ("结算信息查询", Transactions.prepare_query, Transactions.answer),
}
