"""notice_marks: how far each member account has read its notices

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 17:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_marks",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("seen_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account"], ["accounts.id"], name=op.f("fk_notice_marks_account_accounts")
        ),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_notice_marks")),
    )


def downgrade() -> None:
    op.drop_table("notice_marks")
