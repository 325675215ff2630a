"""The catalogue each process keeps in memory (catalogue_cache.py): a write in any process
is seen by the next lookup in every other, a write that rolls back is seen by none, and a
warm lookup costs one primary-key read. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from integration.certificates_world import CITY, H3, build
from yibao.adapters.db import prepared
from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.catalogue import Entry
from yibao.domain.model import LineClass

DAY = date(2026, 3, 2)


def entry(code: str, cap: str, valid_from: date = date(2026, 1, 1)) -> Entry:
    return Entry(code, f"item {code}", LineClass.B, valid_from, caps={3: Decimal(cap)})


def caps(engine: Engine, *codes: str) -> dict[str, Decimal | None]:
    with UnitOfWork(engine) as uow:
        found = uow.catalogue.in_force(CITY, codes, DAY)
    return {code: found[code].cap(3) if code in found else None for code in codes}


def mapped(engine: Engine, own: str) -> dict[str, str]:
    with UnitOfWork(engine) as uow:
        return uow.catalogue.mapped(H3, [own], DAY)


@pytest.fixture
def other_process(engine: Engine) -> Iterator[Engine]:
    """A second engine on the same database: another server process, its own copy."""
    build(engine)
    other = make_engine(engine.url.render_as_string(hide_password=False))
    yield other
    other.dispose()


def test_a_write_in_one_process_is_seen_by_the_next_lookup_in_another(
    engine: Engine, other_process: Engine
) -> None:
    with UnitOfWork(engine) as uow:
        uow.catalogue.add_entries(CITY, [entry("X-1", "10.00")])
        uow.commit()
    assert caps(other_process, "X-1") == {"X-1": Decimal("10.00")}  # read, kept
    with UnitOfWork(engine) as uow:  # a new cap from 1 March, written elsewhere
        uow.catalogue.add_entries(CITY, [entry("X-1", "8.00", date(2026, 3, 1))])
        uow.catalogue.add_mapping(H3, "OWN-1", None, "X-1", DAY, None)
        uow.commit()
    assert caps(other_process, "X-1") == {"X-1": Decimal("8.00")}
    assert mapped(other_process, "OWN-1") == {"OWN-1": "X-1"}
    with UnitOfWork(engine) as uow:
        assert uow.catalogue.cancel_mapping(H3, "OWN-1") == 1
        uow.commit()
    assert mapped(other_process, "OWN-1") == {}


def test_a_write_that_rolls_back_is_seen_by_no_one(engine: Engine, other_process: Engine) -> None:
    assert caps(engine, "X-2") == {"X-2": None}
    with UnitOfWork(engine) as uow:
        uow.catalogue.add_entries(CITY, [entry("X-2", "5.00")])
        uow.catalogue.add_mapping(H3, "OWN-2", None, "X-2", DAY, None)
        # The writer sees its own rows ...
        assert uow.catalogue.in_force(CITY, ["X-2"], DAY)["X-2"].cap(3) == Decimal("5.00")
        assert uow.catalogue.mapped(H3, ["OWN-2"], DAY) == {"OWN-2": "X-2"}
        uow.rollback()
    # ... and after the rollback nobody does, in another process or in this one, even
    # once another write has brought the catalogue to the generation the writer had seen.
    assert caps(other_process, "X-2") == {"X-2": None}
    with UnitOfWork(engine) as uow:
        uow.catalogue.add_entries(CITY, [entry("X-9", "1.00")])
        uow.catalogue.add_mapping(H3, "OWN-9", None, "X-9", DAY, None)
        uow.commit()
    assert caps(engine, "X-2", "X-9") == {"X-2": None, "X-9": Decimal("1.00")}
    assert mapped(engine, "OWN-2") == {}


def test_a_warm_lookup_reads_only_the_generation_once_a_transaction(
    engine: Engine, other_process: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with UnitOfWork(engine) as uow:
        uow.catalogue.add_entries(CITY, [entry("X-3", "7.00")])
        uow.commit()
    caps(engine, "X-3")
    mapped(engine, "OWN-3")
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    # SQLAlchemy's statements and, on PostgreSQL, the driver's prepared ones (prepared.py).
    for name in ("one", "all"):
        sent = getattr(prepared.Driver, name)
        monkeypatch.setattr(
            prepared.Driver,
            name,
            lambda self, sql, params, sent=sent: seen(None, None, sql) or sent(self, sql, params),
        )
    event.listen(engine, "before_cursor_execute", seen)
    try:
        with UnitOfWork(engine) as uow:  # a bill's two lookups in one transaction
            assert uow.catalogue.mapped(H3, ["OWN-3"], DAY) == {}
            assert uow.catalogue.in_force(CITY, ["X-3"], DAY)["X-3"].cap(3) == Decimal("7.00")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    catalogue_reads = [s for s in statements if "catalogue" in s]
    assert len(catalogue_reads) == 1, catalogue_reads
    assert all("catalogue_generation" in s for s in catalogue_reads), catalogue_reads
