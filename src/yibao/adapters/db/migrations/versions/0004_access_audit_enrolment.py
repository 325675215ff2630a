"""accounts, API tokens and the audit log; enrolments carry their channel and premium

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("enrolments") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(16), nullable=False, server_default="agency")
        )
        batch.add_column(sa.Column("school_id", sa.String(32), nullable=True))
        for name in ("personal_fen", "subsidy_fen", "assistance_fen"):
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("paid_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_enrolments_year_status", "enrolments", ["year", "status"])
    with op.batch_alter_table("cards") as batch:
        for name in ("ordered_on", "due_on", "lost_on"):
            batch.add_column(sa.Column(name, sa.Date(), nullable=True))
        batch.add_column(sa.Column("replaces", sa.String(32), nullable=True))
    op.create_index("ix_cards_status_due", "cards", ["status", "due_on"])
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("certificate_ref", sa.String(64), nullable=True))
        batch.add_column(sa.Column("applied_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("applied_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("decided_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("rejection_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("filings") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(16), nullable=False, server_default="agency")
        )
        batch.add_column(sa.Column("created_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("diagnosis", sa.String(16), nullable=True))
        batch.add_column(sa.Column("created_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "accounts",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("region", sa.String(64), nullable=True),
        sa.Column("person_id", sa.String(32), nullable=True),
        sa.Column("school_id", sa.String(32), nullable=True),
        sa.Column("institution_id", sa.String(32), nullable=True),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("failed_sign_ins", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('clerk', 'approver', 'school', 'institution', 'insured', 'guardian')",
            name=op.f("ck_accounts_role"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_accounts_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_index("ix_accounts_person", "accounts", ["person_id"])
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("label", sa.String(100), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_api_tokens_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_api_tokens")),
    )
    op.create_index(op.f("ix_api_tokens_account_id"), "api_tokens", ["account_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor", "at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("api_tokens")
    op.drop_table("accounts")
    with op.batch_alter_table("referrals") as batch:
        for name in ("created_at", "created_by", "diagnosis"):
            batch.drop_column(name)
    with op.batch_alter_table("filings") as batch:
        for name in ("created_at", "created_by", "channel"):
            batch.drop_column(name)
    with op.batch_alter_table("approvals") as batch:
        for name in (
            "rejection_reason",
            "decided_at",
            "decided_by",
            "applied_by",
            "applied_on",
            "certificate_ref",
        ):
            batch.drop_column(name)
    op.drop_index("ix_cards_status_due", "cards")
    with op.batch_alter_table("cards") as batch:
        for name in ("replaces", "lost_on", "due_on", "ordered_on"):
            batch.drop_column(name)
    op.drop_index("ix_enrolments_year_status", "enrolments")
    with op.batch_alter_table("enrolments") as batch:
        for name in (
            "created_at",
            "paid_on",
            "assistance_fen",
            "subsidy_fen",
            "personal_fen",
            "school_id",
            "channel",
        ):
            batch.drop_column(name)
