"""Money between regions and its monthly clearing (reference §9).

A card settlement at an institution of region Y for a person insured in X: Y advances the
fund's part to its institution (the institution's statement in Y shows it like any other),
books a receivable from X, and X a payable to Y; X's fund bears the cost (the fund ledger's
entry is X's). A reversal or an adjustment of such a settlement moves the difference, in
the month it happens. A manual reimbursement is paid by X directly and is not cleared.

`ClearingService.run(month)`: per pair of regions, one clearing statement of every
movement of the month not yet cleared, both directions and the net; each pair is one
transaction, so a crashed run resumes where it stopped and a second run changes nothing.
The net payer confirms the statement, then records the payment, which closes the
receivables and payables of both books. A month is cleared only once it is over, so a
movement that comes later (a reversal after clearing) is always in a month still open.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.money import fmt, from_fen
from yibao.service.access import Forbidden, require
from yibao.service.errors import ConflictError, NotFoundError, ServiceError
from yibao.service.ports import Clock, UnitOfWork, UowFactory, china_today, now

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
STAFF = (Role.CLERK, Role.APPROVER)


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def movement_month(uow: UnitOfWork, insured: str, treated: str, happened: date, today: date) -> str:
    """The month a movement is cleared in: the month it happened, unless that month's
    clearing of the pair is made already (a late one): then the month it is booked in."""
    month = month_of(happened)
    a, b = sorted((insured, treated))
    if uow.regions.clearing_of(month, a, b) is not None:
        return month_of(today)
    return month


def book_settlement(
    uow: UnitOfWork,
    settlement_id: int,
    insured: str,
    treated: str,
    day: date,
    fen: int,
    today: date,
) -> None:
    """A card settlement elsewhere: the place of treatment's receivable and the insured
    place's payable (when a fund's part was advanced at all)."""
    if insured == treated or fen == 0 or not uow.regions.known(treated):
        return
    month = movement_month(uow, insured, treated, day, today)
    uow.regions.book(settlement_id, insured, treated, "settlement", month, fen)


def book_change(uow: UnitOfWork, row: Any, entry: str, fen: int, today: date) -> None:
    """A reversal or adjustment of a settlement that moved money between regions: the
    difference, in the month it happens."""
    if fen == 0 or not uow.regions.moved(int(row.id)):
        return
    insured, treated = row.region, row.hospital_region
    month = movement_month(uow, insured, treated, today, today)
    uow.regions.book(int(row.id), insured, treated, entry, month, fen)


def check_month(month: str) -> str:
    month = month.strip()
    if not MONTH.match(month):
        raise ServiceError("invalid_month", f"month: YYYY-MM, not {month!r}", field="month")
    return month


class ClearingService:
    def __init__(self, uow: UowFactory, clock: Clock = china_today) -> None:
        self.uow = uow
        self.clock = clock

    def run(self, month: str, who: Principal | None = None) -> dict[str, Any]:
        """Clear a month that is over: a statement per pair of regions with uncleared
        movements. One transaction per pair; a second run finds nothing to do."""
        if who is not None:
            require(who, *STAFF)
        month = check_month(month)
        current = month_of(self.clock())
        if month >= current:
            raise ServiceError(
                "month_not_over",
                f"{month} is not over yet (today is in {current}): a month is cleared after it ends",
                month=month,
            )
        with self.uow() as uow:
            pairs = uow.regions.uncleared_pairs(month)
        made: list[int] = []
        late = 0
        for a, b in pairs:
            with self.uow() as uow:
                if uow.regions.clearing_of(month, a, b) is not None:
                    late += uow.regions.move_late(month, a, b, current)
                else:
                    made.append(uow.regions.add_clearing(month, a, b))
                if who is not None:
                    uow.audit.record(who, "clearing.run", "clearing", month, None, {"pair": [a, b]})
                uow.commit()
        with self.uow() as uow:
            rows = uow.regions.clearings(month)
        return {
            "month": month,
            "made": made,
            "moved_to_open_month": late,
            "statements": [statement_head(r) for r in rows],
        }

    def statements(self, who: Principal, month: str | None = None) -> list[dict[str, Any]]:
        require(who, *STAFF)
        if month is not None:
            month = check_month(month)
        with self.uow() as uow:
            rows = uow.regions.clearings(month, who.region)
        return [statement_head(r) for r in rows]

    def statement(self, who: Principal, clearing_id: int) -> dict[str, Any]:
        require(who, *STAFF)
        with self.uow() as uow:
            row = _visible(uow, who, clearing_id)
            lines = uow.regions.statement_lines([clearing_id])
        return {**statement_head(row), "lines": [_line(ln) for ln in lines]}

    def confirm(self, who: Principal, clearing_id: int) -> dict[str, Any]:
        """The net payer's agency confirms the statement."""
        require(who, *STAFF)
        with self.uow() as uow:
            row = _visible(uow, who, clearing_id, lock=True)
            _require_payer(who, row)
            if row.status != "stated":
                raise ConflictError(
                    "clearing_not_stated", f"clearing {clearing_id} is {row.status} already"
                )
            uow.regions.set_clearing(
                clearing_id, status="confirmed", confirmed_by=who.account, confirmed_at=now()
            )
            uow.audit.record(
                who,
                "clearing.confirm",
                "clearing",
                str(clearing_id),
                {"status": "stated"},
                {"status": "confirmed"},
            )
            uow.commit()
        return self.statement(who, clearing_id)

    def pay(self, who: Principal, clearing_id: int, reference: str) -> dict[str, Any]:
        """The net amount is paid: recorded with its bank reference, and the clearing's
        receivables and payables are closed in both regions' books."""
        require(who, *STAFF)
        reference = reference.strip()
        if not reference or len(reference) > 64:
            raise ServiceError(
                "invalid_reference",
                "reference: the payment's bank reference, 1-64 characters",
                field="reference",
            )
        with self.uow() as uow:
            row = _visible(uow, who, clearing_id, lock=True)
            _require_payer(who, row)
            if row.status != "confirmed":
                raise ConflictError(
                    "clearing_not_confirmed",
                    f"clearing {clearing_id} is {row.status}: it is paid once, after confirmation",
                )
            uow.regions.set_clearing(
                clearing_id,
                status="paid",
                paid_by=who.account,
                paid_at=now(),
                payment_ref=reference,
            )
            uow.regions.close(clearing_id, row.month)
            uow.audit.record(
                who,
                "clearing.pay",
                "clearing",
                str(clearing_id),
                {"status": "confirmed"},
                {"status": "paid", "reference": reference},
            )
            uow.commit()
        return self.statement(who, clearing_id)

    def balances(self, who: Principal) -> list[dict[str, Any]]:
        """What each region's books hold open (the caller's region's, for regional staff)."""
        require(who, *STAFF)
        with self.uow() as uow:
            rows = uow.regions.balances()
        return [
            {
                "region": r.region,
                "counterparty": r.counterparty,
                "side": r.side,
                "open": fmt(from_fen(int(r.fen))),
            }
            for r in rows
            if who.region is None or who.region == r.region
        ]

    def export(self, who: Principal, clearing_id: int, kind: str) -> bytes:
        """The statement as CSV (UTF-8 with BOM, for Excel) or as an .xlsx workbook."""
        view = self.statement(who, clearing_id)
        rows = [list(EXPORT_HEADERS), *(_export_row(ln) for ln in view["lines"])]
        rows.append([])
        rows += [[label, value] for label, value in _totals(view)]
        if kind == "csv":
            out = io.StringIO()
            csv.writer(out).writerows(rows)
            return out.getvalue().encode("utf-8-sig")
        if kind == "xlsx":
            return _xlsx(f"{view['month']} {view['region_a']}-{view['region_b']}", rows)
        raise ServiceError("invalid_format", f"format: csv or xlsx, not {kind!r}", field="format")


EXPORT_HEADERS = (
    "settlement",
    "entry",
    "month",
    "date",
    "person",
    "institution",
    "institution_name",
    "place_of_treatment",
    "insured_place",
    "amount",
)


def _export_row(ln: dict[str, Any]) -> list[str]:
    return [
        str(ln["settlement_id"]),
        ln["entry"],
        ln["month"],
        ln["date"],
        ln["person_id"],
        ln["institution_id"],
        ln["institution_name"] or "",
        ln["treated"],
        ln["insured"],
        ln["amount"],
    ]


def _totals(view: dict[str, Any]) -> list[tuple[str, str]]:
    a, b = view["region_a"], view["region_b"]
    return [
        (f"{a} advanced for {b}", view["a_advanced"]),
        (f"{b} advanced for {a}", view["b_advanced"]),
        ("net", view["net"]),
        ("payer", view["payer"] or ""),
        ("status", view["status"]),
    ]


def _xlsx(title: str, rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return bytes(out.getvalue())


def statement_head(row: Any) -> dict[str, Any]:
    """A clearing without its lines: the two directions, the net and who pays whom."""
    a_fen, b_fen = int(row.a_advanced_fen), int(row.b_advanced_fen)
    net = a_fen - b_fen  # > 0: b owes a
    payer, payee = (row.region_b, row.region_a) if net > 0 else (row.region_a, row.region_b)
    return {
        "id": int(row.id),
        "month": row.month,
        "region_a": row.region_a,
        "region_b": row.region_b,
        "a_advanced": fmt(from_fen(a_fen)),
        "b_advanced": fmt(from_fen(b_fen)),
        "net": fmt(from_fen(abs(net))),
        "payer": payer if net else None,
        "payee": payee if net else None,
        "entries": int(row.entries),
        "status": row.status,
        "confirmed_by": row.confirmed_by,
        "paid_by": row.paid_by,
        "payment_ref": row.payment_ref,
    }


def _line(ln: Any) -> dict[str, Any]:
    return {
        "settlement_id": int(ln.settlement_id),
        "entry": ln.entry,
        "month": ln.month,
        "date": ln.encounter_date.isoformat(),
        "person_id": ln.person_id,
        "institution_id": ln.institution_id,
        "institution_name": ln.institution_name,
        "treated": ln.treated,
        "insured": ln.insured,
        "amount": fmt(from_fen(int(ln.amount_fen))),
    }


def _visible(uow: UnitOfWork, who: Principal, clearing_id: int, *, lock: bool = False) -> Any:
    """A clearing of the caller's region (staff without a region see all); else 404."""
    row = uow.regions.lock_clearing(clearing_id) if lock else uow.regions.clearing(clearing_id)
    if row is None or (who.region is not None and who.region not in (row.region_a, row.region_b)):
        raise NotFoundError("unknown_clearing", f"clearing {clearing_id} does not exist")
    return row


def _require_payer(who: Principal, row: Any) -> None:
    """Only the net payer's agency confirms and pays (either, when the net is zero)."""
    head = statement_head(row)
    payer = head["payer"]
    if who.region is not None and payer is not None and who.region != payer:
        raise Forbidden(
            "forbidden",
            f"clearing {row.id}: {payer} pays the net and confirms it, not {who.region}",
        )
