"""collection accounts and bank result files

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bank_imports",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("region", sa.String(64), nullable=True),
        sa.Column("imported_by", sa.String(64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_imports")),
        sa.UniqueConstraint("sha256", name=op.f("uq_bank_imports_sha256")),
    )
    op.create_table(
        "collection_accounts",
        sa.Column("number", sa.String(24), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("bank_import_id", Id, nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'paid', 'exempt')", name=op.f("ck_collection_accounts_status")
        ),
        sa.CheckConstraint("amount_fen >= 0", name=op.f("ck_collection_accounts_amount")),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_collection_accounts_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["bank_import_id"],
            ["bank_imports.id"],
            name=op.f("fk_collection_accounts_bank_import_id_bank_imports"),
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_collection_accounts")),
        sa.UniqueConstraint("person_id", "year", name=op.f("uq_collection_accounts_person_id")),
    )
    op.create_index(
        "ix_collection_accounts_region_year",
        "collection_accounts",
        ["region", "year", "status"],
    )
    op.create_table(
        "bank_import_lines",
        sa.Column("import_id", Id, nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("bank_status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('paid', 'already_paid', 'unknown_account', 'amount_mismatch', "
            "'failed_at_bank', 'enrolment_cancelled', 'invalid')",
            name=op.f("ck_bank_import_lines_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["bank_imports.id"],
            name=op.f("fk_bank_import_lines_import_id_bank_imports"),
        ),
        sa.PrimaryKeyConstraint("import_id", "line_no", name=op.f("pk_bank_import_lines")),
    )


def downgrade() -> None:
    op.drop_table("bank_import_lines")
    op.drop_index("ix_collection_accounts_region_year", "collection_accounts")
    op.drop_table("collection_accounts")
    op.drop_table("bank_imports")
