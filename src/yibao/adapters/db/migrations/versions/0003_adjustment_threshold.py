"""adjustments keep the threshold the re-settlement charged

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:35:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("adjustments") as batch:
        batch.add_column(sa.Column("threshold_fen", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("threshold_delta_fen", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("adjustments") as batch:
        batch.drop_column("threshold_delta_fen")
        batch.drop_column("threshold_fen")
