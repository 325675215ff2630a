"""The member app's own tables: how far each account has read its notices (the audit
log's entries about the family's claims, cards, approvals, filings and referrals), and
the adults bound to a family with their consent."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, ForeignKey, String, Table

from yibao.adapters.db.tables import Id, metadata

# From migration 0012: the last audit-log id an account has seen among its notices.
notice_marks = Table(
    "notice_marks",
    metadata,
    Column("account", String(64), ForeignKey("accounts.id"), primary_key=True),
    Column("seen_id", BigInteger, nullable=False),
)

# From migration 0013: an adult bound to a member's family (a spouse, a parent) with the
# adult's consent: the requester sees the adult's coverage and reimbursements once the
# adult (signed in to their own account) accepts; the adult may withdraw it.
family_links = Table(
    "family_links",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("person_id", String(32), ForeignKey("persons.id"), nullable=False, index=True),
    Column("member_id", String(32), ForeignKey("persons.id"), nullable=False, index=True),
    Column("relation", String(16), nullable=False),  # spouse | parent
    Column("status", String(16), nullable=False),  # pending | accepted | declined | withdrawn
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    CheckConstraint("relation IN ('spouse', 'parent')", name="relation"),
    CheckConstraint("status IN ('pending', 'accepted', 'declined', 'withdrawn')", name="status"),
)
