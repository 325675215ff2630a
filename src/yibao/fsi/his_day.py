"""A simulated hospital's own book and the end of its day (his-sim): every settlement and
cancellation it was answered, then 3201 (totals) and 3202 (detail, uploaded by 9101),
which must both balance."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

Call = Callable[[str, dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class Entry:
    setl_id: str
    mdtrt_id: str
    psn_no: str
    medfee: Decimal
    fund: Decimal
    cancelled: bool


@dataclass
class Book:
    """What the hospital recorded of its answers, day by day."""

    entries: dict[date, list[Entry]] = field(default_factory=dict)

    def settled(self, day: date, setlinfo: dict[str, Any]) -> None:
        self._add(day, setlinfo, 1, cancelled=False)

    def cancelled(self, day: date, setlinfo: dict[str, Any]) -> None:
        """The cancellation of a settlement (its setlinfo as first answered): the same
        amounts, negated."""
        self._add(day, setlinfo, -1, cancelled=True)

    def _add(self, day: date, s: dict[str, Any], sign: int, *, cancelled: bool) -> None:
        self.entries.setdefault(day, []).append(
            Entry(
                str(s["setl_id"]),
                str(s["mdtrt_id"]),
                str(s["psn_no"]),
                sign * Decimal(str(s["medfee_sumamt"])),
                sign * Decimal(str(s["fund_pay_sumamt"])),
                cancelled,
            )
        )


def reconcile(call: Call, book: Book, day: date, institution: str) -> list[str]:
    """The day's 3201 and 3202; what did not balance (empty when both did)."""
    entries = book.entries.get(day, [])
    period = {"stmt_begndate": day.isoformat(), "stmt_enddate": day.isoformat()}
    medfee = sum((e.medfee for e in entries), Decimal(0))
    fund = sum((e.fund for e in entries), Decimal(0))
    totals = {
        **period,
        "setl_optins": "990100",
        "medfee_sumamt": medfee,
        "fund_pay_sumamt": fund,
        "acct_pay": Decimal("0.00"),
        "fixmedins_setl_cnt": len(entries),
    }
    problems = []
    total = call("3201", {"data": totals})
    if total is None or total["stmtinfo"]["stmt_rslt"] != "0":
        why = "no answer" if total is None else total["stmtinfo"]["stmt_rslt_dscr"]
        problems.append(f"{institution} {day} 3201: {why}")
    text = "\n".join(
        f"{e.setl_id}\t{e.mdtrt_id}\t{e.psn_no}\t{e.medfee}\t{e.fund}\t0.00\t{int(e.cancelled)}"
        for e in entries
    )
    upload = {"in": base64.b64encode(text.encode()).decode(), "filename": f"{day}.txt"}
    up = call("9101", {"fsUploadIn": {**upload, "fixmedins_code": institution}})
    if up is None:
        return [*problems, f"{institution} {day} 9101: no answer"]
    detail = {
        **period,
        "file_qury_no": up["file_qury_no"],
        "medfee_sumamt": medfee,
        "fund_pay_sumamt": fund,
        "cash_payamt": medfee - fund,
        "fixmedins_setl_cnt": len(entries),
    }
    answer = call("3202", {"data": detail})
    if answer is None or answer["stmtinfo"]["stmt_rslt"] != "0":
        why = "no answer" if answer is None else answer["stmtinfo"]["stmt_rslt_dscr"]
        problems.append(f"{institution} {day} 3202: {why}")
    return problems
