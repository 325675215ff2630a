"""A unit of work left without commit() (a quote, a read) ends its transaction without
making psycopg forget the statements it prepared on the connection (uow.py): the
counter's read and write stay prepared on the server for the next settlement on that
connection, as after a commit. On PostgreSQL (SQLite prepares nothing of ours)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from integration.test_group_commit import World
from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.service.settlement import SettlementService


@pytest.fixture
def world(engine: Engine, policies: PolicyLoader) -> World:
    return World(engine, policies)


def _prepared(engine: Engine) -> set[str]:
    with UnitOfWork(engine) as uow:  # left without commit, too
        return set(
            uow.connection.execute(text("SELECT name FROM pg_prepared_statements")).scalars()
        )


def test_a_read_left_without_commit_keeps_the_connections_prepared_statements(
    world: World,
) -> None:
    if world.engine.dialect.name != "postgresql":
        pytest.skip("psycopg's prepared statements are PostgreSQL's")
    one = make_engine(world.engine.url.render_as_string(hide_password=False), pool_size=1)
    try:
        service = SettlementService(lambda: UnitOfWork(one), world.policies)
        assert service.settle(world.bill(world.cards[0], date(2026, 3, 1)), "s-1")[0] == 201
        prepared = _prepared(one)
        assert prepared  # the counter's read and write, at least

        quote = service.quote(world.bill(world.cards[1], date(2026, 3, 2)))
        assert quote["status"] == "quote"
        assert service.settle(world.bill(world.cards[2], date(2026, 3, 3)), "s-2")[0] == 201

        # Still prepared (the quote's read is prepared beside them): none deallocated
        # and prepared again under a new name.
        assert prepared <= _prepared(one)
    finally:
        one.dispose()


def test_a_unit_of_work_left_without_commit_writes_nothing(world: World) -> None:
    with UnitOfWork(world.engine) as uow:
        uow.connection.execute(text("UPDATE institutions SET name = 'changed'"))
    with world.engine.connect() as conn:
        changed = conn.execute(
            text("SELECT count(*) FROM institutions WHERE name = 'changed'")
        ).scalar_one()
    assert changed == 0


def test_a_savepoint_rolled_back_keeps_the_connections_prepared_statements(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's prepared statements are PostgreSQL's")
    with UnitOfWork(engine) as uow:
        driver = uow.connection.connection.driver_connection
        assert driver is not None
        driver.execute("SELECT 1", prepare=True)
        prepared = uow.connection.execute(text("SELECT name FROM pg_prepared_statements"))
        names = set(prepared.scalars())
        assert names

        with pytest.raises(RefusedError):
            _refused_in_a_savepoint(uow)

        after = uow.connection.execute(text("SELECT name FROM pg_prepared_statements"))
        assert names <= set(after.scalars())
        changed = uow.connection.execute(
            text("SELECT count(*) FROM institutions WHERE name = 'changed'")
        ).scalar_one()
        assert changed == 0  # the savepoint's work is gone; the transaction goes on


class RefusedError(Exception):
    """A job the rules refused, after it wrote."""


def _refused_in_a_savepoint(uow: UnitOfWork) -> None:
    with uow.savepoint():
        uow.connection.execute(text("UPDATE institutions SET name = 'changed'"))
        raise RefusedError
