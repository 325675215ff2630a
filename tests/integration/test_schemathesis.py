"""Schemathesis against the whole API as each role, bounded to a few minutes: no server
error, every answer as the schema says, every 4xx with a `code`. The clerk and the
hospital reach the most operations; the other roles mostly meet the role checks, whose
refusals must keep the same shape."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from sqlalchemy.engine import Engine

from integration.auth import account
from integration.conftest import FakeClock
from integration.roles_world import C1, CITY, G1, I1, S1, build_registry
from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.domain.access import Role
from yibao.entrypoints.api.app import create_app
from yibao.service.services import Services

EXAMPLES = 4  # per operation and role: about 2 × 90 operations × 4 requests


@schemathesis.check
def every_4xx_has_a_code(ctx: Any, response: Any, case: Any) -> bool | None:
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict), f"a {response.status_code} without a JSON object"
        assert isinstance(body.get("code"), str), f"a {response.status_code} without a code: {body}"
        assert isinstance(body.get("message"), str), f"a {response.status_code} without a message"
    return None


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    every_4xx_has_a_code,
]


@pytest.fixture
def world(
    sqlite_template: Path, tmp_path: Path, policies: PolicyLoader
) -> Iterator[tuple[Services, Engine]]:
    path = tmp_path / "yibao.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    build_registry(engine)
    yield (
        Services.build(
            lambda: UnitOfWork(engine),
            policies,
            FakeClock(__import__("datetime").date(2026, 10, 15)),
        ),
        engine,
    )
    engine.dispose()


def _run(services: Services, headers: dict[str, str]) -> int:
    """Every operation of the schema, EXAMPLES cases each; returns how many operations."""
    api = schemathesis.openapi.from_asgi("/openapi.json", create_app(services))
    count = 0
    for found in api.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
        count += 1
    return count


def test_the_api_keeps_its_schema_for_a_clerk(world: tuple[Services, Engine]) -> None:
    assert _run(world[0], account(world[0], Role.CLERK, region=CITY)) > 50


def test_the_api_keeps_its_schema_for_a_hospital(world: tuple[Services, Engine]) -> None:
    assert _run(world[0], account(world[0], Role.INSTITUTION, institution_id=I1)) > 50


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        (Role.APPROVER, {"region": CITY}),
        (Role.SCHOOL, {"school_id": S1}),
        (Role.INSURED, {"person_id": C1}),
        (Role.GUARDIAN, {"person_id": G1}),
    ],
    ids=lambda v: v.value if isinstance(v, Role) else "",
)
def test_the_api_keeps_its_schema_for_every_other_role(
    world: tuple[Services, Engine], role: Role, scope: dict[str, str]
) -> None:
    assert _run(world[0], account(world[0], role, **scope)) > 50
