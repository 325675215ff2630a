"""national interface as hospitals use it: fee lines' charge batch and the settlement that
took them, sign-outs, reconciliation amounts per settlement, uploaded files

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 17:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("fsi_sign_ins", sa.Column("signed_out_at", sa.DateTime(timezone=True)))
    op.add_column("fsi_fee_lines", sa.Column("chrg_bchno", sa.String(length=40)))
    op.add_column("fsi_fee_lines", sa.Column("setl_id", Id))
    for column in (
        sa.Column("setl_date", sa.Date()),
        sa.Column("cancel_date", sa.Date()),
        sa.Column("insutype", sa.String(length=6)),
        sa.Column("clr_type", sa.String(length=4)),
        sa.Column("medfee_fen", sa.BigInteger()),
        sa.Column("fund_fen", sa.BigInteger()),
        sa.Column("cash_fen", sa.BigInteger()),
        sa.Column("mid_setl_flag", sa.SmallInteger(), server_default="0", nullable=False),
    ):
        op.add_column("fsi_settlements", column)
    op.create_table(
        "fsi_files",
        sa.Column("file_qury_no", sa.String(length=64), nullable=False),
        sa.Column("fixmedins_code", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("file_qury_no", name=op.f("pk_fsi_files")),
    )


def downgrade() -> None:
    op.drop_table("fsi_files")
    for name in (
        "mid_setl_flag",
        "cash_fen",
        "fund_fen",
        "medfee_fen",
        "clr_type",
        "insutype",
        "cancel_date",
        "setl_date",
    ):
        op.drop_column("fsi_settlements", name)
    op.drop_column("fsi_fee_lines", "setl_id")
    op.drop_column("fsi_fee_lines", "chrg_bchno")
    op.drop_column("fsi_sign_ins", "signed_out_at")
