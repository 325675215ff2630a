"""In-memory stores for the fast tier: a unit of work and the stores a card settlement,
a manual claim and the registry need, kept in dictionaries. They pass the same contract tests as the
database's (tests/integration/test_store_contract.py), so a use-case test on them says
what the service does, without a database server.

    db = FakeDatabase()
    services = Services.build(db.unit_of_work, policies, clock)

Stores not faked yet (most of certificates, the console) raise
NotImplementedError when a use case reaches for them."""

from __future__ import annotations

from fakes.database import FakeDatabase, FakeUnitOfWork

__all__ = ["FakeDatabase", "FakeUnitOfWork"]
