"""Fee lines: upload (2204 outpatient, 2301 inpatient) and cancel (2205, 2302).

An uploaded line is checked field by field here; how it falls under the catalogue (its
cap, class, restriction, first self-pay) is the hospital desk's, the same step the
settlement takes. A refund line has a negative `cnt` and names, in `init_feedetl_sn`, an
uploaded line with the same code and price."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from yibao.domain.model import Kind
from yibao.domain.money import ONE, ZERO, round_fen, to_fen
from yibao.fsi import codes
from yibao.fsi.context import Ctx, service_error, unsettled, visit
from yibao.fsi.fields import Fields, invalid, missing
from yibao.fsi.setlinfo import NIL, money
from yibao.service.catalogue_lines import Billed
from yibao.service.desk import Classified
from yibao.service.errors import ServiceError

FEN = Decimal("0.01")
RATIO = Decimal("0.0001")


@dataclass(frozen=True)
class Upload:
    """One line of a 2204 / 2301, read."""

    fields: Fields
    sn: str
    code: str
    medins: str
    cnt: Decimal
    pric: Decimal
    sumamt: Decimal
    init: str | None
    rxno: str | None
    batch: str | None


def _read_line(ln: Fields, row: Any) -> Upload:
    if ln.req("mdtrt_id", max_len=40) != row.mdtrt_id:
        raise invalid(ln.at("mdtrt_id"), "一次上传的费用明细须属于同一就诊")
    if ln.req("psn_no", max_len=32) != row.psn_no:
        raise invalid(ln.at("psn_no"), f"人员编号与就诊 {row.mdtrt_id} 不符")
    sn = ln.req("feedetl_sn", max_len=40)
    code = ln.req("med_list_codg", max_len=64)
    medins = ln.req("medins_list_codg", max_len=64)
    ln.day("fee_ocur_time")
    cnt = ln.amount("cnt", places=4, negative=True)
    pric = ln.amount("pric", places=6)
    sumamt = ln.amount("det_item_fee_sumamt", places=2, negative=True)
    init = ln.text("init_feedetl_sn", required=False, max_len=40)
    rxno = ln.text("rxno", required=False, max_len=40)
    batch = ln.text("chrg_bchno", required=False, max_len=40)
    if cnt == 0:
        raise invalid(ln.at("cnt"), "数量不能为0")
    if cnt < 0 and init is None:  # a refund names the line it refunds
        raise missing(ln.at("init_feedetl_sn"))
    if cnt > 0 and init is not None:
        raise invalid(ln.at("init_feedetl_sn"), "只有退费明细（数量为负）才能填写原费用流水号")
    # A price rounded to 4 places makes cnt × pric miss the line total by up to a fen:
    # the line total is what was charged. More than a fen is a wrong total.
    product = round_fen(cnt * pric)
    if abs(sumamt - product) > FEN:
        raise invalid(ln.at("det_item_fee_sumamt"), f"{sumamt} 不等于 数量×单价 = {product}")
    return Upload(ln, sn, code, medins, cnt, pric, sumamt, init, rxno, batch)


def _check_refund(up: Upload, original: Any, refunded: Decimal) -> None:
    """A refund of an uploaded (not itself refund) line, same code and price, not more."""
    ln = up.fields
    if original is None or original.init_feedetl_sn:
        raise invalid(ln.at("init_feedetl_sn"), f"原费用明细 {up.init} 不存在")
    if original.setl_id is not None:
        raise invalid(
            ln.at("init_feedetl_sn"), f"原费用明细 {up.init} 已结算（中途结算），不能退费"
        )
    if original.med_list_codg != up.code or Decimal(original.pric) != up.pric:
        raise invalid(
            ln.at("init_feedetl_sn"), f"退费明细的目录编码和单价须与原明细 {up.init} 相同"
        )
    if Decimal(original.cnt) + refunded < 0:
        raise invalid(ln.at("cnt"), f"退费数量超过原明细 {up.init} 的数量 {original.cnt}")


@dataclass(frozen=True)
class _Stored:
    """A line as stored (or about to be), for refund checks."""

    med_list_codg: str
    pric: str
    cnt: str
    init_feedetl_sn: str | None
    setl_id: int | None = None


def _read(ctx: Ctx, inpatient: bool) -> tuple[Any, list[Upload], int]:
    """The visit (locked), the lines read, and the upload order of the first of them."""
    lines = ctx.call.input.items("feedetail")
    row = visit(ctx, lines[0], inpatient=inpatient)
    unsettled(row, lines[0])
    stored = ctx.store.lines(row.mdtrt_id)  # in upload order: the last is the latest
    seq = stored[-1].seq + 1 if stored else 1
    known: dict[str, Any] = {ln.feedetl_sn: ln for ln in stored}
    refunded: dict[str, Decimal] = {}
    for ln in known.values():
        if ln.init_feedetl_sn:
            refunded[ln.init_feedetl_sn] = refunded.get(ln.init_feedetl_sn, ZERO) + Decimal(ln.cnt)
    out = []
    for fields in lines:
        up = _read_line(fields, row)
        if up.sn in known:
            raise invalid(fields.at("feedetl_sn"), f"费用明细流水号 {up.sn} 已上传")
        if up.init is not None:
            refunded[up.init] = refunded.get(up.init, ZERO) + up.cnt
            _check_refund(up, known.get(up.init), refunded[up.init])
        known[up.sn] = _Stored(up.code, str(up.pric), str(up.cnt), up.init)
        out.append(up)
    return row, out, seq


def _result(up: Upload, c: Classified) -> dict[str, Any]:
    """One line's result as clients read it (2204 / 2301 output.result[])."""
    p = c.parts
    inscp = round_fen(p.eligible)
    prop = ONE if p.ratio is None else p.ratio  # None: wholly self-paid
    return {
        "feedetl_sn": up.sn,
        "det_item_fee_sumamt": up.sumamt,
        "cnt": up.cnt,
        "pric": up.pric,
        "pric_uplmt_amt": NIL if p.cap is None else money(p.cap),
        "selfpay_prop": prop.quantize(RATIO),
        "fulamt_ownpay_amt": p.full_self_pay + NIL,
        "overlmt_amt": p.over_limit + NIL,
        "preselfpay_amt": up.sumamt - p.over_limit - p.full_self_pay - inscp,
        "inscp_scp_amt": inscp + NIL,
        "chrgitm_lv": codes.CHRGITM_LV[c.line.cls.value],
        "med_chrgitm_type": "",
        "bas_medn_flag": "0",
        "hi_nego_drug_flag": "0",
        "chld_medc_flag": "0",
        "list_sp_item_flag": "0",
        "lmt_used_flag": "1" if p.restricted else "0",
        "drt_reim_flag": "0",
        "memo": c.line.name or "",
    }


def upload(ctx: Ctx, inpatient: bool) -> dict[str, Any]:
    row, ups, seq = _read(ctx, inpatient)
    billed = [Billed(u.code, u.cnt, u.pric, u.sumamt) for u in ups]
    kind = Kind(row.kind) if row.kind else Kind.OUTPATIENT
    try:
        holder = ctx.desk.visitor(ctx.uow, row.psn_no, row.card_number or None, row.begntime)
        classified = ctx.desk.classify(
            ctx.uow, ctx.call.fixmedins_code, holder, kind, row.begntime, billed
        )
    except ServiceError as exc:
        codes_ = exc.details.get("codes") or []
        bad = next((u for u in ups if u.code in codes_), None)
        path = bad.fields.at("med_list_codg") if bad is not None else None
        raise service_error(exc, path) from None
    ctx.store.add_lines(
        [
            {
                "mdtrt_id": row.mdtrt_id,
                "feedetl_sn": u.sn,
                "seq": seq + i,
                "init_feedetl_sn": u.init,
                "med_list_codg": u.code,
                "medins_list_codg": u.medins,
                "cnt": str(u.cnt),
                "pric": str(u.pric),
                "amount_fen": to_fen(u.sumamt),
                "rxno": u.rxno,
                "chrg_bchno": u.batch,
            }
            for i, u in enumerate(ups)
        ]
    )
    return {"result": [_result(u, c) for u, c in zip(ups, classified, strict=True)]}


def upload_outpatient(ctx: Ctx) -> dict[str, Any]:
    return upload(ctx, inpatient=False)


def upload_inpatient(ctx: Ctx) -> dict[str, Any]:
    return upload(ctx, inpatient=True)


def cancel_lines(ctx: Ctx, inpatient: bool) -> dict[str, Any]:
    """2205 / 2302: `data` one object or a list of them, each naming a line (`feedetl_sn`),
    a charge batch (`chrg_bchno`: that batch's lines only) or, with "0000" in either, all
    of the visit's lines."""
    items = ctx.call.input.items("data", max_items=1000)
    for data in items:
        row = visit(ctx, data, inpatient=inpatient)
        unsettled(row, data)
        sn = data.text("feedetl_sn", required=False, max_len=40)
        batch = data.text("chrg_bchno", required=False, max_len=40)
        if sn is None and batch is None:
            raise missing(data.at("feedetl_sn"))
        if "0000" in (sn, batch):
            ctx.store.delete_lines(row.mdtrt_id, None)
        elif sn is not None:
            _cancel_line(ctx, row, data, sn)
        else:
            assert batch is not None
            _cancel_batch(ctx, row, data, batch)
    return {}


def _cancel_line(ctx: Ctx, row: Any, data: Fields, sn: str) -> None:
    lines = ctx.store.lines(row.mdtrt_id)
    if all(ln.feedetl_sn != sn for ln in lines):
        raise invalid(data.at("feedetl_sn"), f"费用明细 {sn} 不存在")
    if any(ln.init_feedetl_sn == sn for ln in lines):
        raise invalid(data.at("feedetl_sn"), f"费用明细 {sn} 有退费明细，请先撤销退费明细")
    ctx.store.delete_lines(row.mdtrt_id, [sn])


def _cancel_batch(ctx: Ctx, row: Any, data: Fields, batch: str) -> None:
    """A charge batch's lines; never another batch's, and not a line another batch refunds."""
    lines = ctx.store.lines(row.mdtrt_id)
    doomed = {ln.feedetl_sn for ln in lines if ln.chrg_bchno == batch}
    if not doomed:
        raise invalid(data.at("chrg_bchno"), f"就诊 {row.mdtrt_id} 没有收费批次 {batch} 的费用明细")
    kept = [ln for ln in lines if ln.feedetl_sn not in doomed and ln.init_feedetl_sn in doomed]
    if kept:
        raise invalid(
            data.at("chrg_bchno"),
            f"批次 {batch} 的明细 {kept[0].init_feedetl_sn} 被批次 {kept[0].chrg_bchno} 的退费明细引用，请先撤销该批次",
        )
    ctx.store.delete_lines(row.mdtrt_id, sorted(doomed))


def cancel_outpatient_lines(ctx: Ctx) -> dict[str, Any]:
    return cancel_lines(ctx, inpatient=False)


def cancel_inpatient_lines(ctx: Ctx) -> dict[str, Any]:
    return cancel_lines(ctx, inpatient=True)
