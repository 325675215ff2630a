"""The schema, in SQLAlchemy Core. Money is integer fen (exact on SQLite and PostgreSQL);
exact running totals live in the person-year's JSON state as decimal strings."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER only

regions = Table(
    "regions",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name_zh", String(100), nullable=False),
    Column("name_en", String(100), nullable=False),
    Column("admdvs", String(6), nullable=False),
)

institutions = Table(
    "institutions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("region", String(64), nullable=False),  # may be a region yibao does not run
    Column("name", String(200), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # hospital | clinic | pharmacy
    Column("designated", Boolean, nullable=False),
    Column("pilot", Boolean, nullable=False, server_default="0"),
    # From migration 0016: general | tcm (a TCM hospital, 中医院), and the province's two
    # digits of GB/T 2260 (None: its region's, where yibao knows the region).
    Column("type", String(16), nullable=False, server_default="general"),
    Column("province", String(2)),
    CheckConstraint("level BETWEEN 0 AND 3", name="level"),
    CheckConstraint("kind IN ('hospital', 'clinic', 'pharmacy')", name="kind"),
)

catalogue_items = Table(
    "catalogue_items",
    metadata,
    Column("region", String(64), ForeignKey("regions.code"), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("cls", String(16), nullable=False),
    Column("unit_price_fen", BigInteger),  # set where the price is fixed
    CheckConstraint("cls IN ('A', 'B', 'self_pay')", name="cls"),
)

# From migration 0009: the catalogues as dated entries (reference §1a), imported from the
# national catalogue files; an update is a new row from its own date, never a change of
# an old one. caps: {"0".."3": yuan} by institution level; ratios: {scheme or "*": ratio}.
catalogue_entries = Table(
    "catalogue_entries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("region", String(64), ForeignKey("regions.code"), nullable=False),
    Column("code", String(64), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("name", String(200), nullable=False),
    Column("catalogue", String(16), nullable=False),  # drug | service | consumable
    Column("cls", String(16), nullable=False),
    Column("caps", Text, nullable=False, server_default="{}"),
    Column("ratios", Text, nullable=False, server_default="{}"),
    Column("min_age", SmallInteger),
    Column("max_age", SmallInteger),  # inclusive, in completed years
    Column("sex", String(1)),
    Column("min_level", SmallInteger),
    Column("inpatient_only", Boolean, nullable=False, server_default="0"),
    Column("special_disease", String(64)),
    Column("restriction", String(500)),  # the catalogue's own wording
    Column("source", String(200), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("cls IN ('A', 'B', 'self_pay')", name="cls"),
    CheckConstraint("catalogue IN ('drug', 'service', 'consumable')", name="catalogue"),
    UniqueConstraint("region", "code", "valid_from"),
)

# From migration 0010: one row counting the catalogue's changes. Every write of entries or
# mappings adds one in its transaction; each process keeps the catalogue in memory for as
# long as the count it read with it stands (catalogue_cache.py).
catalogue_generation = Table(
    "catalogue_generation",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("generation", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="one_row"),
)

# An institution's own item codes mapped to national codes (目录对照), dated; a cancelled
# mapping stays, marked.
catalogue_mappings = Table(
    "catalogue_mappings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("institution_id", String(32), ForeignKey("institutions.id"), nullable=False),
    Column("own_code", String(64), nullable=False),
    Column("own_name", String(200)),
    Column("national_code", String(64), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("status", String(16), nullable=False),  # active | cancelled
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("cancelled_at", DateTime(timezone=True)),
    CheckConstraint("status IN ('active', 'cancelled')", name="status"),
)
Index(
    "ix_catalogue_mappings_institution_code",
    catalogue_mappings.c.institution_id,
    catalogue_mappings.c.own_code,
)

persons = Table(
    "persons",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("id_number", String(18), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(1), nullable=False),
    Column("region", String(64), ForeignKey("regions.code"), nullable=False),
    Column("phone", String(20)),
    Column("assistance", Boolean, nullable=False, server_default="0"),
    Column("retired", Boolean, nullable=False, server_default="0"),
    Column("contribution_years", SmallInteger),
)

guardians = Table(
    "guardians",
    metadata,
    Column("child_id", String(32), ForeignKey("persons.id"), primary_key=True),
    Column("guardian_id", String(32), ForeignKey("persons.id"), primary_key=True),
)

enrolments = Table(
    "enrolments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("person_id", String(32), ForeignKey("persons.id"), nullable=False),
    Column("year", SmallInteger, nullable=False),
    Column("scheme", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # pending | active | cancelled
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=False),
    # From migration 0004: how the person enrolled, and the premium's three parts.
    Column(
        "channel", String(16), nullable=False, server_default="agency"
    ),  # agency | school | household | demo
    Column("school_id", String(32)),
    Column("personal_fen", BigInteger, nullable=False, server_default="0"),
    Column("subsidy_fen", BigInteger, nullable=False, server_default="0"),
    Column("assistance_fen", BigInteger, nullable=False, server_default="0"),
    Column("paid_on", Date),  # the day the personal part was collected (or exempted)
    Column("created_at", DateTime(timezone=True)),
    UniqueConstraint("person_id", "year"),
)
Index("ix_enrolments_year_status", enrolments.c.year, enrolments.c.status)

cards = Table(
    "cards",
    metadata,
    Column("number", String(32), primary_key=True),
    Column("person_id", String(32), ForeignKey("persons.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # ordered | active (issued) | lost | replaced
    Column("issued_on", Date),
    Column("replaced_by", String(32)),
    # From migration 0004: the order and its due date (working days), loss, replacement.
    Column("ordered_on", Date),
    Column("due_on", Date),
    Column("lost_on", Date),
    Column("replaces", String(32)),  # the lost card this one replaced
)
Index("ix_cards_status_due", cards.c.status, cards.c.due_on)

approvals = Table(
    "approvals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("person_id", String(32), ForeignKey("persons.id"), nullable=False, index=True),
    Column("disease", String(64), nullable=False),
    Column("hospital_id", String(32), ForeignKey("institutions.id"), nullable=False),
    Column("valid_from", Date),
    Column("valid_to", Date),
    Column(
        "status", String(16), nullable=False, server_default="approved"
    ),  # applied | approved | rejected
    # From migration 0004: the application and its decision.
    Column("certificate_ref", String(64)),  # the diagnosis certificate's reference
    Column("applied_on", Date),
    Column("applied_by", String(64)),
    Column("decided_by", String(64)),
    Column("decided_at", DateTime(timezone=True)),
    Column("rejection_reason", Text),
)

filings = Table(
    "filings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("person_id", String(32), ForeignKey("persons.id"), nullable=False, index=True),
    Column("region", String(64), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=False),
    # From migration 0004: who filed it, and where (online by the insured, or at the agency).
    Column("channel", String(16), nullable=False, server_default="agency"),  # online | agency
    Column("created_by", String(64)),
    Column("created_at", DateTime(timezone=True)),
)

# A person's category (低保, 特困, 建档立卡) over dates (migration 0015): the fact the
# decision tables of a region's policy read (docs/policies.md); general outside every span.
person_categories = Table(
    "person_categories",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("person_id", String(32), ForeignKey("persons.id"), nullable=False, index=True),
    Column("category", String(32), nullable=False),
    Column("valid_from", Date),
    Column("valid_to", Date),
    Column("created_by", String(64)),
    Column("created_at", DateTime(timezone=True)),
)

referrals = Table(
    "referrals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("person_id", String(32), ForeignKey("persons.id"), nullable=False, index=True),
    Column("issued_by", String(32), nullable=False),
    Column("to_region", String(64), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=False),
    # From migration 0004.
    Column("diagnosis", String(16)),
    Column("created_by", String(64)),
    Column("created_at", DateTime(timezone=True)),
    # From migration 0018: the hospital referred to (its code; its name as a 2501 filing
    # sent it when it is not registered here) and the settlement of the stay the patient
    # was referred from (the episode the certificate continues); None: not given.
    Column("to_institution", String(32)),
    Column("to_institution_name", String(200)),
    Column("referred_from", Id),
)

# One row per person and year: the engine's accumulators, locked while a bill settles.
# Updated by every settlement: its pages keep a fifth free (migration 0021), so that the
# new version goes on the same page, without an index entry (a HOT update).
person_years = Table(
    "person_years",
    metadata,
    Column("person_id", String(32), ForeignKey("persons.id"), primary_key=True),
    Column("year", SmallInteger, primary_key=True),
    Column("state", Text, nullable=False),  # YearAccumulators.to_dict() as JSON
    Column("settled", Integer, nullable=False, server_default="0"),  # settlements so far
    postgresql_with={"fillfactor": 80},
)

# No foreign key to persons (dropped by migration 0021): the person is the one whose
# person_years row (which has one) the settling transaction locks and updates.
settlements = Table(
    "settlements",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("person_id", String(32), nullable=False),
    Column("year", SmallInteger, nullable=False),
    Column("seq", Integer, nullable=False),  # order of settlement within the person-year
    Column("channel", String(16), nullable=False),  # card | claim
    Column("institution_id", String(32), nullable=False),
    # The institution as it was when the bill settled, so a re-settlement reproduces it.
    Column("hospital_level", SmallInteger, nullable=False),
    Column("hospital_region", String(64), nullable=False),
    Column("hospital_designated", Boolean, nullable=False),
    Column("hospital_pilot", Boolean, nullable=False),
    Column("region", String(64), nullable=False),  # the insured region (whose fund pays)
    Column("scheme", String(16), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("encounter_date", Date, nullable=False),
    Column("diagnosis", String(16)),
    Column("disease", String(64)),
    Column("referral", Boolean, nullable=False),
    Column("prescription", Boolean, nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("eligible_fen", BigInteger, nullable=False),
    Column("self_pay_fen", BigInteger, nullable=False),
    Column("threshold_fen", BigInteger, nullable=False),
    Column("basic_fen", BigInteger, nullable=False),
    Column("assistance_fen", BigInteger, nullable=False),
    Column("institution_fen", BigInteger, nullable=False),
    Column("personal_fen", BigInteger, nullable=False),
    Column("route", String(24), nullable=False),
    Column("refused_code", String(40)),
    Column("refused_reason", Text),
    Column("explanation", Text, nullable=False),  # JSON list of steps
    Column("status", String(16), nullable=False),  # settled | reversed
    Column("created_at", DateTime(timezone=True), nullable=False),
    # From migration 0009: the lines' over-limit self-pay (超限价自费), personal.
    Column("over_limit_fen", BigInteger, nullable=False, server_default="0"),
    # From migration 0016, as the bill settled (None: general, same, ordinary, none, none):
    # the hospital's type and province class, the cause, the delivery, and the settlement
    # the stay was referred from (its episode's thresholds).
    Column("hospital_type", String(16)),
    Column("hospital_province", String(8)),
    Column("cause", String(16)),
    Column("delivery", String(16)),
    Column("referred_from", Id),
    UniqueConstraint("person_id", "year", "seq"),
    CheckConstraint(
        "basic_fen + assistance_fen + institution_fen + personal_fen = total_fen", name="conserves"
    ),
)
# (ix_settlements_institution_date, dropped by migration 0019: nothing read it, and every
# settlement wrote to it. Settlements are read by id and by person-year; an institution's
# statement reads the fund ledger by institution and month.)

# No foreign key to settlements (dropped by migration 0021): a line is written only with
# its settlement, in its transaction; a check per line cost a query and a probe.
settlement_lines = Table(
    "settlement_lines",
    metadata,
    Column("settlement_id", Id, primary_key=True),
    Column("line_no", SmallInteger, primary_key=True),
    Column("code", String(64)),
    Column("name", String(200)),
    Column("cls", String(16), nullable=False),
    Column("quantity", String(24), nullable=False),  # exact decimal text
    Column("unit_price_fen", BigInteger, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    # From migration 0009: the catalogue facts applied and the line's parts (reference
    # §1a), so that the line settles again exactly as it did, whatever the catalogue
    # says later. Exact decimals as text.
    Column("unit_price", String(24)),  # as billed, exact (unit_price_fen is to the fen)
    Column("national_code", String(64)),
    Column("entry_id", BigInteger),
    Column("cap", String(24)),
    Column("ratio", String(24)),
    Column("restricted", Boolean, nullable=False, server_default="0"),
    Column("over_limit_fen", BigInteger, nullable=False, server_default="0"),
    Column("full_self_pay_fen", BigInteger, nullable=False, server_default="0"),
    Column("first_self_pay", String(40)),
    Column("eligible", String(40)),
)

reversals = Table(
    "reversals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("settlement_id", Id, ForeignKey("settlements.id"), nullable=False, unique=True),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# A later settlement whose result changed when an earlier one was reversed: the new
# split, and the difference from what was settled before.
adjustments = Table(
    "adjustments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("settlement_id", Id, ForeignKey("settlements.id"), nullable=False, index=True),
    Column("reversal_id", Id, ForeignKey("reversals.id"), nullable=False),
    Column("basic_fen", BigInteger, nullable=False),
    Column("assistance_fen", BigInteger, nullable=False),
    Column("institution_fen", BigInteger, nullable=False),
    Column("personal_fen", BigInteger, nullable=False),
    Column("basic_delta_fen", BigInteger, nullable=False),
    Column("assistance_delta_fen", BigInteger, nullable=False),
    Column("institution_delta_fen", BigInteger, nullable=False),
    Column("personal_delta_fen", BigInteger, nullable=False),
    # The threshold the re-settlement charged (from migration 0003; None before it).
    Column("threshold_fen", BigInteger),
    Column("threshold_delta_fen", BigInteger),
    Column("explanation", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# What each fund owes, entry by entry: settlements, their reversals and adjustments.
fund_ledger = Table(
    "fund_ledger",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("region", String(64), nullable=False),
    Column("year", SmallInteger, nullable=False),
    Column("month", String(7), nullable=False),  # YYYY-MM of the encounter
    Column("institution_id", String(32)),  # None: paid to the person (serious illness, claims)
    Column("scheme", String(16), nullable=False),
    Column("layer", String(24), nullable=False),  # basic | assistance | serious_illness
    Column("amount_fen", BigInteger, nullable=False),
    Column("settlement_id", Id, ForeignKey("settlements.id")),
    Column("entry", String(16), nullable=False),  # settlement | reversal | adjustment | yearly
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_fund_ledger_institution_month", fund_ledger.c.institution_id, fund_ledger.c.month)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("caller", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", SmallInteger, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Manual reimbursement: paid first, claimed back with receipts (an emergency elsewhere,
# a lost card, a non-designated place in an emergency).
claims = Table(
    "claims",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("person_id", String(32), ForeignKey("persons.id"), nullable=False, index=True),
    Column("reason", String(32), nullable=False),  # emergency_elsewhere | card_lost | other
    Column("kind", String(24), nullable=False),
    Column("encounter_date", Date, nullable=False),
    Column("hospital_id", String(32)),  # when the place is in the registry
    Column("hospital_name", String(200), nullable=False),
    Column("hospital_level", SmallInteger, nullable=False),
    Column("hospital_region", String(64), nullable=False),
    Column("hospital_designated", Boolean, nullable=False),
    Column("hospital_pilot", Boolean, nullable=False, server_default="0"),
    Column("diagnosis", String(16)),
    Column("disease", String(64)),
    Column("prescription", Boolean, nullable=False, server_default="1"),
    Column("lines", Text, nullable=False),  # JSON: [{code, cls, amount}]
    Column("receipts", Text, nullable=False, server_default="[]"),  # JSON: receipt references
    Column("total_fen", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # submitted | approved | rejected | paid
    Column("settlement_id", Id, ForeignKey("settlements.id")),
    Column("reviewer", String(64)),
    Column("rejection_reason", Text),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("reviewed_at", DateTime(timezone=True)),
    Column("paid_at", DateTime(timezone=True)),
    # From migration 0016 (None: general, same province, ordinary, no delivery).
    Column("hospital_type", String(16)),
    Column("hospital_province", String(8)),
    Column("cause", String(16)),
    Column("delivery", String(16)),
    # From migration 0018: the settlement of the stay it was referred from (a chain).
    Column("referred_from", Id),
    CheckConstraint("status IN ('submitted', 'approved', 'rejected', 'paid')", name="status"),
)
Index("ix_claims_status", claims.c.status, claims.c.submitted_at)

# The yearly serious-illness layer, per person and year: what it pays as of the last
# yearly run (a later run books only the difference).
serious_illness_payments = Table(
    "serious_illness_payments",
    metadata,
    Column("person_id", String(32), ForeignKey("persons.id"), primary_key=True),
    Column("year", SmallInteger, primary_key=True),
    Column("region", String(64), nullable=False),
    Column("scheme", String(16), nullable=False),
    Column("base_fen", BigInteger, nullable=False),  # personal payment on eligible cost (rounded)
    Column("payment_fen", BigInteger, nullable=False),
    Column("explanation", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


# --- access and audit (migration 0004) --------------------------------------------------

# A user of the system: agency staff, a school, an institution, an insured person or a
# guardian. The subject column its role needs is set (see domain/access.py).
accounts = Table(
    "accounts",
    metadata,
    Column("id", String(64), primary_key=True),  # the sign-in name
    Column("role", String(16), nullable=False),
    Column("name", String(100), nullable=False),
    Column("region", String(64)),
    Column("person_id", String(32), ForeignKey("persons.id")),
    Column("school_id", String(32)),
    Column("institution_id", String(32)),
    Column("phone", String(20)),
    Column("password_hash", Text),  # argon2; None: signs in with API tokens only
    Column("failed_sign_ins", SmallInteger, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True)),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint(
        "role IN ('clerk', 'approver', 'school', 'institution', 'insured', 'guardian')",
        name="role",
    ),
)
Index("ix_accounts_person", accounts.c.person_id)

# Bearer tokens for the API: only a hash is kept, so a copy of the database signs no one in.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", String(64), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("label", String(100), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

# Every administrative change: who, when, what, and the record before and after (JSON).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(64), nullable=False),
    Column("before", Text),
    Column("after", Text),
)
Index("ix_audit_log_object", audit_log.c.object_type, audit_log.c.object_id)
Index("ix_audit_log_actor", audit_log.c.actor, audit_log.c.at)

# Security state every worker of a server shares (adapters/db/guards_repo.py): the
# national interface's x-tif nonces seen in the last ten minutes (a second INSERT of one
# is a replay), and failed sign-ins counted per account and source (service/throttle.py).
fsi_nonces = Table(
    "fsi_nonces",
    metadata,
    Column("paasid", String(100), primary_key=True),
    Column("nonce", String(100), primary_key=True),
    Column("seen_at", DateTime(timezone=True), nullable=False),
)

sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("account", String(64), primary_key=True),
    Column("source", String(100), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("last_failed_at", DateTime(timezone=True), nullable=False),
)
