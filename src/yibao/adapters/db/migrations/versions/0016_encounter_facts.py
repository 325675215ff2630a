"""the facts issue 14's decision tables read, kept where the service settles: an
institution's type (general, TCM) and province; a settlement's hospital type and province
class, cause, delivery and the settlement it was referred from (so a re-settlement, a
reversal or `yibao verify` settles it as it was); a claim's hospital type, province,
cause and delivery

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 07:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SETTLEMENT = ("hospital_type", "hospital_province", "cause", "delivery", "referred_from")
CLAIM = ("hospital_type", "hospital_province", "cause", "delivery")


def upgrade() -> None:
    op.add_column(
        "institutions",
        sa.Column("type", sa.String(length=16), server_default="general", nullable=False),
    )
    op.add_column("institutions", sa.Column("province", sa.String(length=2)))
    for table in ("settlements", "claims"):
        op.add_column(table, sa.Column("hospital_type", sa.String(length=16)))
        op.add_column(table, sa.Column("hospital_province", sa.String(length=8)))
        op.add_column(table, sa.Column("cause", sa.String(length=16)))
        op.add_column(table, sa.Column("delivery", sa.String(length=16)))
    op.add_column("settlements", sa.Column("referred_from", Id))


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        for name in CLAIM:
            batch.drop_column(name)
    with op.batch_alter_table("settlements") as batch:
        for name in SETTLEMENT:
            batch.drop_column(name)
    with op.batch_alter_table("institutions") as batch:
        batch.drop_column("province")
        batch.drop_column("type")
