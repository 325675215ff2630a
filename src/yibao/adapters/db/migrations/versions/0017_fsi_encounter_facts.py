"""national interface: the encounter's facts as the hospital sent them (2401 / 2203
trum_flag and rel_ttp_flag, 2401 / 2402 matn_type), kept on the visit for its settlement

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 08:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("fsi_visits", sa.Column("cause", sa.String(length=16)))
    op.add_column("fsi_visits", sa.Column("delivery", sa.String(length=16)))


def downgrade() -> None:
    op.drop_column("fsi_visits", "delivery")
    op.drop_column("fsi_visits", "cause")
