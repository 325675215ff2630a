"""In-memory stores for the fast tier: a unit of work and every store of the service
layer's ports (service/ports), kept in dictionaries. They pass the same contract tests
as the database's (tests/integration/test_store_contract*.py, on SQLite and PostgreSQL
beside them), so a use-case test on them says what the service does, without a database
server.

    db = FakeDatabase()
    services = Services.build(db.unit_of_work, policies, clock)

Two parts are not faked and raise NotImplementedError when a use case reaches for
them: the certificates store beyond the pilot hospitals' list (approvals, filings,
referrals, pilot registrations), and the clearing of money between regions (its
movements are booked; clearing is tested on the databases, test_clearing.py)."""

from __future__ import annotations

from fakes.database import FakeDatabase, FakeUnitOfWork

__all__ = ["FakeDatabase", "FakeUnitOfWork"]
