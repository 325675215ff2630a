"""Tables of school batch enrolment (see adapters/db/schema.py).

A school uploads a class list for a coverage year (a batch); each pupil is a row that
goes imported → declared (the guardian confirmed it online) → submitted (the school sent
it to the agency) → accepted (registered and enrolled) | returned (with the reason; the
school corrects it and it starts again as imported).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
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
)

from yibao.adapters.db.tables import Id, metadata

schools = Table(
    "schools",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("region", String(64), ForeignKey("regions.code"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

school_batches = Table(
    "school_batches",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("school_id", String(32), ForeignKey("schools.id"), nullable=False),
    Column("year", SmallInteger, nullable=False),  # the coverage year
    # open: guardians declaring; submitted: rows await the agency; reviewed: none await it.
    Column("status", String(16), nullable=False),
    Column("file_name", String(200), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True)),
    Column("reviewed_at", DateTime(timezone=True)),
    CheckConstraint("status IN ('open', 'submitted', 'reviewed')", name="status"),
)
Index("ix_school_batches_school_year", school_batches.c.school_id, school_batches.c.year)

school_batch_rows = Table(
    "school_batch_rows",
    metadata,
    Column("batch_id", Id, ForeignKey("school_batches.id"), primary_key=True),
    Column("row_no", Integer, primary_key=True),  # the row in the uploaded sheet (header: 1)
    Column("id_number", String(18), nullable=False),
    Column("name", String(100), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(1), nullable=False),
    Column("class_name", String(50), nullable=False, server_default=""),
    Column("guardian_name", String(100), nullable=False, server_default=""),
    Column("guardian_phone", String(20), nullable=False),
    Column("assistance", Boolean, nullable=False, server_default="0"),
    Column("status", String(16), nullable=False),
    Column("return_reason", Text),
    Column("person_id", String(32)),  # set when accepted
    Column("declared_by", String(64)),
    Column("declared_at", DateTime(timezone=True)),
    CheckConstraint(
        "status IN ('imported', 'declared', 'submitted', 'accepted', 'returned')", name="status"
    ),
)
# The upload's set-based checks (is this pupil on another open list?) and a guardian's
# "my children's rows" both look rows up by these.
Index("ix_school_batch_rows_id_number", school_batch_rows.c.id_number)
Index("ix_school_batch_rows_guardian_phone", school_batch_rows.c.guardian_phone)
