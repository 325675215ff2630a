"""What every transaction works with: the message (`Call`), its one unit of work and the
adapter's store (`Ctx`), and the translations shared by all of them — the person a
certificate names, the visit a message names, a service refusal in Chinese naming the
field it concerns. Rules are the hospital desk's (yibao.service.desk); this only reads
fields and names them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.fsi import codes
from yibao.fsi.fields import Fields, FsiError, invalid
from yibao.service.desk import CARD, ID_NUMBER, VOUCHER, Holder, HospitalDesk
from yibao.service.errors import ServiceError
from yibao.service.ports import UnitOfWork
from yibao.service.ports.interface import InterfaceRecords, WithInterfaceRecords
from yibao.service.services import Services

DESK_CERT = {codes.VOUCHER: VOUCHER, codes.ID_CARD: ID_NUMBER, codes.SOCIAL_CARD: CARD}


@dataclass(frozen=True)
class Call:
    infno: str
    msgid: str
    fixmedins_code: str
    opter: str
    inf_time: datetime
    mdtrtarea_admvs: str
    input: Fields
    sign_no: str | None = None


@dataclass
class Ctx:
    """One message being answered, inside the unit of work that also stores its answer."""

    call: Call
    uow: UnitOfWork
    store: InterfaceRecords  # the interface's own records, in the same unit of work
    services: Services

    @property
    def desk(self) -> HospitalDesk:
        return self.services.desk

    @property
    def institution(self) -> Principal:
        """The signed-in hospital system, as the service layer's caller."""
        return as_institution(self.call.fixmedins_code)


Handler = Callable[[Ctx], dict[str, Any]]


_KEEPING: set[type] = set()  # the units of work found to keep them


def records(uow: UnitOfWork) -> InterfaceRecords:
    """The national interface's records kept by this unit of work (the database's keeps
    them: adapters/db/fsi_repo.py)."""
    kind = type(uow)
    if kind not in _KEEPING:  # a Protocol's isinstance costs 0.1 ms: once a class
        if not isinstance(uow, WithInterfaceRecords):
            raise TypeError(f"{kind.__name__} keeps no national interface records")
        _KEEPING.add(kind)
    return uow.interface  # type: ignore[attr-defined,no-any-return]


def as_institution(code: str) -> Principal:
    return Principal(account=f"fsi:{code}", role=Role.INSTITUTION, institution_id=code)


def gend(sex: str) -> str:
    return "1" if sex == "M" else "2"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


ZH = {
    "unknown_card": "人员不存在：社会保障卡未登记",
    "unknown_person": "人员不存在",
    "card_lost": "社会保障卡已挂失，参保人先行垫付后申请手工报销",
    "card_replaced": "社会保障卡已换卡，请使用新卡",
    "card_not_issued": "社会保障卡正在制卡，尚未发放：参保人先行垫付后申请手工报销",
    "voucher_expired": "医保电子凭证已过期，请在智慧医保中刷新二维码",
    "invalid_voucher": "医保电子凭证无效",
    "not_enrolled": "参保人在就诊日期无有效参保",
    "unknown_institution": "定点医药机构未登记",
    "not_designated": "非定点医药机构，不能联网结算",
    "missing_disease": "门诊慢特病须在就诊信息上传（2203）中填写病种编码 dise_codg",
    "unknown_catalogue_code": "医疗目录编码（med_list_codg）不在医保目录中，也未做对照",
    "amount_too_large": "金额超过上限",
    "invalid_bill": "费用数据有误",
    "no_policy_in_force": "就诊日期无有效的待遇政策",
    "region_not_configured": "参保地待遇政策未配置",
    "unknown_settlement": "结算记录不存在",
    "already_reversed": "结算已撤销，不能重复撤销",
    "unknown_mapping": "目录对照不存在",
    "invalid_cause": "涉及第三方责任的外伤不能按医保联网结算",
    "invalid_delivery": "生育类别仅用于住院分娩",
    "not_insured_here": "参保人不在本统筹区参保，转院备案须由参保地定点医院办理",
    "same_region": "转往机构在参保地统筹区内，无需异地转院备案",
    "not_a_designated_hospital": "转院备案须由定点医院办理",
    "invalid_period": "日期无效",
    "invalid_year": "日期无效",
    "missing_field": "缺少必填字段",
    "invalid_field": "字段无效",
    "mapping_conflict": "该机构目录编码在同一开始日期已对照其他医保目录，历史对照不可改写",
    "catalogue_mismatch": "目录类别与医保目录不符",
    "invalid_code": "编码无效",
    "invalid_dates": "日期无效",
    "invalid_page": "分页参数无效",
    "unknown_region": "医保区划不存在",
    "idempotency_key_reused": "本次就诊的费用与此前未完成的结算请求不一致，请撤销后重新结算",
}


def service_error(exc: ServiceError, path: str | None = None) -> FsiError:
    """A refusal of the service layer, in Chinese with its code, naming the field when the
    message has one that it concerns."""
    zh = ZH.get(exc.code, "医保服务拒绝")
    text = f"{zh}：{exc.message}（{exc.code}）"
    return invalid(path, text) if path is not None else FsiError(text)


def holder(ctx: Ctx, data: Fields, year: int) -> Holder:
    """The person a certificate names (mdtrt_cert_type, mdtrt_cert_no)."""
    cert_type = data.one_of("mdtrt_cert_type", codes.CERT_TYPES)
    cert_no = data.req("mdtrt_cert_no", max_len=64)
    try:
        return ctx.desk.holder(ctx.uow, DESK_CERT[cert_type], cert_no, year)
    except ServiceError as exc:
        raise service_error(exc, data.at("mdtrt_cert_no")) from None


def insured(ctx: Ctx, who: Holder, day: Any, data: Fields) -> str:
    """The insutype of the enrolment that covers the day, checked against the message."""
    try:
        e = ctx.desk.enrolled(who, day)
    except ServiceError as exc:
        raise service_error(exc) from None
    insutype = data.req("insutype", max_len=6)
    want = codes.INSUTYPE[e.scheme]
    if insutype != want:
        raise invalid(
            data.at("insutype"),
            f"参保人的险种为 {want}（{codes.INSUTYPE_NAME[want]}），不是 {insutype}",
        )
    return want


def visit(ctx: Ctx, data: Fields, *, inpatient: bool, lock: bool = True) -> Any:
    """The visit a message names, the institution's own, of the right kind, not cancelled."""
    mdtrt_id = data.req("mdtrt_id", max_len=40)
    psn_no = data.req("psn_no", max_len=32)
    row = ctx.store.visit(mdtrt_id, lock=lock)
    if row is None or row.fixmedins_code != ctx.call.fixmedins_code:
        raise invalid(data.at("mdtrt_id"), f"就诊 {mdtrt_id} 不存在")
    if row.psn_no != psn_no:
        raise invalid(data.at("psn_no"), f"人员编号与就诊 {mdtrt_id} 不符")
    if bool(row.inpatient) != inpatient:
        what = "住院" if row.inpatient else "门诊"
        raise invalid(data.at("mdtrt_id"), f"就诊 {mdtrt_id} 是{what}就诊，请使用{what}交易")
    if row.status == "cancelled":
        raise invalid(data.at("mdtrt_id"), f"就诊 {mdtrt_id} 已撤销")
    return row


def unsettled(row: Any, data: Fields) -> None:
    if row.status == "settled":
        raise invalid(
            data.at("mdtrt_id"),
            f"就诊 {row.mdtrt_id} 已结算，不能重复结算或修改；如需更正请先撤销结算",
        )
