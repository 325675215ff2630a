"""When the national interface's settling messages go to the group committer (on
PostgreSQL): by default always; with the setting fsi_group_at = N, a 2207 with fewer
than N others under way in the process commits at once on its own, since a batch of one
shares nothing, and with N under way it joins the committer's queue. Either way it is answered as alone:
settled once, its answer stored under its msgid."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Engine

from integration.fsi_hospitals import Hospital, demo_world
from yibao.adapters.db.tables_fsi import fsi_settlements
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.fsi import gateway as gateway_module
from yibao.fsi.gateway import Gateway
from yibao.fsi.jsontext import dumps, loads
from yibao.service.demo import load_demo
from yibao.service.group_commit import GroupCommitter
from yibao.service.services import Services
from yibao.settings import Settings


def count(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_by_default_every_settling_message_goes_to_the_committer() -> None:
    assert Settings().fsi_group_at == 0
    assert Services.fsi_group_at == 0


@pytest.mark.database
def test_a_settlement_alone_commits_at_once_and_with_others_under_way_is_grouped(
    pg_engine: Engine, policies: PolicyLoader
) -> None:
    load_demo(lambda: UnitOfWork(pg_engine), policies, persons=20)
    world = demo_world(pg_engine)
    services = Services.build(lambda: UnitOfWork(pg_engine), policies)
    committer = GroupCommitter(services.settlements, lambda: UnitOfWork(pg_engine))
    gateway = Gateway(replace(services, group_commit=committer, fsi_group_at=2))
    his = Hospital(world.hospitals[0], lambda body: gateway.call(body).encode())
    his.sign_in()

    first = his.open_visit(world.patients[0], world.code, Decimal("30.00"))
    answer = loads(gateway.call(dumps(first).encode()))
    assert answer["infcode"] == 0, answer["err_msg"]
    assert committer.stats.bills == 0  # nothing under way: not through the committer
    assert gateway_module.SETTLING.count == 0

    second = his.open_visit(world.patients[1], world.code, Decimal("31.00"))
    under_way = gateway_module.SETTLING
    under_way.enter()
    under_way.enter()  # two other settling messages being answered meanwhile
    try:
        text = gateway.call(dumps(second).encode())
    finally:
        under_way.leave()
        under_way.leave()
    assert loads(text)["infcode"] == 0, loads(text)["err_msg"]
    assert committer.stats.bills == 1  # it joined the committer's queue
    assert under_way.count == 0  # and left the count once answered

    # Sent again, each answers its first answer and settles nothing more.
    assert gateway.call(dumps(second).encode()) == text
    assert count(pg_engine, fsi_settlements) == 2
