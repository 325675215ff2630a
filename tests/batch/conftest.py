"""The database fixtures of the integration tests (SQLite and PostgreSQL, every test on
both), for the tests that load region-years into a database."""

from integration.conftest import (  # noqa: F401
    clock,
    engine,
    policies,
    postgres_url,
    services,
    sqlite_template,
)
