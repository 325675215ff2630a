"""The transactions the interface answers: infno → (Chinese name, handler). A handler
reads its message and works in the one unit of work that also stores its answer, so
that either both are there or neither (yibao.fsi.gateway). A problem anywhere is an
FsiError, or a refusal of the service layer; nothing is written then."""

from __future__ import annotations

from yibao.fsi import catalogue, corrections, fees, filings, recon, settle, visits
from yibao.fsi.context import Call, Ctx, Handler, as_institution

__all__ = ["TRANSACTIONS", "Call", "Ctx", "Handler", "as_institution"]

TRANSACTIONS: dict[str, tuple[str, Handler]] = {
    "9001": ("签到", visits.sign_in),
    "9002": ("签退", visits.sign_out),
    "1101": ("人员信息获取", visits.person_info),
    "1312": ("医保目录信息查询", catalogue.items),
    "1318": ("医保目录限价信息查询", catalogue.caps),
    "1319": ("医保目录先自付比例信息查询", catalogue.ratios),
    "2201": ("门诊挂号", visits.register),
    "2202": ("门诊挂号撤销", visits.cancel_registration),
    "2203": ("门诊就诊信息上传", visits.visit_info),
    "2204": ("门诊费用明细上传", fees.upload_outpatient),
    "2205": ("门诊费用明细撤销", fees.cancel_outpatient_lines),
    "2206": ("门诊预结算", settle.outpatient_quote),
    "2207": ("门诊结算", settle.outpatient_settlement),
    "2208": ("门诊结算撤销", settle.outpatient_cancel),
    "2401": ("入院办理", visits.admit),
    "2402": ("出院办理", visits.discharge),
    "2301": ("住院费用明细上传", fees.upload_inpatient),
    "2302": ("住院费用明细撤销", fees.cancel_inpatient_lines),
    "2303": ("住院预结算", settle.inpatient_quote),
    "2304": ("住院结算", settle.inpatient_settlement),
    "2305": ("住院结算撤销", settle.inpatient_cancel),
    "2404": ("入院办理撤销", corrections.cancel_admission),
    "2405": ("出院办理撤销", corrections.cancel_discharge),
    "2501": ("转院备案", filings.refer),
    "2601": ("冲正交易", corrections.reversal),
    "3201": ("医药机构费用结算对总账", recon.total),
    "3202": ("医药机构费用结算对明细账", recon.detail),
    "3301": ("目录对照上传", catalogue.map_codes),
    "3302": ("目录对照撤销", catalogue.unmap_codes),
    "5203": ("结算信息查询", settle.query),
    "9101": ("文件上传", recon.upload),
    "9102": ("文件下载", recon.download),
}
