"""school classes, batches and their rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "schools",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["region"], ["regions.code"], name=op.f("fk_schools_region_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schools")),
    )
    op.create_table(
        "school_batches",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(32), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'submitted', 'reviewed')", name=op.f("ck_school_batches_status")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_school_batches_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_batches")),
    )
    op.create_index("ix_school_batches_school_year", "school_batches", ["school_id", "year"])
    op.create_table(
        "school_batch_rows",
        sa.Column("batch_id", Id, nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("class_name", sa.String(50), nullable=False, server_default=""),
        sa.Column("guardian_name", sa.String(100), nullable=False, server_default=""),
        sa.Column("guardian_phone", sa.String(20), nullable=False),
        sa.Column("assistance", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("return_reason", sa.Text(), nullable=True),
        sa.Column("person_id", sa.String(32), nullable=True),
        sa.Column("declared_by", sa.String(64), nullable=True),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('imported', 'declared', 'submitted', 'accepted', 'returned')",
            name=op.f("ck_school_batch_rows_status"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["school_batches.id"],
            name=op.f("fk_school_batch_rows_batch_id_school_batches"),
        ),
        sa.PrimaryKeyConstraint("batch_id", "row_no", name=op.f("pk_school_batch_rows")),
    )
    op.create_index("ix_school_batch_rows_id_number", "school_batch_rows", ["id_number"])
    op.create_index("ix_school_batch_rows_guardian_phone", "school_batch_rows", ["guardian_phone"])


def downgrade() -> None:
    op.drop_index("ix_school_batch_rows_guardian_phone", "school_batch_rows")
    op.drop_index("ix_school_batch_rows_id_number", "school_batch_rows")
    op.drop_table("school_batch_rows")
    op.drop_index("ix_school_batches_school_year", "school_batches")
    op.drop_table("school_batches")
    op.drop_table("schools")
