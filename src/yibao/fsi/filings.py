"""2501 转院备案: a hospital files a patient's referral to a hospital of another region —
yibao's referral certificate (service/certificates.py), issued by the filing hospital in
the message's one transaction. The stay at the receiving hospital then settles as a
referral (its place class), as a card bill does. The certificate keeps the hospital
referred to: a registered one by its code, one yibao does not know by reflin_medins_no and
reflin_medins_name when the message carries the name (migration 0018)."""

from __future__ import annotations

from typing import Any

from yibao.fsi.context import Ctx, service_error
from yibao.fsi.fields import Fields, invalid
from yibao.service.certificates import ReferralFields
from yibao.service.certificates_referrals import Target
from yibao.service.errors import ServiceError

# The service's field → the message's
REFERRAL_FIELDS = {
    "person_id": "psn_no",
    "to_region": "reflin_medins_no",
    "to_institution": "reflin_medins_no",
    "to_institution_name": "reflin_medins_name",
    "valid_from": "begndate",
    "valid_to": "enddate",
    "diagnosis": "diag_code",
}

# Refusals without a field, and the field they concern
BY_CODE = {"unknown_person": "psn_no", "not_insured_here": "psn_no"}


def _target(ctx: Ctx, data: Fields) -> Target:
    """The hospital referred to (reflin_medins_no): registered here, it gives its region;
    otherwise the region is the division code mdtrtarea_admdvs's, and the hospital is kept
    by its code and reflin_medins_name when the message names it."""
    code = data.req("reflin_medins_no", max_len=32)
    if ctx.uow.registry.institution(code) is not None:
        return Target(None, code)
    name = data.text("reflin_medins_name", required=False, max_len=200)
    admdvs = data.text("mdtrtarea_admdvs", required=False, max_len=6, pattern=r"\d{6}")
    region = None if admdvs is None else ctx.store.region_of(admdvs)
    if region is None:
        raise invalid(
            data.at("reflin_medins_no"),
            f"转往机构 {code} 未登记，且 mdtrtarea_admdvs 不是已知的医保区划",
        )
    return Target(region, code, name) if name else Target(region)


def refer(ctx: Ctx) -> dict[str, Any]:
    """2501: `refmedin`: psn_no, insutype, diag_code, diag_name, reflin_medins_no,
    reflin_medins_name, mdtrtarea_admdvs, refl_type, refl_date, refl_rea, refl_opnn,
    begndate (default: refl_date), enddate (required here: a referral certificate has its
    end). The answer's trt_dcla_detl_sn is yibao's referral id."""
    data = ctx.call.input.obj("refmedin")
    assert data is not None
    psn_no = data.req("psn_no", max_len=32)
    diagnosis = data.req("diag_code", max_len=20)
    data.req("diag_name", max_len=100)
    refl_date = data.day("refl_date")
    begin = data.day("begndate", required=False) or refl_date
    end = data.day("enddate")
    assert begin is not None
    assert end is not None
    fields = ReferralFields(_target(ctx, data), begin, end, diagnosis)
    try:
        view = ctx.services.certificates.issue_referral_in(
            ctx.uow, ctx.institution, fields, person_id=psn_no
        )
    except ServiceError as exc:
        field = REFERRAL_FIELDS.get(str(exc.details.get("field"))) or BY_CODE.get(exc.code)
        raise service_error(exc, data.at(field) if field else None) from None
    return {"result": {"trt_dcla_detl_sn": str(view["id"])}}
