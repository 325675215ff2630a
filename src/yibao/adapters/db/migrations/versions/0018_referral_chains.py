"""referral chains (issue 14): a referral certificate's hospital referred to (its code, and
its name as a hospital's 2501 filing sent it) and the settlement of the stay the patient
was referred from (the episode the certificate continues); a manual claim's settlement
it was referred from, so that a claim settles along the chain as the counter does

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 18:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("referrals", sa.Column("to_institution", sa.String(length=32)))
    op.add_column("referrals", sa.Column("to_institution_name", sa.String(length=200)))
    op.add_column("referrals", sa.Column("referred_from", Id))
    op.add_column("claims", sa.Column("referred_from", Id))


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("referred_from")
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("referred_from")
        batch.drop_column("to_institution_name")
        batch.drop_column("to_institution")
