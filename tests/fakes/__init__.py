"""In-memory stores for the fast tier: a unit of work and every store of the service
layer's ports (service/ports), kept in dictionaries. They pass the same contract tests
as the database's (tests/integration/test_store_contract*.py, on SQLite and PostgreSQL
beside them), so a use-case test on them says what the service does, without a database
server.

    db = FakeDatabase()
    services = Services.build(db.unit_of_work, policies, clock)

Rows handed back as `Any` carry every column of their table (fakes/tables.new_row),
as the database's rows do; the contract tests compare their column names too."""

from __future__ import annotations

from fakes.database import FakeDatabase, FakeUnitOfWork

__all__ = ["FakeDatabase", "FakeUnitOfWork"]
