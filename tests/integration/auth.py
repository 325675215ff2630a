"""Accounts for tests: make one of a role and get the headers that sign its requests."""

from __future__ import annotations

import itertools

from yibao.domain.access import Role
from yibao.service.access import OPERATOR
from yibao.service.services import Services

_numbers = itertools.count(1)


def account(
    services: Services,
    role: Role,
    *,
    region: str | None = None,
    person_id: str | None = None,
    school_id: str | None = None,
    institution_id: str | None = None,
    password: str | None = None,
    account_id: str | None = None,
) -> dict[str, str]:
    """A new account of the role; returns its Authorization header."""
    made = services.access.create_account(
        OPERATOR,
        account_id or f"{role.value}-{next(_numbers)}",
        role,
        f"test {role.value}",
        region=region,
        person_id=person_id,
        school_id=school_id,
        institution_id=institution_id,
        password=password,
    )
    return {"Authorization": f"Bearer {made['token']}"}


def institution(services: Services, institution_id: str) -> dict[str, str]:
    return account(services, Role.INSTITUTION, institution_id=institution_id)


def clerk(services: Services, region: str | None = "sample-city") -> dict[str, str]:
    return account(services, Role.CLERK, region=region)
