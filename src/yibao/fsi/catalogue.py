"""The catalogue as hospitals keep it: 3301 / 3302, an institution's own item codes mapped
to national codes and cancelled (目录对照上传 / 撤销), and 1312 / 1318 / 1319, the
catalogue's download with its price caps and first self-pay ratios, a page at a time
(医保目录信息 / 限价信息 / 先自付比例信息查询). The mapping rules and the paging are the
catalogue service's; this reads fields and names them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from yibao.domain.catalogue import ANY_SCHEME, Entry
from yibao.fsi.codes import CHRGITM_LV, INSUTYPE
from yibao.fsi.context import Ctx, service_error, stamp
from yibao.fsi.fields import Fields, invalid
from yibao.service.catalogue import Download
from yibao.service.errors import ServiceError

BEIJING = timezone(timedelta(hours=8))

# list_type (目录类别) → the catalogue a national code is in
LIST_TYPE = {
    "101": ("drug", "西药中成药"),
    "102": ("drug", "中药饮片"),
    "103": ("drug", "自制剂"),
    "104": ("drug", "民族药"),
    "201": ("service", "医疗服务项目"),
    "301": ("consumable", "医用耗材"),
}
LIST_TYPE_OF = {"drug": "101", "service": "201", "consumable": "301"}
# The service's field → the message's
MAPPING_FIELDS = {
    "own_code": "fixmedins_hilist_id",
    "national_code": "med_list_codg",
    "valid_from": "begndate",
    "valid_to": "enddate",
    "catalogue": "list_type",
}


def _refusal(exc: ServiceError, item: Fields) -> Exception:
    field = MAPPING_FIELDS.get(str(exc.details.get("field")), "fixmedins_hilist_id")
    return service_error(exc, item.at(field))


def map_codes(ctx: Ctx) -> dict[str, Any]:
    """3301: `data` (an object, or a list of them): fixmedins_hilist_id (the institution's
    own code), fixmedins_hilist_name, list_type, med_list_codg (the national code),
    begndate, enddate (optional); aprvno, dosform, spec and the like are the hospital's
    own description and are not kept."""
    for item in ctx.call.input.items("data", max_items=500):
        own = item.req("fixmedins_hilist_id", max_len=64)
        name = item.req("fixmedins_hilist_name", max_len=200)
        kind = item.one_of("list_type", {k: v for k, (_, v) in LIST_TYPE.items()})
        national = item.req("med_list_codg", max_len=64)
        begin = item.day("begndate")
        assert begin is not None
        end = item.day("enddate", required=False)
        try:
            ctx.services.catalogue.map_code_in(
                ctx.uow,
                ctx.institution,
                ctx.call.fixmedins_code,
                own,
                national,
                begin,
                end,
                own_name=name,
                catalogue=LIST_TYPE[kind][0],
            )
        except ServiceError as exc:
            raise _refusal(exc, item) from None
    return {}


def unmap_codes(ctx: Ctx) -> dict[str, Any]:
    """3302: `data` (an object, or a list of them): fixmedins_code, fixmedins_hilist_id,
    list_type, med_list_codg — the mapping of that own code to that national code is
    cancelled (kept, marked cancelled: what was settled stays as it was)."""
    for item in ctx.call.input.items("data", max_items=500):
        fixmedins = item.text("fixmedins_code", required=False, max_len=32)
        if fixmedins is not None and fixmedins != ctx.call.fixmedins_code:
            raise invalid(item.at("fixmedins_code"), "与报文的 fixmedins_code 不符")
        own = item.req("fixmedins_hilist_id", max_len=64)
        item.one_of("list_type", {k: v for k, (_, v) in LIST_TYPE.items()})
        national = item.req("med_list_codg", max_len=64)
        try:
            ctx.services.catalogue.unmap_code_in(
                ctx.uow, ctx.institution, ctx.call.fixmedins_code, own, national
            )
        except ServiceError as exc:
            raise _refusal(exc, item) from None
    return {}


# --- downloads ---------------------------------------------------------------------


def _download(
    ctx: Ctx, rows: Callable[[Entry, str], list[dict[str, Any]]], **having: bool
) -> dict[str, Any]:
    """A page of the catalogue of the insured region `insu_admdvs` (default: the
    institution's), with the paging fields clients read. A page is page_size entries
    (1318 / 1319: each with a row for each level / scheme)."""
    data = ctx.call.input.obj("data")
    assert data is not None
    admdvs = data.text("insu_admdvs", required=False, max_len=6, pattern=r"\d{6}")
    region = _region(ctx, admdvs, data)
    since = data.text("updt_time", required=False, max_len=32)
    wanted = Download(
        page=_count(data, "page_num"),
        size=_count(data, "page_size"),
        on=data.day("query_date", required=False),
        code=data.text("hilist_code", required=False, max_len=64),
        name=data.text("hilist_name", required=False, max_len=200),
        starting=data.day("begndate", required=False),
        since=None if since is None else _moment(since, data.at("updt_time")),
        **having,
    )
    try:
        page = ctx.services.catalogue.download_in(ctx.uow, ctx.institution, region, wanted)
    except ServiceError as exc:
        path = {"page": "page_num", "size": "page_size"}.get(str(exc.details.get("field")))
        raise service_error(exc, data.at(path) if path else None) from None
    area = admdvs or ctx.store.admdvs(region)
    out = [row for e in page.entries for row in rows(e, area)]
    pages = -(-page.total // wanted.size)
    start = (wanted.page - 1) * wanted.size
    return {
        "data": out,
        "recordCounts": page.total,
        "pages": pages,
        "pageNum": wanted.page,
        "pageSize": wanted.size,
        "size": len(page.entries),
        "startRow": start + 1 if page.entries else 0,
        "firstPage": wanted.page == 1,
        "lastPage": wanted.page >= pages,
    }


def _region(ctx: Ctx, admdvs: str | None, data: Fields) -> str:
    if admdvs is not None:
        found = ctx.store.region_of(admdvs)
        if found is None:
            raise invalid(data.at("insu_admdvs"), f"医保区划 {admdvs} 不在本系统")
        return found
    inst = ctx.uow.registry.institution(ctx.call.fixmedins_code)
    if inst is None:
        raise invalid("fixmedins_code", "定点医药机构未登记")
    return inst.region


def _count(data: Fields, name: str) -> int:
    value = data.decimal(name, places=0)
    assert value is not None
    return int(value)


def _moment(raw: str, path: str) -> datetime:
    """updt_time, Beijing's wall clock as the interface writes it."""
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y%m%d%H%M%S", "%Y%m%d"):
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=BEIJING)
        except ValueError:
            continue
    raise invalid(path, f"{raw!r} 不是时间（yyyy-MM-dd HH:mm:ss）")


def _beijing(moment: datetime) -> datetime:
    """A stored moment (UTC) as the interface writes times: Beijing's wall clock."""
    utc = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return utc.astimezone(BEIJING)


def _common(e: Entry, admdvs: str) -> dict[str, Any]:
    stored = "" if e.imported_at is None else stamp(_beijing(e.imported_at))
    return {
        "hilist_code": e.code,
        "insu_admdvs": admdvs,
        "begndate": e.valid_from.isoformat(),
        "enddate": None if e.valid_to is None else e.valid_to.isoformat(),
        "vali_flag": "1",
        "rid": f"{admdvs}{e.code}{e.valid_from:%Y%m%d}",
        "updt_time": stored,
        "poolarea_no": admdvs,
    }


def _item(e: Entry, admdvs: str) -> list[dict[str, Any]]:
    r = e.restriction
    return [
        {
            **_common(e, admdvs),
            "hilist_name": e.name,
            "list_type": LIST_TYPE_OF.get(e.catalogue, ""),
            "chrgitm_lv": CHRGITM_LV[e.cls.value],
            "lmt_used_flag": "1" if r.any else "0",
            "memo": r.wording,
            "crte_time": _common(e, admdvs)["updt_time"],
        }
    ]


def _caps(e: Entry, admdvs: str) -> list[dict[str, Any]]:
    """One row a level: the cap at institutions of that level (hosp_lv); a price above it
    is over-limit self-pay (overlmt_dspo_way 1)."""
    return [
        {
            **_common(e, admdvs),
            "rid": f"{_common(e, admdvs)['rid']}L{level}",
            "hilist_lmtpric_type": "1",
            "hosp_lv": str(level),
            "overlmt_dspo_way": "1",
            "hilist_pric_uplmt_amt": cap,
        }
        for level, cap in sorted(e.caps.items())
    ]


def _ratios(e: Entry, admdvs: str) -> list[dict[str, Any]]:
    """One row a scheme (selfpay_prop_psn_type: insutype 310 / 390; empty: every scheme)."""
    out = []
    for scheme, ratio in sorted(e.ratios.items()):
        insutype = "" if scheme == ANY_SCHEME else _insutype(scheme)
        out.append(
            {
                **_common(e, admdvs),
                "rid": f"{_common(e, admdvs)['rid']}S{insutype or 'ALL'}",
                "selfpay_prop_psn_type": insutype,
                "selfpay_prop_type": "1",
                "selfpay_prop": ratio,
            }
        )
    return out


def _insutype(scheme: str) -> str:
    return next((v for k, v in INSUTYPE.items() if k.value == scheme), scheme)


def items(ctx: Ctx) -> dict[str, Any]:
    """1312 医保目录信息查询."""
    return _download(ctx, _item)


def caps(ctx: Ctx) -> dict[str, Any]:
    """1318 医保目录限价信息查询: the entries' caps by institution level."""
    return _download(ctx, _caps, with_caps=True)


def ratios(ctx: Ctx) -> dict[str, Any]:
    """1319 医保目录先自付比例信息查询: the entries' own first self-pay ratios by scheme."""
    return _download(ctx, _ratios, with_ratios=True)
