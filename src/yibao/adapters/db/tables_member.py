"""The member app's own table: how far each account has read its notices (the audit log's
entries about the family's claims, cards, approvals, filings and referrals)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, String, Table

from yibao.adapters.db.tables import metadata

# From migration 0012: the last audit-log id an account has seen among its notices.
notice_marks = Table(
    "notice_marks",
    metadata,
    Column("account", String(64), ForeignKey("accounts.id"), primary_key=True),
    Column("seen_id", BigInteger, nullable=False),
)
