"""what a card settlement costs PostgreSQL because of the schema (issue 18; measured by
bench/pg_cost.py, docs/service.md "What a settlement costs PostgreSQL"):

- person_years, updated by every settlement, leaves a fifth of each page free
  (fillfactor 80), so that the update is HOT (the new version on the same page, no new
  entry in pk_person_years) also on a page its inserts filled. ALTER TABLE changes the
  pages written from now on; the rows already there move once, at their next update.
- settlements lose their foreign key to persons: the settlement's person is the one whose
  person_years row the same transaction locked and updated (that row's foreign key to
  persons stands, and no code deletes a person). The check was a query, a probe of
  pk_persons and a row lock on persons (a WAL record, a dirtied page of a table that
  otherwise is only read) for every settlement.
- settlement_lines lose their foreign key to settlements: lines are written only with
  their settlement, by its id drawn in the same transaction (counter_pg.py writes them in
  the statement of the settlement, or at the commit of the group whose savepoint holds it;
  Ledger.book and the batch loader after it); no code deletes a settlement. The check was
  a query and a probe of pk_settlements for every line, dozens for a stay in hospital.
  A line holds no money of a fund: one without its settlement would be a row nothing
  reads; a settlement without one of its lines (which the key never prevented) is what
  verify finds, settling it again from its lines.

fund_ledger keeps its foreign key to settlements: an entry is money a fund owes, and its
settlement is what the entry is owed for.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-04 16:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _postgresql():
        op.execute("ALTER TABLE person_years SET (fillfactor = 80)")
    with op.batch_alter_table("settlements") as batch:
        batch.drop_constraint("fk_settlements_person_id_persons", type_="foreignkey")
    with op.batch_alter_table("settlement_lines") as batch:
        batch.drop_constraint("fk_settlement_lines_settlement_id_settlements", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("settlement_lines") as batch:
        batch.create_foreign_key(
            "fk_settlement_lines_settlement_id_settlements",
            "settlements",
            ["settlement_id"],
            ["id"],
        )
    with op.batch_alter_table("settlements") as batch:
        batch.create_foreign_key(
            "fk_settlements_person_id_persons", "persons", ["person_id"], ["id"]
        )
    if _postgresql():
        op.execute("ALTER TABLE person_years RESET (fillfactor)")
