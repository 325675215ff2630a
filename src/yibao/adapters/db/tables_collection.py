"""Tables of premium collection and bank files (see adapters/db/schema.py).

A collection account is opened per enrolment for the personal part of the premium; the
bank collects on it and sends back a result file, kept line by line with what each line
did (cards live in tables.cards)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from yibao.adapters.db.tables import Id, metadata
from yibao.domain.collection import LINE_OUTCOMES

ACCOUNT_STATUSES = ("open", "paid", "exempt")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# One bank result file, imported once (its SHA-256 is unique), with its outcome counts.
bank_imports = Table(
    "bank_imports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("file_name", String(255), nullable=False),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("region", String(64)),  # the importing clerk's region; None: all regions
    Column("imported_by", String(64), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("counts", Text, nullable=False),  # JSON: {outcome: lines}
)

# The account the bank collects a person's personal premium part on, for one enrolment.
collection_accounts = Table(
    "collection_accounts",
    metadata,
    Column("number", String(24), primary_key=True),  # admdvs + year + sequence + check digit
    Column("region", String(64), nullable=False),
    Column("person_id", String(32), ForeignKey("persons.id"), nullable=False),
    Column("year", SmallInteger, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),  # the personal part due
    Column("status", String(8), nullable=False),
    Column("opened_by", String(64), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("opened_on", Date, nullable=False),  # the agency's day: no payment before it
    Column("paid_on", Date),  # the bank's date (or the day an exempt account was opened)
    Column("bank_import_id", Id, ForeignKey("bank_imports.id")),
    UniqueConstraint("person_id", "year"),
    CheckConstraint(_one_of("status", ACCOUNT_STATUSES), name="status"),
    CheckConstraint("amount_fen >= 0", name="amount"),
)
Index(
    "ix_collection_accounts_region_year",
    collection_accounts.c.region,
    collection_accounts.c.year,
    collection_accounts.c.status,
)

# Every line of an imported file, as the bank wrote it (cut to the column sizes) and what
# it did; a malformed value is kept as None with the reason in the message.
bank_import_lines = Table(
    "bank_import_lines",
    metadata,
    Column("import_id", Id, ForeignKey("bank_imports.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("account", String(64), nullable=False),
    Column("amount_fen", BigInteger),
    Column("paid_on", Date),
    Column("bank_status", String(16), nullable=False),
    Column("outcome", String(24), nullable=False),
    Column("message", Text, nullable=False),
    CheckConstraint(_one_of("outcome", LINE_OUTCOMES), name="outcome"),
)
