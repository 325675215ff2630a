"""Tables of children's major-disease pilot hospitals and registrations (see adapters/db/schema.py),
and the indexes the certificate queues read by (approvals, filings and referrals live in tables.py)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)

from yibao.adapters.db.tables import Id, approvals, metadata, referrals

# The hospitals of a region that treat the pilot's children in a year: the agency names
# them year by year, so last year's list says what last year's stays were settled under.
pilot_hospitals = Table(
    "pilot_hospitals",
    metadata,
    Column("region", String(64), primary_key=True),
    Column("year", SmallInteger, primary_key=True),
    Column("institution_id", String(32), ForeignKey("institutions.id"), primary_key=True),
    Column("added_by", String(64), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
)
Index(
    "ix_pilot_hospitals_institution_year", pilot_hospitals.c.institution_id, pilot_hospitals.c.year
)

# A child's pilot treatment, registered before (or at) admission: one per disease and year.
pilot_registrations = Table(
    "pilot_registrations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("person_id", String(32), ForeignKey("persons.id"), nullable=False),
    Column("year", SmallInteger, nullable=False),
    Column("disease", String(16), nullable=False),  # ICD-10 code of a pilot disease
    Column("hospital_id", String(32), ForeignKey("institutions.id"), nullable=False),
    Column("admission_date", Date, nullable=False),
    Column("scheme", String(16), nullable=False),
    # The limited cost in force on the admission date, as registered (it is data, and may change).
    Column("limited_cost_fen", BigInteger, nullable=False),
    Column("registered_by", String(64), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("person_id", "disease", "year"),
)
Index(
    "ix_pilot_registrations_hospital_year",
    pilot_registrations.c.hospital_id,
    pilot_registrations.c.year,
)

# The district centre's queue reads approvals by status; an institution reads the
# referrals it issued.
Index("ix_approvals_status_applied_on", approvals.c.status, approvals.c.applied_on)
Index("ix_referrals_issued_by", referrals.c.issued_by)
