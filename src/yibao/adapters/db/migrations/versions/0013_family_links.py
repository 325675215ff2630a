"""family_links: a spouse or a parent bound to a member's family with their consent

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 17:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "family_links",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "relation IN ('spouse', 'parent')", name=op.f("ck_family_links_relation")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'withdrawn')",
            name=op.f("ck_family_links_status"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["persons.id"], name=op.f("fk_family_links_member_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_family_links_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_links")),
    )
    op.create_index(op.f("ix_family_links_member_id"), "family_links", ["member_id"])
    op.create_index(op.f("ix_family_links_person_id"), "family_links", ["person_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_family_links_person_id"), table_name="family_links")
    op.drop_index(op.f("ix_family_links_member_id"), table_name="family_links")
    op.drop_table("family_links")
