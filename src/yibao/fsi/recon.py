"""A hospital's day ends with reconciliation: 3201 (totals) and 3202 (detail, against a file
uploaded by 9101; the result file is downloaded by 9102).

What yibao counts is what it answered the hospital: every settlement (2207 / 2304) on the
day it was made, and every cancellation (2208 / 2305 / 2601) on the day it was made, with
its amounts negated. A period's totals are the sums of those records, its count their
number; `clr_type` (11 outpatient, 21 inpatient) and `insutype` narrow them when given.
"""

from __future__ import annotations

import base64
import binascii
import io
import secrets
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from yibao.domain.money import ZERO
from yibao.fsi.context import Ctx
from yibao.fsi.fields import Fields, FsiError, invalid, wrong_type

MAX_FILE = 20_000_000
CENT = Decimal(100)
DETAIL_COLUMNS = (
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
    "refd_setl_flag",
)


@dataclass(frozen=True)
class Record:
    """One settlement or cancellation, as the hospital was answered."""

    setl_id: str
    mdtrt_id: str
    psn_no: str
    medfee: Decimal
    fund: Decimal
    cash: Decimal
    cancelled: bool  # a cancellation (refd_setl_flag 1)


def _period(data: Fields) -> tuple[date, date]:
    begin, end = data.day("stmt_begndate"), data.day("stmt_enddate")
    assert begin is not None
    assert end is not None
    if end < begin:
        raise invalid(data.at("stmt_enddate"), "对账结束日期早于开始日期")
    if end - begin > timedelta(days=366):
        raise invalid(data.at("stmt_enddate"), "对账期间不能超过一年")
    return begin, end


def records(ctx: Ctx, data: Fields) -> list[Record]:
    """The period's settlements and cancellations of the institution."""
    begin, end = _period(data)
    clr_type = data.text("clr_type", required=False, max_len=4)
    insutype = data.text("insutype", required=False, max_len=6)
    out = []
    for row in ctx.store.settlements_between(ctx.call.fixmedins_code, begin, end):
        if clr_type is not None and row.clr_type != clr_type:
            continue
        if insutype is not None and row.insutype != insutype:
            continue
        amounts = (
            Decimal(row.medfee_fen) / CENT,
            Decimal(row.fund_fen) / CENT,
            Decimal(row.cash_fen) / CENT,
        )
        if row.setl_date is not None and begin <= row.setl_date <= end:
            out.append(Record(str(row.setl_id), row.mdtrt_id, row.psn_no, *amounts, False))
        if row.cancel_date is not None and begin <= row.cancel_date <= end:
            medfee, fund, cash = amounts
            out.append(
                Record(str(row.setl_id), row.mdtrt_id, row.psn_no, -medfee, -fund, -cash, True)
            )
    return out


def _sums(rs: list[Record]) -> tuple[Decimal, Decimal, Decimal]:
    return (
        sum((r.medfee for r in rs), ZERO),
        sum((r.fund for r in rs), ZERO),
        sum((r.cash for r in rs), ZERO),
    )


def total(ctx: Ctx) -> dict[str, Any]:
    """3201: the hospital's totals against yibao's; stmt_rslt 0 balanced, 1 not."""
    data = ctx.call.input.obj("data")
    assert data is not None
    data.text("setl_optins", required=False, max_len=6)
    theirs = (
        data.amount("medfee_sumamt", negative=True),
        data.amount("fund_pay_sumamt", negative=True),
        data.amount("acct_pay", negative=True)
        if data.data.get("acct_pay") not in (None, "")
        else ZERO,
    )
    count = int(data.amount("fixmedins_setl_cnt", places=0))
    rs = records(ctx, data)
    medfee, fund, _ = _sums(rs)
    differs = []
    if theirs[0] != medfee:
        differs.append(f"医疗费总额 医药机构 {theirs[0]} / 医保 {medfee}")
    if theirs[1] != fund:
        differs.append(f"基金支付总额 医药机构 {theirs[1]} / 医保 {fund}")
    if theirs[2] != ZERO:
        differs.append(f"个人账户支付 医药机构 {theirs[2]} / 医保 0.00")
    if count != len(rs):
        differs.append(f"结算笔数 医药机构 {count} / 医保 {len(rs)}")
    return {
        "stmtinfo": {
            "setl_optins": data.text("setl_optins", required=False, max_len=6) or "",
            "stmt_rslt": "1" if differs else "0",
            "stmt_rslt_dscr": "；".join(differs) if differs else "对账平衡",
            "medfee_sumamt": medfee,
            "fund_pay_sumamt": fund,
            "fixmedins_setl_cnt": len(rs),
        }
    }


# --- files: 9101 upload, 9102 download ------------------------------------------------------


def upload(ctx: Ctx) -> dict[str, Any]:
    """9101: `fsUploadIn`: in (the file, base64 or a list of bytes), filename."""
    data = ctx.call.input.obj("fsUploadIn")
    assert data is not None
    filename = data.req("filename", max_len=200)
    content = _bytes(data)
    number = f"{ctx.call.fixmedins_code}-{secrets.token_hex(12)}"
    ctx.store.add_file(number, ctx.call.fixmedins_code, filename, content)
    return {"file_qury_no": number, "filename": filename, "dld_endtime": None}


def _bytes(data: Fields) -> bytes:
    raw = data.data.get("in")
    path = data.at("in")
    if raw is None or raw in ("", []):
        raise FsiError(f"缺少必填字段 {path}（文件内容）")
    if isinstance(raw, str):
        try:
            content = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise wrong_type(path, "Base64 文本或字节数组") from None
    elif isinstance(raw, list) and all(isinstance(b, int) and not isinstance(b, bool) for b in raw):
        if any(not -128 <= b <= 255 for b in raw):
            raise invalid(path, "字节取值超出范围")
        content = bytes(b % 256 for b in raw)  # Java's signed bytes too
    else:
        raise wrong_type(path, "Base64 文本或字节数组")
    if len(content) > MAX_FILE:
        raise invalid(path, f"文件超过 {MAX_FILE} 字节")
    return content


def download(ctx: Ctx) -> dict[str, Any]:
    """9102: `fsDownloadIn`: file_qury_no, filename. The file, base64."""
    data = ctx.call.input.obj("fsDownloadIn")
    assert data is not None
    number = data.req("file_qury_no", max_len=64)
    row = ctx.store.file(number)
    if row is None or row.fixmedins_code != ctx.call.fixmedins_code:
        raise invalid(data.at("file_qury_no"), f"文件 {number} 不存在")
    return {"filename": row.filename, "file": base64.b64encode(row.content).decode()}


# --- 3202 detail ---------------------------------------------------------------------------


def _detail_text(content: bytes) -> str:
    """The uploaded detail: a text file, or a zip holding one."""
    if content[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as z:
                names = [n for n in z.namelist() if not n.endswith("/")]
                if len(names) != 1:
                    raise FsiError("对账明细压缩包须只含一个文本文件")
                content = z.read(names[0])
        except zipfile.BadZipFile:
            raise FsiError("对账明细文件不是有效的 zip 压缩包") from None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("gbk", errors="replace")


def _their_rows(text: str) -> dict[tuple[str, bool], tuple[Decimal, Decimal]]:
    out: dict[tuple[str, bool], tuple[Decimal, Decimal]] = {}
    for no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) < len(DETAIL_COLUMNS):
            raise FsiError(
                f"对账明细第 {no} 行须有 {len(DETAIL_COLUMNS)} 列（以制表符分隔）：{'、'.join(DETAIL_COLUMNS)}"
            )
        try:
            medfee, fund = Decimal(cells[3]), Decimal(cells[4])
        except ArithmeticError:
            raise FsiError(f"对账明细第 {no} 行的金额不是数值") from None
        out[(cells[0], cells[6] == "1")] = (medfee, fund)
    return out


def detail(ctx: Ctx) -> dict[str, Any]:
    """3202: the hospital's file of settlements against yibao's records; the result file
    (one line per difference: setl_id, refd_setl_flag, stmt_rslt, what differs) is kept for
    9102, and the answer says whether the period balanced."""
    data = ctx.call.input.obj("data")
    assert data is not None
    number = data.req("file_qury_no", max_len=64)
    row = ctx.store.file(number)
    if row is None or row.fixmedins_code != ctx.call.fixmedins_code:
        raise invalid(data.at("file_qury_no"), f"文件 {number} 不存在，请先上传（9101）")
    theirs = _their_rows(_detail_text(row.content))
    ours = {(r.setl_id, r.cancelled): (r.medfee, r.fund) for r in records(ctx, data)}
    lines = []
    for key in sorted(set(theirs) | set(ours)):
        setl_id, cancelled = key
        flag = "1" if cancelled else "0"
        if key not in ours:
            lines.append(f"{setl_id}\t{flag}\t2\t医保无此结算记录")
        elif key not in theirs:
            lines.append(f"{setl_id}\t{flag}\t3\t医药机构未上传此结算记录")
        elif theirs[key] != ours[key]:
            lines.append(f"{setl_id}\t{flag}\t1\t金额不符：医保 {ours[key][0]} / {ours[key][1]}")
    result = f"{ctx.call.fixmedins_code}-{secrets.token_hex(12)}"
    filename = f"stmt_{number}.txt"
    ctx.store.add_file(result, ctx.call.fixmedins_code, filename, "\n".join(lines).encode())
    return {
        "fileinfo": {"file_qury_no": result, "filename": filename, "dld_endtime": None},
        "stmtinfo": {
            "stmt_rslt": "1" if lines else "0",
            "stmt_rslt_dscr": f"{len(lines)} 笔不符" if lines else "对账平衡",
            "fixmedins_setl_cnt": len(ours),
        },
    }
