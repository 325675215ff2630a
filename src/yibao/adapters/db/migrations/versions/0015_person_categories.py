"""person_categories: a person's category (low income, special hardship, poverty
registered) over dates, read by the decision tables of a region's policy

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 17:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_categories",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_person_categories_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_categories")),
    )
    op.create_index(
        op.f("ix_person_categories_person_id"), "person_categories", ["person_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_person_categories_person_id"), table_name="person_categories")
    op.drop_table("person_categories")
