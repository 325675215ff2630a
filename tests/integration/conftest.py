"""Database fixtures: every integration test runs on SQLite and on PostgreSQL.

PostgreSQL comes from YIBAO_TEST_POSTGRES_URL (./test starts a server and sets it), or
127.0.0.1:5432 as user postgres. A test that cannot reach it fails: it is never skipped.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.schema import metadata
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import search_path
from yibao.bootstrap import PolicyLoader
from yibao.service.services import Services

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

TESTS = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "YIBAO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating once is the slow part)."""
    from yibao.adapters.db.migrate import upgrade  # alembic: only when a database is made

    path = tmp_path_factory.mktemp("template") / "yibao.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of its own for this test session, migrated, dropped at the end."""
    if os.environ.get("YIBAO_FAST"):
        pytest.fail(
            "the fast tier (./test --fast) must not touch PostgreSQL: mark the test `database`"
        )
    from yibao.adapters.db.migrate import upgrade

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"yibao_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - the message is the point
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is needed for the database tests: {exc}")
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# Every table emptied and every id sequence back at 1, as a new database has them. DELETE
# of tables that hold a test's few rows takes a millisecond; TRUNCATE of 35 tables took
# 70 ms, a minute of every run.
EMPTY_POSTGRES = "; ".join(
    [f'DELETE FROM "{t.name}"' for t in reversed(metadata.sorted_tables)]
    + [
        "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false) "
        "FROM pg_sequences WHERE schemaname = current_schema()"
    ]
)


# The database tests: `./test --fast` leaves out what is marked `database`.
DATABASES = [
    pytest.param("sqlite", marks=pytest.mark.database),
    pytest.param("postgresql", marks=pytest.mark.database),
]


def make_test_engine(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    """An empty, migrated database of the kind ("sqlite" or "postgresql") for one test."""
    if kind == "sqlite":
        path = tmp_path / "yibao.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return make_engine(f"sqlite:///{path}")
    db = make_engine(request.getfixturevalue("postgres_url"), pool_size=60)
    with db.begin() as conn:
        conn.execute(text(EMPTY_POSTGRES))
    return db


@pytest.fixture(params=DATABASES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    db = make_test_engine(request.param, request, tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def pg_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A test's empty, migrated PostgreSQL database, for what only PostgreSQL does."""
    db = make_test_engine("postgresql", request, tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def policies() -> PolicyLoader:
    return PolicyLoader(search_path([TESTS / "regions"]))


class FakeClock:
    """Today, as the tests set it: enrolment windows and due dates depend on the date."""

    def __init__(self, today: date) -> None:
        self.today = today

    def __call__(self) -> date:
        return self.today


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(date(2026, 10, 15))  # inside sample-city's window for 2027


@pytest.fixture
def services(engine: Engine, policies: PolicyLoader, clock: FakeClock) -> Services:
    return Services.build(lambda: UnitOfWork(engine), policies, clock)


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    # Imported here: the fast tier collects test_store_contract.py beside this file and
    # never needs the web app (importing it and FastAPI's client cost ~0.6 s of CPU).
    from integration.signing import SigningClient
    from yibao.entrypoints.api.app import create_app

    with SigningClient(create_app(services), services) as c:
        yield c


def __getattr__(name: str) -> Any:
    """`from integration.conftest import SigningClient` still works: the client lives in
    integration/signing.py and is imported on first use (not when the fast tier collects
    this directory)."""
    if name == "SigningClient":
        from integration.signing import SigningClient

        return SigningClient
    raise AttributeError(name)
