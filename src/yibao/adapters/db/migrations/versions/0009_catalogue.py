"""catalogue entries (dated, with caps, ratios and restrictions), institutions' code
mappings, and each settlement line's catalogue facts and parts

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02 12:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "catalogue_entries",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("catalogue", sa.String(16), nullable=False),
        sa.Column("cls", sa.String(16), nullable=False),
        sa.Column("caps", sa.Text(), server_default="{}", nullable=False),
        sa.Column("ratios", sa.Text(), server_default="{}", nullable=False),
        sa.Column("min_age", sa.SmallInteger(), nullable=True),
        sa.Column("max_age", sa.SmallInteger(), nullable=True),
        sa.Column("sex", sa.String(1), nullable=True),
        sa.Column("min_level", sa.SmallInteger(), nullable=True),
        sa.Column("inpatient_only", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("special_disease", sa.String(64), nullable=True),
        sa.Column("restriction", sa.String(500), nullable=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("cls IN ('A', 'B', 'self_pay')", name=op.f("ck_catalogue_entries_cls")),
        sa.CheckConstraint(
            "catalogue IN ('drug', 'service', 'consumable')",
            name=op.f("ck_catalogue_entries_catalogue"),
        ),
        sa.ForeignKeyConstraint(
            ["region"], ["regions.code"], name=op.f("fk_catalogue_entries_region_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_entries")),
        sa.UniqueConstraint(
            "region", "code", "valid_from", name=op.f("uq_catalogue_entries_region")
        ),
    )
    op.create_table(
        "catalogue_mappings",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("institution_id", sa.String(32), nullable=False),
        sa.Column("own_code", sa.String(64), nullable=False),
        sa.Column("own_name", sa.String(200), nullable=True),
        sa.Column("national_code", sa.String(64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'cancelled')", name=op.f("ck_catalogue_mappings_status")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_catalogue_mappings_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_mappings")),
    )
    op.create_index(
        "ix_catalogue_mappings_institution_code",
        "catalogue_mappings",
        ["institution_id", "own_code"],
    )
    with op.batch_alter_table("settlement_lines") as batch:
        batch.add_column(sa.Column("unit_price", sa.String(24), nullable=True))
        batch.add_column(sa.Column("national_code", sa.String(64), nullable=True))
        batch.add_column(sa.Column("entry_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("cap", sa.String(24), nullable=True))
        batch.add_column(sa.Column("ratio", sa.String(24), nullable=True))
        batch.add_column(sa.Column("restricted", sa.Boolean(), server_default="0", nullable=False))
        batch.add_column(
            sa.Column("over_limit_fen", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("full_self_pay_fen", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("first_self_pay", sa.String(40), nullable=True))
        batch.add_column(sa.Column("eligible", sa.String(40), nullable=True))
    with op.batch_alter_table("settlements") as batch:
        batch.add_column(
            sa.Column("over_limit_fen", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.drop_column("over_limit_fen")
    with op.batch_alter_table("settlement_lines") as batch:
        for name in (
            "eligible",
            "first_self_pay",
            "full_self_pay_fen",
            "over_limit_fen",
            "restricted",
            "ratio",
            "cap",
            "entry_id",
            "national_code",
            "unit_price",
        ):
            batch.drop_column(name)
    op.drop_index("ix_catalogue_mappings_institution_code", table_name="catalogue_mappings")
    op.drop_table("catalogue_mappings")
    op.drop_table("catalogue_entries")
