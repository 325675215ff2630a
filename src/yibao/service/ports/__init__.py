"""What the service layer needs from the outside, as types it owns: a unit of work with
its stores (stores.py, admin.py), the records exchanged with them (records.py), the
policy of a region, and the clocks. Adapters implement these; the service layer never
imports an adapter or a database library (the import rules in pyproject.toml and
src/yibao/service/ruff.toml see to it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Protocol
from zoneinfo import ZoneInfo

from yibao.domain.parameters import RegionPolicy
from yibao.service.ports import admin, stores


class UnitOfWork(Protocol):
    """One transaction, with the stores that work inside it:

        with uow_factory() as uow:
            ...
            uow.commit()

    Leaving the block without commit() rolls everything back: a failed request writes
    nothing."""

    @property
    def registry(self) -> stores.Registry: ...

    @property
    def ledger(self) -> stores.Ledger: ...

    @property
    def claims(self) -> stores.Claims: ...

    @property
    def history(self) -> stores.History: ...

    @property
    def yearly(self) -> stores.Yearly: ...

    @property
    def counter(self) -> stores.Counter: ...

    @property
    def regions(self) -> stores.Regions: ...

    @property
    def accounts(self) -> admin.Accounts: ...

    @property
    def audit(self) -> admin.Audit: ...

    @property
    def catalogue(self) -> admin.Catalogue: ...

    @property
    def schools(self) -> admin.Schools: ...

    @property
    def collection(self) -> admin.Collection: ...

    @property
    def certificates(self) -> admin.Certificates: ...

    @property
    def member(self) -> admin.Member: ...

    @property
    def console(self) -> admin.Console: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


PolicySource = Callable[[str], RegionPolicy]
UowFactory = Callable[[], UnitOfWork]

# Today's date where the agency works: windows, due dates and "past due" are counted in it.
Clock = Callable[[], date]
CHINA = ZoneInfo("Asia/Shanghai")


def china_today() -> date:
    return datetime.now(CHINA).date()


def now() -> datetime:
    """The moment, in UTC: what records are stamped with."""
    return datetime.now(UTC)
