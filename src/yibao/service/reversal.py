"""Reversing a settlement (a refund or a correction), and re-settling the rest of the year.

Nothing is deleted: the settlement is marked reversed, a reversal row records why, and
the ledger gets the opposite entries. The person's year is then settled again in its
original order without the reversed bill; every later settlement whose split changes
(a threshold now charged again, a segment now at a lower rate, a limit no longer
reached) gets an adjustment row with the new split and the difference, and the ledger
gets the difference. The stored accumulators become the re-settled ones.
"""

from __future__ import annotations

import json
from dataclasses import astuple
from datetime import date
from typing import Any

from yibao.domain.accumulators import YearAccumulators
from yibao.domain.engine import EncounterResult, settle_encounter
from yibao.domain.money import fmt, to_fen
from yibao.service.booking import ledger_entries
from yibao.service.clearing import book_change
from yibao.service.errors import ConflictError, NotFoundError
from yibao.service.history import Split, Stored, person_for_year, stored_year
from yibao.service.ports import PolicySource, UnitOfWork, china_today

LAYERS = ("basic", "assistance")


def reverse(
    uow: UnitOfWork,
    policies: PolicySource,
    settlement_id: int,
    reason: str,
    caller: str | None,
    *,
    today: date | None = None,
) -> dict[str, Any]:
    """`today`: the day of the reversal, the month its movement between regions (if the
    settlement was elsewhere) is cleared in."""
    today = today or china_today()
    row, settled = _locked(uow, settlement_id, caller)
    year = stored_year(uow, row.person_id, row.year)
    target = next(s for s in year if s.row.id == settlement_id)
    reversal_id = uow.history.add_reversal(settlement_id, reason)
    _ledger(uow, target, target.split, "reversal", sign=-1)
    book_change(uow, target.row, "reversal", -_fund_fen(target.split), today)

    person = person_for_year(uow, row.person_id, row.year)
    policy = policies(person.region)
    acc = YearAccumulators(year=row.year)
    adjustments = []
    for stored in year:  # the rest of the year, settled again in its order
        if stored.row.id == settlement_id or not stored.active:
            continue
        result, acc = settle_encounter(policy, person, stored.encounter, acc)
        if Split.of(result) != stored.split:
            adjustments.append(_adjust(uow, stored, result, reversal_id, today))
    uow.ledger.save_person_year(row.person_id, acc, settled)
    return {
        "reversal_id": reversal_id,
        "settlement_id": settlement_id,
        "reason": reason,
        "reversed": _money(target.split),
        "adjustments": adjustments,
    }


def _locked(uow: UnitOfWork, settlement_id: int, caller: str | None) -> tuple[Any, int]:
    """The settlement, read again once its person-year is locked, and the year's count of
    settlements; refused if it is unknown (to this institution) or already reversed."""
    row = uow.ledger.settlement(settlement_id)
    # An institution sees only its own settlements: someone else's is "not found".
    if row is None or (caller is not None and row.institution_id != caller):
        raise NotFoundError("unknown_settlement", f"settlement {settlement_id} does not exist")
    _, settled = uow.ledger.lock_person_year(row.person_id, row.year)
    row = uow.ledger.settlement(settlement_id)  # as it is now that the year is locked
    assert row is not None
    if row.status == "reversed":
        raise ConflictError("already_reversed", f"settlement {settlement_id} is already reversed")
    return row, settled


def _adjust(
    uow: UnitOfWork, stored: Stored, result: EncounterResult, reversal_id: int, today: date
) -> dict[str, Any]:
    """A later settlement whose split the reversal changed: its adjustment row (the new
    split, the difference, the new explanation), the ledger's and the regions' share of
    the difference; what the answer says of it."""
    new = Split.of(result)
    delta = Split(*(a - b for a, b in zip(astuple(new), astuple(stored.split), strict=True)))
    uow.history.add_adjustment(
        {
            "settlement_id": stored.row.id,
            "reversal_id": reversal_id,
            **{f"{k}_fen": v for k, v in _fen(new).items()},
            **{f"{k}_delta_fen": v for k, v in _fen(delta).items()},
            "explanation": json.dumps([s.to_dict() for s in result.steps], ensure_ascii=False),
        }
    )
    _ledger(uow, stored, delta, "adjustment")
    book_change(uow, stored.row, "adjustment", _fund_fen(delta), today)
    return {
        "settlement_id": stored.row.id,
        "before": _money(stored.split),
        "after": _money(new),
        "difference": _money(delta),
    }


def _fen(split: Split) -> dict[str, int]:
    return {k: to_fen(v) for k, v in zip(Split.__dataclass_fields__, astuple(split), strict=True)}


def _fund_fen(split: Split) -> int:
    """The fund's part an institution was advanced (basic and assistance), in fen."""
    return to_fen(split.basic + split.assistance)


def _money(split: Split) -> dict[str, str]:
    return {k: fmt(v) for k, v in zip(Split.__dataclass_fields__, astuple(split), strict=True)}


def _ledger(uow: UnitOfWork, stored: Stored, amounts: Split, entry: str, sign: int = 1) -> None:
    row = stored.row
    paid_to = row.institution_id if row.channel == "card" else None
    by_layer = {layer: sign * getattr(amounts, layer) for layer in LAYERS}
    uow.ledger.add_ledger_entries(
        ledger_entries(row.id, row.region, row.scheme, paid_to, row.encounter_date, by_layer, entry)
    )
