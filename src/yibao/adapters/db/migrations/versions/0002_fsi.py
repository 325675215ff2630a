"""national interface: sign-ins, visits, fee lines, settlements, message log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fsi_sign_ins",
        sa.Column("sign_no", sa.String(length=40), nullable=False),
        sa.Column("fixmedins_code", sa.String(length=32), nullable=False),
        sa.Column("opter", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sign_no", name=op.f("pk_fsi_sign_ins")),
    )
    op.create_index(
        op.f("ix_fsi_sign_ins_fixmedins_code"), "fsi_sign_ins", ["fixmedins_code"], unique=False
    )
    op.create_table(
        "fsi_visits",
        sa.Column("mdtrt_id", sa.String(length=40), nullable=False),
        sa.Column("fixmedins_code", sa.String(length=32), nullable=False),
        sa.Column("psn_no", sa.String(length=32), nullable=False),
        sa.Column("card_number", sa.String(length=32), nullable=False),
        sa.Column("mdtrt_cert_type", sa.String(length=2), nullable=False),
        sa.Column("insutype", sa.String(length=6), nullable=False),
        sa.Column("inpatient", sa.SmallInteger(), nullable=False),
        sa.Column("ipt_otp_no", sa.String(length=40), nullable=False),
        sa.Column("med_type", sa.String(length=8), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=True),
        sa.Column("begntime", sa.Date(), nullable=False),
        sa.Column("endtime", sa.Date(), nullable=True),
        sa.Column("diagnosis", sa.String(length=16), nullable=True),
        sa.Column("disease", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("discharged", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("settle_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["psn_no"], ["persons.id"], name=op.f("fk_fsi_visits_psn_no_persons")
        ),
        sa.PrimaryKeyConstraint("mdtrt_id", name=op.f("pk_fsi_visits")),
    )
    op.create_index(op.f("ix_fsi_visits_psn_no"), "fsi_visits", ["psn_no"], unique=False)
    op.create_index(
        "ix_fsi_visits_fixmedins_code", "fsi_visits", ["fixmedins_code", "begntime"], unique=False
    )
    op.create_table(
        "fsi_fee_lines",
        sa.Column("mdtrt_id", sa.String(length=40), nullable=False),
        sa.Column("feedetl_sn", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("init_feedetl_sn", sa.String(length=40), nullable=True),
        sa.Column("med_list_codg", sa.String(length=64), nullable=False),
        sa.Column("medins_list_codg", sa.String(length=64), nullable=False),
        sa.Column("cnt", sa.String(length=24), nullable=False),
        sa.Column("pric", sa.String(length=24), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("rxno", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mdtrt_id"], ["fsi_visits.mdtrt_id"], name=op.f("fk_fsi_fee_lines_mdtrt_id_fsi_visits")
        ),
        sa.PrimaryKeyConstraint("mdtrt_id", "feedetl_sn", name=op.f("pk_fsi_fee_lines")),
    )
    op.create_table(
        "fsi_settlements",
        sa.Column("setl_id", Id, nullable=False),
        sa.Column("mdtrt_id", sa.String(length=40), nullable=False),
        sa.Column("fixmedins_code", sa.String(length=32), nullable=False),
        sa.Column("psn_no", sa.String(length=32), nullable=False),
        sa.Column("setlinfo", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reversal_id", Id, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mdtrt_id"],
            ["fsi_visits.mdtrt_id"],
            name=op.f("fk_fsi_settlements_mdtrt_id_fsi_visits"),
        ),
        sa.ForeignKeyConstraint(
            ["setl_id"], ["settlements.id"], name=op.f("fk_fsi_settlements_setl_id_settlements")
        ),
        sa.PrimaryKeyConstraint("setl_id", name=op.f("pk_fsi_settlements")),
    )
    op.create_index(
        op.f("ix_fsi_settlements_mdtrt_id"), "fsi_settlements", ["mdtrt_id"], unique=False
    )
    op.create_table(
        "fsi_messages",
        sa.Column("fixmedins_code", sa.String(length=32), nullable=False),
        sa.Column("msgid", sa.String(length=64), nullable=False),
        sa.Column("infno", sa.String(length=4), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("fixmedins_code", "msgid", name=op.f("pk_fsi_messages")),
    )


def downgrade() -> None:
    op.drop_table("fsi_messages")
    op.drop_index(op.f("ix_fsi_settlements_mdtrt_id"), table_name="fsi_settlements")
    op.drop_table("fsi_settlements")
    op.drop_table("fsi_fee_lines")
    op.drop_index("ix_fsi_visits_fixmedins_code", table_name="fsi_visits")
    op.drop_index(op.f("ix_fsi_visits_psn_no"), table_name="fsi_visits")
    op.drop_table("fsi_visits")
    op.drop_index(op.f("ix_fsi_sign_ins_fixmedins_code"), table_name="fsi_sign_ins")
    op.drop_table("fsi_sign_ins")
