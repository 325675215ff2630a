"""The national interface's own tables, on yibao's one `metadata` (so that metadata stays
the complete schema). Migration 0002_fsi creates them.

Money is integer fen, as everywhere in yibao; the adapter's ids are texts the way the
national interface carries them (`mdtrt_id`, `feedetl_sn`, `sign_no`), and `setl_id` is
the yibao settlement id.
"""

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
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
)

from yibao.adapters.db.tables import Id, metadata

# An operator's sign-in (9001): later messages of the institution carry its sign_no.
fsi_sign_ins = Table(
    "fsi_sign_ins",
    metadata,
    Column("sign_no", String(40), primary_key=True),
    Column("fixmedins_code", String(32), nullable=False, index=True),
    Column("opter", String(64), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("signed_out_at", DateTime(timezone=True)),  # 9002
)

# A visit (mdtrt): an outpatient registration (2201) or an inpatient admission (2401).
fsi_visits = Table(
    "fsi_visits",
    metadata,
    Column("mdtrt_id", String(40), primary_key=True),
    Column("fixmedins_code", String(32), nullable=False),
    Column("psn_no", String(32), ForeignKey("persons.id"), nullable=False, index=True),
    Column("card_number", String(32), nullable=False),  # the card the bill settles on
    Column("mdtrt_cert_type", String(2), nullable=False),
    Column("insutype", String(6), nullable=False),
    Column("inpatient", SmallInteger, nullable=False),  # 0 outpatient, 1 inpatient
    Column("ipt_otp_no", String(40), nullable=False),
    Column("med_type", String(8)),  # as the HIS sent it (2203 / 2401)
    Column("kind", String(24)),  # yibao's encounter kind
    Column("begntime", Date, nullable=False),  # the encounter date of the settlement
    Column("endtime", Date),  # discharge (2402)
    Column("diagnosis", String(16)),
    Column("disease", String(64)),  # special outpatient (med_type 14): the approved disease
    # The encounter's facts as sent (migration 0017): ordinary | accident; natural | caesarean
    Column("cause", String(16)),
    Column("delivery", String(16)),
    Column("status", String(16), nullable=False),  # open | cancelled | settled
    Column("discharged", SmallInteger, nullable=False, server_default="0"),
    Column("settle_attempts", Integer, nullable=False, server_default="0"),  # 2208s so far
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_fsi_visits_fixmedins_code", fsi_visits.c.fixmedins_code, fsi_visits.c.begntime)

# Uploaded fee lines (2204 / 2301). A refund line has a negative cnt and names the line
# it refunds in init_feedetl_sn. A cancelled line (2205 / 2302) is deleted.
fsi_fee_lines = Table(
    "fsi_fee_lines",
    metadata,
    Column("mdtrt_id", String(40), ForeignKey("fsi_visits.mdtrt_id"), primary_key=True),
    Column("feedetl_sn", String(40), primary_key=True),
    Column("seq", Integer, nullable=False),  # upload order within the visit
    Column("init_feedetl_sn", String(40)),
    Column("med_list_codg", String(64), nullable=False),
    Column("medins_list_codg", String(64), nullable=False),
    Column("cnt", String(24), nullable=False),  # exact decimal text
    Column("pric", String(24), nullable=False),  # exact decimal text
    Column("amount_fen", BigInteger, nullable=False),  # det_item_fee_sumamt
    Column("rxno", String(40)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("chrg_bchno", String(40)),  # the charge batch (2302 / 2205 cancel by batch)
    Column("setl_id", Id),  # the (interim) settlement that took the line
)

# A settlement made through the interface (2207 / 2304): setl_id is the yibao settlement.
fsi_settlements = Table(
    "fsi_settlements",
    metadata,
    Column("setl_id", Id, ForeignKey("settlements.id"), primary_key=True),
    Column("mdtrt_id", String(40), ForeignKey("fsi_visits.mdtrt_id"), nullable=False, index=True),
    Column("fixmedins_code", String(32), nullable=False),
    Column("psn_no", String(32), nullable=False),
    Column("setlinfo", Text, nullable=False),  # JSON, amounts as decimal strings
    Column("status", String(16), nullable=False),  # settled | cancelled
    Column("reversal_id", Id),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # For reconciliation (3201 / 3202): the day and the amounts the hospital was answered.
    Column("setl_date", Date),
    Column("cancel_date", Date),
    Column("insutype", String(6)),
    Column("clr_type", String(4)),
    Column("medfee_fen", BigInteger),
    Column("fund_fen", BigInteger),
    Column("cash_fen", BigInteger),
    Column("mid_setl_flag", SmallInteger, nullable=False, server_default="0"),
)

# Every answered message, for msgid idempotency: a repeated msgid gets the first answer.
fsi_messages = Table(
    "fsi_messages",
    metadata,
    Column("fixmedins_code", String(32), primary_key=True),
    Column("msgid", String(64), primary_key=True),
    Column("infno", String(4), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Files a hospital uploads (9101) for a detail reconciliation (3202), or downloads (9102).
fsi_files = Table(
    "fsi_files",
    metadata,
    Column("file_qury_no", String(64), primary_key=True),
    Column("fixmedins_code", String(32), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# One row: a count that a trigger on `institutions` moves on every change, in the writer's
# transaction (migration 0024, PostgreSQL); each process keeps the institutions messages
# name for as long as the count it read with a message stands (fsi_institutions.py).
institutions_generation = Table(
    "institutions_generation",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("generation", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="one_row"),
)
