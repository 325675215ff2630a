"""Tables of the money between regions (reference §9; see adapters/db/schema.py).

A bill at an institution of region Y for a person insured in X: Y advances the fund's
part to its institution (the fund ledger's entry names the institution, and X as the
fund that bears it). Each such movement (the settlement, a reversal, an adjustment) is
two rows of `region_ledger`: a receivable from X in Y's books and a payable to Y in X's,
in the month it happened. The monthly clearing of a pair of regions (`clearings`) takes
every uncleared row of the month, nets the two directions, and is confirmed and paid;
payment books closing rows that bring both books back to zero."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from yibao.adapters.db.tables import Id, metadata

# One clearing per month and pair of regions (region_a < region_b, by code).
clearings = Table(
    "clearings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("month", String(7), nullable=False),  # YYYY-MM cleared
    Column("region_a", String(64), nullable=False),
    Column("region_b", String(64), nullable=False),
    # What a's institutions advanced for b's insured (b owes a), and the other way.
    Column("a_advanced_fen", BigInteger, nullable=False),
    Column("b_advanced_fen", BigInteger, nullable=False),
    Column("entries", Integer, nullable=False),  # movements on the statement
    Column("status", String(16), nullable=False),  # stated | confirmed | paid
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_by", String(64)),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("paid_by", String(64)),
    Column("paid_at", DateTime(timezone=True)),
    Column("payment_ref", String(64)),  # the bank transfer's reference
    CheckConstraint("region_a < region_b", name="pair"),
    CheckConstraint("status IN ('stated', 'confirmed', 'paid')", name="status"),
    UniqueConstraint("month", "region_a", "region_b"),
)

region_ledger = Table(
    "region_ledger",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("region", String(64), nullable=False),  # whose books
    Column("counterparty", String(64), nullable=False),  # the other region
    Column("side", String(16), nullable=False),  # receivable | payable
    # The settlement moved (None for a closing row). No foreign key: on PostgreSQL the
    # counter writes the settlement itself at commit, after these rows.
    Column("settlement_id", BigInteger),
    Column("entry", String(16), nullable=False),  # settlement | reversal | adjustment | closing
    Column("month", String(7), nullable=False),  # YYYY-MM the movement happened in
    Column("amount_fen", BigInteger, nullable=False),
    Column("clearing_id", Id, ForeignKey("clearings.id")),  # None until cleared
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("side IN ('receivable', 'payable')", name="side"),
    CheckConstraint("entry IN ('settlement', 'reversal', 'adjustment', 'closing')", name="entry"),
)
Index("ix_region_ledger_month", region_ledger.c.month, region_ledger.c.clearing_id)
Index("ix_region_ledger_settlement", region_ledger.c.settlement_id)
Index("ix_region_ledger_clearing", region_ledger.c.clearing_id)
