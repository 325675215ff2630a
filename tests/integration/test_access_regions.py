"""A regional clerk manages the accounts of its own region only: every account operation
x every role of account x own / other / no region. A missing region (an all-region staff
account) is never "own": it refuses, as another region does."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from yibao.adapters.db.tables import accounts, api_tokens
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Principal, Role
from yibao.domain.ids import make_resident_id, parse_resident_id
from yibao.domain.registry import Institution, InstitutionKind, PersonRecord
from yibao.service.access import OPERATOR
from yibao.service.errors import ServiceError
from yibao.service.services import Services

CITY, COUNTY = "sample-city", "hill-county"
CLERK = Principal(account="city-clerk", role=Role.CLERK, region=CITY)
ROLES = list(Role)
WHERE = ["own", "other", "none"]
REGION_OF = {"own": CITY, "other": COUNTY, "none": None}


@pytest.fixture
def world(engine: Engine, services: Services) -> Services:
    """Institutions, schools and persons in both regions, and an account of every role in
    each (staff also without a region)."""
    with UnitOfWork(engine) as uow:
        uow.registry.add_region(CITY, "样本市", "Sample City", "990100")
        uow.registry.add_region(COUNTY, "山县", "Hill County", "990200")
        for seq, region in enumerate((CITY, COUNTY), start=1):
            uow.registry.add_institution(
                Institution(f"H-{region}", region, "hospital", 2, InstitutionKind.HOSPITAL, True)
            )
            uow.schools.add_school(f"S-{region}", region, "school")
            number = make_resident_id("990100", date(2015, 1, 1), seq)
            uow.registry.add_person(
                PersonRecord(
                    f"P-{region}",
                    number,
                    "n",
                    date(2015, 1, 1),
                    parse_resident_id(number).sex,
                    region,
                )
            )
        uow.commit()
    services.access.create_account(OPERATOR, CLERK.account, Role.CLERK, "n", region=CITY)
    for role in ROLES:
        for where in WHERE:
            if where == "none" and role not in (Role.CLERK, Role.APPROVER):
                continue
            services.access.create_account(
                OPERATOR, _id(role, where), role, "n", **_subject(role, where)
            )
    return services


def _id(role: Role, where: str) -> str:
    return f"{role.value}-{where}"


def _subject(role: Role, where: str) -> dict[str, str | None]:
    region = REGION_OF[where]
    if role in (Role.CLERK, Role.APPROVER):
        return {"region": region}
    key = {
        Role.INSTITUTION: ("institution_id", "H"),
        Role.SCHOOL: ("school_id", "S"),
        Role.INSURED: ("person_id", "P"),
        Role.GUARDIAN: ("person_id", "P"),
    }[role]
    return {key[0]: f"{key[1]}-{region}"}


def _cases() -> list[tuple[Role, str]]:
    return [
        (role, where)
        for role in ROLES
        for where in WHERE
        if where != "none" or role in (Role.CLERK, Role.APPROVER)
    ]


def _allowed(where: str) -> bool:
    return where == "own"


def _refused(call: object) -> int:
    with pytest.raises(ServiceError) as refused:
        call()  # type: ignore[operator]
    return refused.value.status


@pytest.mark.parametrize(("role", "where"), _cases())
def test_create_account(world: Services, role: Role, where: str) -> None:
    def make() -> object:
        return world.access.create_account(
            CLERK, f"new-{role}-{where}", role, "n", **_subject(role, where)
        )

    if _allowed(where):
        assert make()["token"]  # type: ignore[index]
    else:
        assert _refused(make) == 403


@pytest.mark.parametrize(("role", "where"), _cases())
def test_issue_token(world: Services, role: Role, where: str) -> None:
    target = _id(role, where)
    if _allowed(where):
        token = world.access.issue_token(CLERK, target)
        who = world.access.authenticate(token)
        assert who is not None
        assert who.account == target
    else:
        assert _refused(lambda: world.access.issue_token(CLERK, target)) == 403


@pytest.mark.parametrize(("role", "where"), _cases())
def test_revoke_tokens(engine: Engine, world: Services, role: Role, where: str) -> None:
    target = _id(role, where)
    if _allowed(where):
        assert world.access.revoke_tokens(CLERK, target) == 1
    else:
        assert _refused(lambda: world.access.revoke_tokens(CLERK, target)) == 403
        with engine.connect() as conn:
            live = conn.execute(
                select(api_tokens.c.token_hash).where(
                    api_tokens.c.account_id == target, api_tokens.c.revoked_at.is_(None)
                )
            ).all()
        assert len(live) == 1  # nothing revoked


@pytest.mark.parametrize(("role", "where"), _cases())
def test_set_password(engine: Engine, world: Services, role: Role, where: str) -> None:
    target = _id(role, where)
    if _allowed(where):
        world.access.set_password(CLERK, target, "a-new-password")
    else:
        assert _refused(lambda: world.access.set_password(CLERK, target, "a-new-password")) == 403
    with engine.connect() as conn:
        stored = conn.execute(
            select(accounts.c.password_hash).where(accounts.c.id == target)
        ).scalar_one()
    assert (stored is not None) == _allowed(where)


def test_listing_shows_only_own_region_accounts(world: Services) -> None:
    listed = {a["id"] for a in world.access.accounts(CLERK)}
    assert listed == {_id(r, "own") for r in ROLES} | {CLERK.account}
    everyone = {a["id"] for a in world.access.accounts(OPERATOR)}
    assert {_id(r, w) for r, w in _cases()} <= everyone


@pytest.mark.parametrize("role", [r for r in ROLES if r is not Role.CLERK])
def test_no_other_role_manages_accounts(world: Services, role: Role) -> None:
    made = world.access.issue_token(OPERATOR, _id(role, "own"))
    who = world.access.authenticate(made)
    assert who is not None
    target = _id(Role.CLERK, "own")
    assert _refused(lambda: world.access.issue_token(who, target)) == 403
    assert _refused(lambda: world.access.revoke_tokens(who, target)) == 403
    assert _refused(lambda: world.access.set_password(who, target, "a-new-password")) == 403
    assert _refused(lambda: world.access.accounts(who)) == 403
    assert (
        _refused(lambda: world.access.create_account(who, "x", Role.CLERK, "n", region=CITY)) == 403
    )
