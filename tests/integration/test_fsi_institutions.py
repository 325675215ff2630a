"""The institutions a national-interface message names, kept in each server process for
as long as the generation a trigger on `institutions` moves (migration 0024,
fsi_institutions.py) stands: a message reads that generation in its first statement, so
that a change made by any other process is seen at the next message. PostgreSQL only:
elsewhere nothing is kept."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from integration.conftest import FakeClock
from yibao.adapters.db import prepared
from yibao.adapters.db import registry_sql as raw
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.domain.registry import Institution, InstitutionKind
from yibao.fsi.gateway import Gateway
from yibao.fsi.jsontext import loads
from yibao.service.services import Services


@pytest.fixture
def gateway(pg_engine: Engine, policies: PolicyLoader, clock: FakeClock) -> Gateway:
    with UnitOfWork(pg_engine) as uow:
        uow.registry.add_region("sample-city", "样本市", "Sample City", "990100")
        uow.registry.add_institution(
            Institution("H1", "sample-city", "H1", 2, InstitutionKind.HOSPITAL, True)
        )
        uow.commit()
    return Gateway(Services.build(lambda: UnitOfWork(pg_engine), policies, clock))


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The prepared statements sent, from now on."""
    sent: list[str] = []
    one = prepared.Driver.one

    def counted(self: prepared.Driver, sql: str, params: Any) -> Any:
        sent.append(sql)
        return one(self, sql, params)

    monkeypatch.setattr(prepared.Driver, "one", counted)
    return sent


def sign_in(gateway: Gateway) -> dict[str, Any]:
    """A 9001: it reads its institution (registered? designated?)."""
    body = {
        "infno": "9001",
        "msgid": f"H1{time.time_ns()}",
        "mdtrtarea_admvs": "990100",
        "opter_type": "1",
        "opter": "001",
        "opter_name": "收费员",
        "inf_time": "2026-06-01 09:00:00",
        "fixmedins_code": "H1",
        "input": {"signIn": {"opter_no": "001", "mac": "00", "ip": "10.0.0.1"}},
    }
    answer: dict[str, Any] = loads(gateway.call(json.dumps(body).encode()))
    return answer


def another_process(pg_engine: Engine, sql: str) -> None:
    """A change through a connection of another engine: nothing in this process is told."""
    other = create_engine(pg_engine.url)
    with other.begin() as conn:
        conn.execute(text(sql))
    other.dispose()


def test_an_institution_is_read_once_and_a_change_by_another_process_seen_at_once(
    pg_engine: Engine, gateway: Gateway, reads: list[str]
) -> None:
    assert sign_in(gateway)["infcode"] == 0
    assert reads.count(raw.INSTITUTION) == 1  # read, and kept
    assert sign_in(gateway)["infcode"] == 0
    assert reads.count(raw.INSTITUTION) == 1  # kept: not read again
    another_process(pg_engine, "UPDATE institutions SET designated = false WHERE id = 'H1'")
    refused = sign_in(gateway)
    assert refused["infcode"] == -1
    assert "不是定点医药机构" in refused["err_msg"]
    assert reads.count(raw.INSTITUTION) == 2  # the new generation: read again
    another_process(pg_engine, "UPDATE institutions SET designated = true WHERE id = 'H1'")
    assert sign_in(gateway)["infcode"] == 0
    another_process(pg_engine, "DELETE FROM institutions WHERE id = 'H1'")
    assert "未登记" in sign_in(gateway)["err_msg"]


def test_without_the_generation_row_nothing_is_kept(
    pg_engine: Engine, gateway: Gateway, reads: list[str]
) -> None:
    another_process(pg_engine, "DELETE FROM institutions_generation")
    for _ in range(2):
        assert sign_in(gateway)["infcode"] == 0
    assert reads.count(raw.INSTITUTION) == 2
    # The next change makes the row again, at a count no process can hold a view of.
    another_process(pg_engine, "UPDATE institutions SET name = 'H1 医院' WHERE id = 'H1'")
    with pg_engine.connect() as conn:
        generation = conn.execute(text("SELECT generation FROM institutions_generation"))
        assert generation.scalar_one() > 10**12
