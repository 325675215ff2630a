"""A bill's lines against the catalogue (reference §1a): each billed code, an
institution's own or a national one, becomes the engine's line under the entry in force
on the day. An unknown or unmapped code refuses the whole bill, naming the code; an
institution's price is never refused for differing from the cap (the excess is over-limit
self-pay)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Protocol

from yibao.domain.catalogue import Entry, Visit, line_for
from yibao.domain.engine import EncounterResult
from yibao.domain.frozen import fast_init
from yibao.domain.model import Line
from yibao.domain.money import ZERO, fmt, round_fen, to_fen
from yibao.domain.registry import CatalogueItem
from yibao.service.errors import ServiceError
from yibao.service.ports import UnitOfWork

# An input sanity bound, not policy: a single bill above this is a typing error.
MAX_BILL = Decimal("10000000.00")
PRICE_PLACES = Decimal("1E-10")


@fast_init
@dataclass(frozen=True)
class Billed:
    code: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal | None = None  # the billed line total, when it is not quantity × price


class BilledLine(Protocol):
    """A billed line as resolve reads it: a Billed, or a card bill's own line (BillLine,
    service/settlement.py), taken as it is instead of copied into a Billed for each bill."""

    @property
    def code(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def unit_price(self) -> Decimal: ...
    @property
    def amount(self) -> Decimal | None: ...


def resolve(
    uow: UnitOfWork,
    region: str,
    institution_id: str | None,
    visit: Visit,
    billed: Sequence[BilledLine],
    person_id: str | None = None,
    known: Mapping[str, CatalogueItem] | None = None,
) -> tuple[list[Line], list[dict[str, Any]]]:
    """The engine's lines and the rows to store for them (their parts are added once the
    engine has settled: `with_parts`). `known`: base items already read (the counter's)."""
    # Most bills have one line: its code, without a set made by a comprehension.
    codes: Collection[str] = (billed[0].code,) if len(billed) == 1 else {b.code for b in billed}
    mapped = uow.catalogue.mapped(institution_id, codes, visit.day) if institution_id else {}
    # Most bills bill national codes: then each code is its own national code.
    national = {code: mapped.get(code, code) for code in codes} if mapped else None
    wanted = set(national.values()) if national is not None else codes
    entries = uow.catalogue.in_force(region, wanted, visit.day, known)
    if len(entries) < len(wanted):
        unknown = sorted(c for c in codes if (national[c] if national else c) not in entries)
        raise ServiceError(
            "unknown_catalogue_code",
            f"not in the {region} catalogue on {visit.day.isoformat()}, nor mapped by the "
            f"institution: {', '.join(unknown)}",
            codes=unknown,
        )
    if person_id is not None:
        for e in entries.values():
            if e.restriction.special_disease:
                # Read only where an entry asks for an approved special disease.
                visit = replace(visit, approvals=uow.registry.approvals(person_id))
                break
    lines: list[Line] = []
    rows: list[dict[str, Any]] = []
    for no, b in enumerate(billed, start=1):
        raw = b.quantity * b.unit_price
        if raw > MAX_BILL:  # before rounding: an absurd product would overflow the context
            raise ServiceError("amount_too_large", f"line {no}: {raw:f} is above {fmt(MAX_BILL)}")
        code = national[b.code] if national else b.code
        entry = entries[code]
        price = b.unit_price if b.amount is None else _price(b)  # most lines: as billed
        line = line_for(entry, visit, b.quantity, price, code)
        lines.append(line)
        rows.append(_row(no, b, entry, line))
    return lines, rows


def _price(b: BilledLine) -> Decimal:
    """The unit price the line settles at: as billed, or, where the billed total is not
    quantity × price to the fen (a price rounded to 4 places), the total's own unit price,
    so that the line is its total and the cap's excess is counted on it."""
    if b.amount is None or b.quantity == 0 or round_fen(b.quantity * b.unit_price) == b.amount:
        return b.unit_price
    own = (b.amount / b.quantity).quantize(PRICE_PLACES)
    return own if round_fen(b.quantity * own) == b.amount else b.unit_price


def _row(no: int, b: BilledLine, entry: Entry, line: Line) -> dict[str, Any]:
    # The price's and the amount's fen of their texts when they are to the fen ("d.dd",
    # as most are: the amount always, rounded): their digits, without a Decimal operation.
    price, amount = str(b.unit_price), str(line.amount)
    return {
        # PLAIN's columns first, in its order: with_parts adds the parts to the row as it
        # is, which is then {**PLAIN, **row} without PLAIN's six columns written twice.
        "unit_price": price,
        "national_code": line.code,
        "entry_id": entry.id,
        "cap": None if line.cap is None else str(line.cap),
        "ratio": None if line.ratio is None else str(line.ratio),
        "restricted": line.outside_restriction,
        "line_no": no,
        "code": b.code,
        "name": entry.name,
        "cls": str(entry.cls),
        "quantity": str(b.quantity),
        "unit_price_fen": int(price.replace(".", ""))
        if price[-3:-2] == "."
        else to_fen(round_fen(b.unit_price)),
        "amount_fen": int(amount.replace(".", "")) if amount[-3:-2] == "." else to_fen(line.amount),
    }


# The catalogue columns of a line without a catalogue entry (an amount of a class): every
# row of one insert has the same columns.
PLAIN = {
    "unit_price": None,
    "national_code": None,
    "entry_id": None,
    "cap": None,
    "ratio": None,
    "restricted": False,
}


def with_parts(rows: Sequence[dict[str, Any]], result: EncounterResult) -> list[dict[str, Any]]:
    """The stored rows with each line's parts as the engine settled them: {**PLAIN, **row,
    parts}. A row with PLAIN's last column has them all, first (resolve's, _row), and is
    completed in place, the same columns in the same order: resolve made it for this
    bill alone, and the record stores it and the answer shows it (line_views, which
    takes the exact parts' texts from it) without a copy between. Another (a claim's
    amount of a class) has none of them, and is copied after PLAIN's."""
    if len(result.lines) != len(rows):  # pragma: no cover - one result per line, always
        raise AssertionError("a line without its result")
    out = []
    for row, parts in zip(rows, result.lines, strict=True):
        # Most lines have neither part: the engine's ZERO itself, 0 fen without a call.
        over = 0 if parts.over_limit is ZERO else to_fen(parts.over_limit)
        full = 0 if parts.full_self_pay is ZERO else to_fen(parts.full_self_pay)
        first, eligible = str(parts.first_self_pay), str(parts.eligible)
        if "restricted" in row:
            row["over_limit_fen"] = over
            row["full_self_pay_fen"] = full
            row["first_self_pay"] = first
            row["eligible"] = eligible
            out.append(row)
        else:
            out.append(
                {
                    **PLAIN,
                    **row,
                    "over_limit_fen": over,
                    "full_self_pay_fen": full,
                    "first_self_pay": first,
                    "eligible": eligible,
                }
            )
    return out


_ZERO_SHOWN = fmt(ZERO)  # "0.00"


def line_views(rows: Sequence[dict[str, Any]], result: EncounterResult) -> list[dict[str, Any]]:
    """Each line as the API answers it (and the national interface reads it)."""
    out = []
    for row, parts in zip(rows, result.lines, strict=True):
        # Each part's text made once: an amount to the fen ("d.dd", exponent -2) shows
        # as its text (fmt's), and the exact parts show their texts as they are too.
        amount, first, eligible = parts.amount, parts.first_self_pay, parts.eligible
        amount_text = str(amount)
        # A row the record completed (with_parts) holds the exact parts' texts already.
        first_text = row.get("first_self_pay") or str(first)
        eligible_text = row.get("eligible") or str(eligible)
        # 15 keys in a display, the others stored after them in their order: a display
        # of more entries is built one by one and merged (booking._values says more).
        view: dict[str, Any] = {
            "line_no": row["line_no"],
            "code": row["code"],
            "national_code": row.get("national_code") or row["code"],
            "name": row["name"],
            "cls": row["cls"],
            "quantity": row["quantity"],
            "unit_price": row.get("unit_price") or fmt(Decimal(row["unit_price_fen"]) / 100),
            "amount": amount_text if amount_text[-3:-2] == "." else fmt(amount),
            # Most lines have neither part (the engine's ZERO): its text without a call.
            "over_limit": _ZERO_SHOWN if parts.over_limit is ZERO else fmt(parts.over_limit),
            "full_self_pay": (
                _ZERO_SHOWN if parts.full_self_pay is ZERO else fmt(parts.full_self_pay)
            ),
            "first_self_pay": first_text if first_text[-3:-2] == "." else fmt(first),
            "eligible": eligible_text if eligible_text[-3:-2] == "." else fmt(eligible),
            "first_self_pay_exact": first_text,
            "eligible_exact": eligible_text,
            "cap": None if parts.cap is None else str(parts.cap),
        }
        view["ratio"] = None if parts.ratio is None else str(parts.ratio)
        view["restricted"] = parts.restricted
        view["entry_id"] = row.get("entry_id")
        out.append(view)
    return out
