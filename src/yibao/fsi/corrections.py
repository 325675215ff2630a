"""Undoing: 2601 reversal (冲正) of a message by its msgid — the hospital's recovery when an
answer was lost — and 2404 / 2405, cancelling an admission or a discharge."""

from __future__ import annotations

from typing import Any

from yibao.fsi.context import Ctx, unsettled, visit
from yibao.fsi.fields import invalid
from yibao.fsi.jsontext import loads
from yibao.fsi.settle import reverse

REVERSIBLE = {"2207": "门诊结算", "2304": "住院结算", "2201": "门诊挂号", "2401": "入院办理"}


def reversal(ctx: Ctx) -> dict[str, Any]:
    """2601: `data`: psn_no, omsgid (the msgid of the message to undo), oinfno (its infno).
    A message that was never answered changed nothing: there is nothing to reverse."""
    data = ctx.call.input.obj("data")
    assert data is not None
    psn_no = data.req("psn_no", max_len=32)
    omsgid = data.req("omsgid", max_len=64)
    oinfno = data.req("oinfno", max_len=4)
    if oinfno not in REVERSIBLE:
        shown = "、".join(f"{k} {v}" for k, v in REVERSIBLE.items())
        raise invalid(data.at("oinfno"), f"交易 {oinfno} 不能冲正（可冲正：{shown}）")
    stored = ctx.store.message(ctx.call.fixmedins_code, omsgid)
    if stored is None:
        raise invalid(data.at("omsgid"), f"原交易 {omsgid} 不存在：未成功的交易无需冲正")
    if stored.infno != oinfno:
        raise invalid(data.at("oinfno"), f"原交易 {omsgid} 是 {stored.infno}，不是 {oinfno}")
    output = loads(stored.response)["output"]
    reason = f"2601 冲正（原报文 {omsgid}，本报文 {ctx.call.msgid}）"
    if oinfno in ("2207", "2304"):
        found = ctx.store.settlement(int(output["setlinfo"]["setl_id"]))
        assert found is not None
        if found.psn_no != psn_no:
            raise invalid(data.at("psn_no"), f"与原交易 {omsgid} 的人员编号不符")
        if found.status != "settled":
            raise invalid(data.at("omsgid"), f"原交易 {omsgid} 的结算已撤销")
        row = ctx.store.visit(found.mdtrt_id, lock=True)
        return reverse(ctx, found, row, reason)
    mdtrt_id = (output.get("data") or output.get("result"))["mdtrt_id"]
    row = ctx.store.visit(mdtrt_id, lock=True)
    assert row is not None
    if row.psn_no != psn_no:
        raise invalid(data.at("psn_no"), f"与原交易 {omsgid} 的人员编号不符")
    _cancel_visit(ctx, row, data.at("omsgid"))
    return {}


def _cancel_visit(ctx: Ctx, row: Any, path: str) -> None:
    if row.status == "cancelled":
        raise invalid(path, f"就诊 {row.mdtrt_id} 已撤销")
    if row.status == "settled" or ctx.store.has_settlement(row.mdtrt_id):
        raise invalid(path, f"就诊 {row.mdtrt_id} 已有结算，请先撤销结算")
    if ctx.store.lines(row.mdtrt_id):
        raise invalid(path, f"就诊 {row.mdtrt_id} 有费用明细，请先撤销费用明细（2205 / 2302）")
    ctx.store.update_visit(row.mdtrt_id, status="cancelled")


def cancel_admission(ctx: Ctx) -> dict[str, Any]:
    """2404: `data`: mdtrt_id, psn_no. An admission without fee lines or settlements."""
    data = ctx.call.input.obj("data")
    assert data is not None
    row = visit(ctx, data, inpatient=True)
    _cancel_visit(ctx, row, data.at("mdtrt_id"))
    return {}


def cancel_discharge(ctx: Ctx) -> dict[str, Any]:
    """2405: `data`: mdtrt_id, psn_no. A discharge not yet settled: the stay is open again."""
    data = ctx.call.input.obj("data")
    assert data is not None
    row = visit(ctx, data, inpatient=True)
    unsettled(row, data)
    if not row.discharged:
        raise invalid(data.at("mdtrt_id"), f"就诊 {row.mdtrt_id} 尚未办理出院")
    ctx.store.update_visit(row.mdtrt_id, discharged=0, endtime=None)
    return {}
