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
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.migrate import upgrade
from yibao.adapters.db.schema import metadata
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import search_path
from yibao.bootstrap import PolicyLoader
from yibao.domain.access import Role
from yibao.entrypoints.api.app import create_app
from yibao.service.access import new_token, token_hash
from yibao.service.services import Services

TESTS = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "YIBAO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating once is the slow part)."""
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


class SigningClient(TestClient):
    """A test client that signs requests the way callers really do (a bearer token), for
    tests that name the caller instead: `X-Institution: H1` signs as an account of
    institution H1, `X-Test-As: clerk` as a clerk of every region, and a request with
    no Authorization of its own as a clerk too; `X-Test-As: anonymous` sends none. The
    accounts are made on first use through the access service; the request itself goes
    through the real token check."""

    def __init__(self, app: Any, services: Services) -> None:
        super().__init__(app, raise_server_exceptions=True)
        self._services = services
        self._tokens: dict[tuple[str, str], str] = {}

    def _token(self, role: Role, subject: str) -> str:
        key = (role.value, subject)
        if key not in self._tokens:
            # Straight into the tables, not through the access service: a test may sign
            # as an institution that is not registered, to see the settlement refuse it.
            token = new_token()
            account_id = f"test-{role.value}-{subject}"[:64]
            with self._services.access.uow() as uow:
                uow.accounts.add(
                    {
                        "id": account_id,
                        "role": role.value,
                        "name": f"test {role.value} {subject}",
                        "institution_id": subject if role is Role.INSTITUTION else None,
                        "school_id": subject if role is Role.SCHOOL else None,
                    }
                )
                uow.accounts.add_token(token_hash(token), account_id, "test", None)
                uow.commit()
            self._tokens[key] = token
        return self._tokens[key]

    def request(self, method: str, url: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        headers = dict(kwargs.pop("headers", None) or {})
        institution = headers.pop("X-Institution", None)
        role = headers.pop("X-Test-As", None)
        if institution:
            headers["Authorization"] = f"Bearer {self._token(Role.INSTITUTION, institution)}"
        elif role != "anonymous" and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self._token(Role(role or 'clerk'), 'all')}"
        return super().request(method, url, headers=headers, **kwargs)


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with SigningClient(create_app(services), services) as c:
        yield c
