"""clearings and region_ledger: the money between regions (reference §9): what one
region's institutions advanced for another's insured, and its monthly clearing

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "clearings",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("region_a", sa.String(length=64), nullable=False),
        sa.Column("region_b", sa.String(length=64), nullable=False),
        sa.Column("a_advanced_fen", sa.BigInteger(), nullable=False),
        sa.Column("b_advanced_fen", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_by", sa.String(length=64), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_by", sa.String(length=64), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payment_ref", sa.String(length=64), nullable=True),
        sa.CheckConstraint("region_a < region_b", name=op.f("ck_clearings_pair")),
        sa.CheckConstraint(
            "status IN ('stated', 'confirmed', 'paid')", name=op.f("ck_clearings_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearings")),
        sa.UniqueConstraint("month", "region_a", "region_b", name=op.f("uq_clearings_month")),
    )
    op.create_table(
        "region_ledger",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("counterparty", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("settlement_id", sa.BigInteger(), nullable=True),
        sa.Column("entry", sa.String(length=16), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("clearing_id", Id, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("side IN ('receivable', 'payable')", name=op.f("ck_region_ledger_side")),
        sa.CheckConstraint(
            "entry IN ('settlement', 'reversal', 'adjustment', 'closing')",
            name=op.f("ck_region_ledger_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["clearing_id"],
            ["clearings.id"],
            name=op.f("fk_region_ledger_clearing_id_clearings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_region_ledger")),
    )
    op.create_index(
        "ix_region_ledger_month", "region_ledger", ["month", "clearing_id"], unique=False
    )
    op.create_index("ix_region_ledger_settlement", "region_ledger", ["settlement_id"], unique=False)
    op.create_index("ix_region_ledger_clearing", "region_ledger", ["clearing_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_region_ledger_clearing", table_name="region_ledger")
    op.drop_index("ix_region_ledger_settlement", table_name="region_ledger")
    op.drop_index("ix_region_ledger_month", table_name="region_ledger")
    op.drop_table("region_ledger")
    op.drop_table("clearings")
