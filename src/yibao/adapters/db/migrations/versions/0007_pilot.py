"""pilot hospitals per year and pilot registrations

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pilot_hospitals",
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("institution_id", sa.String(32), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_pilot_hospitals_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint(
            "region", "year", "institution_id", name=op.f("pk_pilot_hospitals")
        ),
    )
    op.create_index(
        "ix_pilot_hospitals_institution_year", "pilot_hospitals", ["institution_id", "year"]
    )
    op.create_table(
        "pilot_registrations",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("disease", sa.String(16), nullable=False),
        sa.Column("hospital_id", sa.String(32), nullable=False),
        sa.Column("admission_date", sa.Date(), nullable=False),
        sa.Column("scheme", sa.String(16), nullable=False),
        sa.Column("limited_cost_fen", sa.BigInteger(), nullable=False),
        sa.Column("registered_by", sa.String(64), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_pilot_registrations_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["institutions.id"],
            name=op.f("fk_pilot_registrations_hospital_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pilot_registrations")),
        sa.UniqueConstraint(
            "person_id", "disease", "year", name=op.f("uq_pilot_registrations_person_id")
        ),
    )
    op.create_index(
        "ix_pilot_registrations_hospital_year", "pilot_registrations", ["hospital_id", "year"]
    )
    op.create_index("ix_approvals_status_applied_on", "approvals", ["status", "applied_on"])
    op.create_index("ix_referrals_issued_by", "referrals", ["issued_by"])


def downgrade() -> None:
    op.drop_index("ix_referrals_issued_by", table_name="referrals")
    op.drop_index("ix_approvals_status_applied_on", table_name="approvals")
    op.drop_index("ix_pilot_registrations_hospital_year", table_name="pilot_registrations")
    op.drop_table("pilot_registrations")
    op.drop_index("ix_pilot_hospitals_institution_year", table_name="pilot_hospitals")
    op.drop_table("pilot_hospitals")
