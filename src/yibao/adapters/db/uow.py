"""The unit of work: one transaction, with the repositories that work inside it.

    with uow_factory() as uow:
        ...
        uow.commit()

Leaving the block without commit() rolls everything back: a failed request writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from psycopg import pq
from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from yibao.adapters.db.access import Accounts, Audit
from yibao.adapters.db.catalogue_repo import CatalogueRepo
from yibao.adapters.db.certificates_repo import Certificates
from yibao.adapters.db.collection_repo import Collection
from yibao.adapters.db.console_repo import Console
from yibao.adapters.db.counter_pg import PgCounter
from yibao.adapters.db.counter_pg_batch import PgBatchCounter
from yibao.adapters.db.errors import duplicate, refused_as_duplicate
from yibao.adapters.db.fsi_repo import FsiStore
from yibao.adapters.db.ledger_repo import Claims, History, Ledger, Yearly
from yibao.adapters.db.member_repo import Member
from yibao.adapters.db.regions_repo import Regions
from yibao.adapters.db.repositories import Registry
from yibao.adapters.db.schools_repo import Schools
from yibao.service.counter import StoreCounter

_BILL = "bill"  # the savepoint of a group commit's bill
_ROLLBACK_BILL = f"ROLLBACK TO SAVEPOINT {_BILL}".encode()


def _rollback_keeping_statements(conn: Connection) -> None:
    """End a PostgreSQL transaction that leaves normally without commit() with ROLLBACK
    sent by libpq itself, so that psycopg keeps the statements it prepared on the
    connection (then Connection.rollback(), finding the transaction ended, sends
    nothing).

    psycopg forgets them all on its rollback(), and DEALLOCATEs them at the next
    statement, in case the transaction made objects they referred to: none of ours
    does, and a prepared statement lives on the server until its connection closes. A
    read on a pooled connection (a quote, a GET) then made the group commit's next batch
    on it prepare its read and write again, with PostgreSQL planning each anew for five
    runs: a batch read of 32 bills after a rollback took 1.5-1.8 ms more of the
    server's CPU than after a commit (4.2-4.5 against 2.7 ms, on a loaded machine).
    An error on the way out is left to Connection.rollback(), which sends its own."""
    if conn.dialect.name != "postgresql":
        return
    pgconn = conn.connection.driver_connection.pgconn  # type: ignore[union-attr]
    if pgconn.transaction_status != pq.TransactionStatus.INTRANS:
        return  # idle, or failed: psycopg's own rollback()
    pgconn.exec_(b"ROLLBACK")


# The repositories a unit of work makes only when first asked for one (__getattr__): a
# group commit's batch uses the registry, the catalogue, the regions, the audit and the
# counter, and making all the others for each batch (and each request) cost some 35,000
# instructions, a thousand a card bill of a batch of 32. Each is made once in the unit of
# work, on its connection, as __enter__ made it before.
_MADE_WHEN_ASKED: dict[str, Callable[[Connection, UnitOfWork], Any]] = {
    "ledger": lambda conn, _: Ledger(conn),
    "claims": lambda conn, _: Claims(conn),
    "history": lambda conn, _: History(conn),
    "yearly": lambda conn, _: Yearly(conn),
    "accounts": lambda conn, _: Accounts(conn),
    "schools": lambda conn, _: Schools(conn),
    "collection": lambda conn, _: Collection(conn),
    "certificates": lambda conn, _: Certificates(conn),
    "member": lambda conn, _: Member(conn),
    "console": lambda conn, _: Console(conn),
    "interface": lambda conn, uow: FsiStore(conn, uow.registry),
}


class UnitOfWork:
    registry: Registry
    ledger: Ledger
    claims: Claims
    history: History
    yearly: Yearly
    accounts: Accounts
    audit: Audit
    schools: Schools
    collection: Collection
    certificates: Certificates
    member: Member
    regions: Regions  # the regions and the money between them (clearing)
    console: Console
    interface: FsiStore  # the national interface's (service/ports/interface.py)
    counter: StoreCounter | PgBatchCounter  # card settlement's reads and writes (counter.py)

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._in_bill = False  # a group commit's savepoint is open (savepoint())
        self._asked: list[str] = []  # the repositories made when asked for (__getattr__)

    def __getattr__(self, name: str) -> Any:
        """A repository made when first asked for (_MADE_WHEN_ASKED), in the block only.
        Set as an attribute, it is found as the others are from then on (an attribute
        set in the instance's own way: its __dict__ is never touched, whose making would
        slow every attribute read of the unit of work)."""
        make = _MADE_WHEN_ASKED.get(name)
        conn = self.__getattribute__("_conn")  # not __getattr__ again, if it is not set
        if make is None or conn is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        made = make(conn, self)
        setattr(self, name, made)
        self._asked.append(name)
        return made

    def __enter__(self) -> UnitOfWork:
        self._conn = self.engine.connect()
        self._conn.begin()
        self._in_bill = False
        if self._asked:  # entered again: those of the last block are made anew if asked
            for name in self._asked:
                delattr(self, name)
            self._asked = []
        self.registry = Registry(self._conn)
        self.catalogue = CatalogueRepo(self._conn)
        self.audit = Audit(self._conn)
        self.regions = Regions(self._conn)
        self.counter = (
            PgBatchCounter(self._conn, self.catalogue, self.regions, self.registry)
            if self._conn.dialect.name == "postgresql"
            else StoreCounter(self.registry, self.ledger)
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                if exc is None:  # left without commit(): a read, a quote, a replay
                    _rollback_keeping_statements(self._conn)
                self._conn.rollback()
        finally:
            self._conn.close()
            self._conn = None
        if isinstance(exc, IntegrityError):  # in the service layer's terms
            raise duplicate(exc) from exc

    @property
    def connection(self) -> Connection:
        assert self._conn is not None, "use the unit of work in a with block"
        return self._conn

    def commit(self) -> None:
        """Write the transaction; DuplicateError if the database refused a key."""
        with refused_as_duplicate():
            self.audit.flush()  # the change and its audit entries in one transaction
            # A card settlement's write, kept by the counter until now, in the same
            # transaction.
            self.counter.flush()
            self.connection.commit()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """One bill of a group commit (service/group_commit.py): leaving normally writes
        what the bill left pending (its counter write, its audit entries); an exception
        rolls the transaction back to where the bill began, and it goes on.

        On PostgreSQL the savepoint is one command sent by the driver, releasing the
        previous bill's in the same round trip (a savepoint released stays in the
        transaction; only its name goes)."""
        conn = self.connection
        pg = conn.dialect.name == "postgresql"
        begin = (
            f"RELEASE SAVEPOINT {_BILL}; SAVEPOINT {_BILL}"
            if self._in_bill
            else f"SAVEPOINT {_BILL}"
        )
        if pg:
            driver: Any = conn.connection.driver_connection
            driver.execute(begin)  # no parameters: simple protocol, both statements at once
        else:
            for statement in begin.split("; "):
                conn.exec_driver_sql(statement)
        self._in_bill = True
        if isinstance(self.counter, PgCounter):
            self.counter.begin_bill()  # each bill written at its end (bill_done)
        try:
            yield
            self.audit.flush()
            # The bill's refusable rows went out at its end (Counter.bill_done), if it
            # booked anything; its lines and ledger entries go with the batch's at the
            # commit, one statement for all (counter_pg.py). Whatever a bill left
            # unwritten is written now.
            self.counter.flush_bill()
        except BaseException:
            self.audit.discard()
            self.counter.discard_bill()
            if pg:
                # By libpq, as _rollback_keeping_statements: psycopg would forget its
                # prepared statements at this ROLLBACK too (a job the rules refused in a
                # group commit). Failing (a connection lost), psycopg's own raises.
                done = driver.pgconn.exec_(_ROLLBACK_BILL)
                if done.status != pq.ExecStatus.COMMAND_OK:
                    driver.execute(_ROLLBACK_BILL)
            else:
                conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {_BILL}")
            raise

    def rollback(self) -> None:
        self.audit.discard()
        self.counter.discard()
        self.connection.rollback()
