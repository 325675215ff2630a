"""institutions_generation: a count every change of `institutions` moves, so that each
process may keep the institutions a national-interface message names in memory for as
long as the count it read with the message's first statement stands (fsi/gateway.py,
fsi/institutions.py), as catalogue_generation does for the catalogue. On PostgreSQL a
trigger on the table moves it, in the writer's transaction, whoever writes (the service
layer, a command, an administrator's SQL); elsewhere nothing keeps institutions in
memory, and the table stays as made.

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-05 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0022"
branch_labels = None
depends_on = None

# Statement by statement (a DELETE of every institution moves it once). Its row lock
# orders the writers, so that a reader that sees generation n sees every change committed
# up to n. A row deleted by hand (the tests empty every table) is made again at the clock's
# milliseconds, never a count a process may still hold a view of.
_FUNCTION = """
CREATE FUNCTION institutions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO institutions_generation (id, generation)
    VALUES (1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
    ON CONFLICT (id) DO UPDATE SET generation = institutions_generation.generation + 1;
    RETURN NULL;
END $$
"""
_TRIGGER = """
CREATE TRIGGER institutions_changed
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON institutions
FOR EACH STATEMENT EXECUTE FUNCTION institutions_changed()
"""


def upgrade() -> None:
    op.create_table(
        "institutions_generation",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_institutions_generation_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institutions_generation")),
    )
    op.execute("INSERT INTO institutions_generation (id, generation) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FUNCTION)
        op.execute(_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER institutions_changed ON institutions")
        op.execute("DROP FUNCTION institutions_changed()")
    op.drop_table("institutions_generation")
