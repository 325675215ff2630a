"""fsi_nonces and sign_in_failures: security state every worker of a server shares
(adapters/db/guards_repo.py). A server runs two workers on PostgreSQL (entrypoints/
workers.py); x-tif nonces kept in one process's memory let a captured request be replayed
once on the other worker, and sign-in failures counted per process gave an address its
free guesses once a worker, and both were forgotten at a restart.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 22:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fsi_nonces",
        sa.Column("paasid", sa.String(length=100), nullable=False),
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("paasid", "nonce", name=op.f("pk_fsi_nonces")),
    )
    op.create_table(
        "sign_in_failures",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "source", name=op.f("pk_sign_in_failures")),
    )


def downgrade() -> None:
    op.drop_table("sign_in_failures")
    op.drop_table("fsi_nonces")
