"""The fake database and its unit of work: a unit of work works on a copy of the tables
and puts it back at commit, so leaving without commit() writes nothing, as a rolled-back
transaction. One unit of work at a time (the fakes are for single-threaded tests)."""

from __future__ import annotations

from types import TracebackType

from fakes.access import FakeAccounts
from fakes.admin import FakeAudit, FakeCatalogue
from fakes.certificates import FakeCertificates
from fakes.collection import FakeCollection
from fakes.console import FakeConsole
from fakes.history import FakeHistory, FakeYearly
from fakes.ledger import FakeClaims, FakeLedger
from fakes.member import FakeMember
from fakes.regions import FakeRegions
from fakes.registry import FakeRegistry
from fakes.schools import FakeSchools
from fakes.tables import Tables
from yibao.service.counter import StoreCounter


class FakeDatabase:
    def __init__(self) -> None:
        self.tables = Tables()
        self.commits = 0

    def unit_of_work(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


class FakeUnitOfWork:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self._tables: Tables | None = None

    def __enter__(self) -> FakeUnitOfWork:
        self._tables = self.db.tables.copy()
        self.registry = FakeRegistry(self._tables)
        self.regions = FakeRegions(self._tables)
        self.ledger = FakeLedger(self._tables)
        self.claims = FakeClaims(self._tables)
        self.history = FakeHistory(self._tables)
        self.yearly = FakeYearly(self._tables)
        self.accounts = FakeAccounts(self._tables)
        self.schools = FakeSchools(self._tables)
        self.member = FakeMember(self._tables)
        self.collection = FakeCollection(self._tables)
        self.console = FakeConsole(self._tables)
        self.catalogue = FakeCatalogue(self._tables)
        self.audit = FakeAudit(self._tables)
        self.certificates = FakeCertificates(self._tables)
        self.counter = StoreCounter(self.registry, self.ledger)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._tables = None  # what was not committed is gone

    def commit(self) -> None:
        assert self._tables is not None, "use the unit of work in a with block"
        self.audit.flush()
        self.counter.flush()
        self.db.tables = self._tables
        self.db.commits += 1
        # Later writes in the same block go on a copy again, as a new transaction.
        self.__enter__()

    def rollback(self) -> None:
        self.audit.discard()
        self.counter.discard()
        self.__enter__()
