"""catalogue_generation: one row counting the catalogue's changes, so that each server
process can keep the catalogue in memory until it changes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "catalogue_generation",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_catalogue_generation_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_generation")),
    )
    op.bulk_insert(table, [{"id": 1, "generation": 1}])


def downgrade() -> None:
    op.drop_table("catalogue_generation")
