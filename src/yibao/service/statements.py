"""What the fund owes an institution for a month, by scheme and layer, from the ledger."""

from __future__ import annotations

import re
from typing import Any

from yibao.domain.money import ZERO, fmt, from_fen
from yibao.service.errors import NotFoundError, ServiceError
from yibao.service.ports import UowFactory

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def statement(uow: UowFactory, institution_id: str, month: str) -> dict[str, Any]:
    """Settlements by card of the month (by encounter date), with their reversals and
    adjustments: the ledger entries owed to the institution."""
    if not MONTH.match(month):
        raise ServiceError("invalid_month", f"month {month!r} is not YYYY-MM")
    with uow() as u:
        if u.registry.institution(institution_id) is None:
            raise NotFoundError(
                "unknown_institution", f"institution {institution_id!r} is not registered"
            )
        rows = u.ledger.statement(institution_id, month)
    lines = [
        {"scheme": r.scheme, "layer": r.layer, "amount": fmt(from_fen(int(r.fen)))} for r in rows
    ]
    total = sum((from_fen(int(r.fen)) for r in rows), ZERO)
    return {"institution_id": institution_id, "month": month, "lines": lines, "total": fmt(total)}
