"""settlements lose ix_settlements_institution_date (issue 18): no query reads settlements
by institution and date (an institution's statement reads the fund ledger by institution
and month; a settlement is read by id or by person-year), and every settlement wrote an
entry into it

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 19:05:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.drop_index("ix_settlements_institution_date")


def downgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.create_index(
            "ix_settlements_institution_date", ["institution_id", "encounter_date"], unique=False
        )
