"""The ledger's reads that the national interface's 5203 (a settlement's split) and its
reversals send every time, as fixed SQL for PostgreSQL's prepared statements
(prepared.Driver): a settlement by id and the latest adjustments of settlements. Ledger
and History send these on PostgreSQL; rows come back as named tuples of the table's
columns in its order, which is what SQLAlchemy's rows of `select(table)` offered their
readers (attribute access by column name). SQLite keeps the SQLAlchemy statements."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from yibao.adapters.db import tables as t

SETTLEMENT_COLUMNS = tuple(c.name for c in t.settlements.c)
ADJUSTMENT_COLUMNS = tuple(c.name for c in t.adjustments.c)
# Named from the tables, which mypy cannot follow.
Settlement: Any = namedtuple("Settlement", SETTLEMENT_COLUMNS)  # type: ignore[misc]
Adjustment: Any = namedtuple("Adjustment", ADJUSTMENT_COLUMNS)  # type: ignore[misc]

SETTLEMENT = f"SELECT {', '.join(SETTLEMENT_COLUMNS)} FROM settlements WHERE id = $1"
# Oldest first, as History.latest_adjustments reads them (the last one wins).
ADJUSTMENTS = (
    f"SELECT {', '.join(ADJUSTMENT_COLUMNS)} FROM adjustments "
    "WHERE settlement_id = ANY($1::bigint[]) ORDER BY id"
)
