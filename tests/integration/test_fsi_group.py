"""The national interface's settlements through the group committer, on PostgreSQL (where
the server groups them): 16 hospitals' 2207 at once share commits and each is answered
as alone, a refused message fails none of its neighbours, 2208 cancels through it too,
and one message sent many times at once — to one process or to two — settles once and
every copy gets the first answer."""

from __future__ import annotations

import threading
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from integration.fsi_hospitals import Hospital, demo_world
from yibao.adapters.db import tables as t
from yibao.adapters.db.tables_fsi import fsi_messages, fsi_settlements
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.fsi.gateway import Gateway
from yibao.fsi.jsontext import dumps, loads
from yibao.service.demo import load_demo
from yibao.service.group_commit import GroupCommitter
from yibao.service.services import Services
from yibao.service.verify import verify

HOSPITALS = 16
VISITS = 3  # a hospital's visits, settled one after the other


def grouped(engine: Engine, policies: PolicyLoader) -> tuple[Gateway, GroupCommitter]:
    """A server process's gateway, its 2207 / 2208 through a committer of its own."""
    services = Services.build(lambda: UnitOfWork(engine), policies)
    committer = GroupCommitter(services.settlements, lambda: UnitOfWork(engine))
    return Gateway(replace(services, group_commit=committer)), committer


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.database
def test_sixteen_hospitals_settle_at_once_through_shared_commits(
    pg_engine: Engine, policies: PolicyLoader
) -> None:
    load_demo(lambda: UnitOfWork(pg_engine), policies, persons=150)
    world = demo_world(pg_engine)
    assert len(world.hospitals) >= HOSPITALS
    assert len(world.patients) >= HOSPITALS * VISITS
    gateway, committer = grouped(pg_engine, policies)
    start = threading.Barrier(HOSPITALS)
    settled: dict[str, list[dict[str, Any]]] = {}
    refused: dict[str, dict[str, Any]] = {}
    cancelled: dict[str, dict[str, Any]] = {}

    def play(n: int, code: str) -> None:
        his = Hospital(code, lambda body: gateway.call(body).encode())
        his.sign_in()
        price = Decimal(f"{40 + n}.00")
        messages = [
            his.open_visit(world.patients[n * VISITS + k], world.code, price) for k in range(VISITS)
        ]
        wrong = his.envelope("2207", {"data": {**messages[0]["input"]["data"]}})
        wrong["input"]["data"]["medfee_sumamt"] = price + 1  # not what was uploaded
        start.wait(60)  # every hospital's 2207 at once
        refused[code] = his.send(wrong)
        settled[code] = [his.send(m) for m in messages]
        if n % 2 == 0:  # every other hospital cancels its first settlement (2208)
            info = settled[code][0]["output"]["setlinfo"]
            ids = {k: info[k] for k in ("setl_id", "mdtrt_id", "psn_no")}
            cancelled[code] = his.send(his.envelope("2208", {"data": ids}))

    threads = [
        threading.Thread(target=play, args=(n, code))
        for n, code in enumerate(world.hospitals[:HOSPITALS])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)

    answers = [a for code in sorted(settled) for a in settled[code]]
    assert len(answers) == HOSPITALS * VISITS
    assert all(a["infcode"] == 0 for a in answers), [a["err_msg"] for a in answers]
    assert all(a["infcode"] == -1 and "medfee_sumamt" in a["err_msg"] for a in refused.values())
    assert len(cancelled) == HOSPITALS // 2
    assert all(a["infcode"] == 0 for a in cancelled.values())
    for a in answers:  # each answered as alone: the hospital's arithmetic holds
        info = a["output"]["setlinfo"]
        assert info["fund_pay_sumamt"] + info["psn_cash_pay"] == info["medfee_sumamt"]
    ids = {a["output"]["setlinfo"]["setl_id"] for a in answers}
    assert len(ids) == HOSPITALS * VISITS
    with pg_engine.connect() as conn:
        stored = {str(i) for i in conn.execute(select(t.settlements.c.id)).scalars()}
        statuses = conn.execute(select(fsi_settlements.c.status)).scalars().all()
    assert ids <= stored
    assert sorted(statuses).count("settled") == HOSPITALS * VISITS - HOSPITALS // 2
    assert len(statuses) == HOSPITALS * VISITS  # the refused ones left nothing
    stats = committer.stats  # every 2207 and 2208 went through it, and shared commits
    assert stats.bills == HOSPITALS * (VISITS + 1) + HOSPITALS // 2
    assert stats.batches < stats.bills
    assert stats.largest > 1
    report = verify(lambda: UnitOfWork(pg_engine), policies)
    assert report.problems == []


@pytest.mark.database
def test_one_message_sent_many_times_at_once_settles_once_and_answers_as_first(
    pg_engine: Engine, policies: PolicyLoader
) -> None:
    load_demo(lambda: UnitOfWork(pg_engine), policies, persons=20)
    world = demo_world(pg_engine)
    one, one_committer = grouped(pg_engine, policies)
    other, _ = grouped(pg_engine, policies)  # another server process on the same database
    his = Hospital(world.hospitals[0], lambda body: one.call(body).encode())
    his.sign_in()
    message = his.open_visit(world.patients[0], world.code, Decimal("88.00"))
    body = his.envelope("2207", message["input"])
    body["msgid"] = message["msgid"]
    copies = 8
    start = threading.Barrier(copies)
    texts: list[str] = []
    lock = threading.Lock()

    def send(gateway: Gateway) -> None:
        start.wait(60)
        text = gateway.call(dumps(body).encode())
        with lock:
            texts.append(text)

    threads = [threading.Thread(target=send, args=([one, other][n % 2],)) for n in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert len(texts) == copies
    assert len(set(texts)) == 1, texts  # every copy: the first answer, verbatim
    answer = loads(texts[0])
    assert answer["infcode"] == 0, answer["err_msg"]
    assert count(pg_engine, t.settlements) == 1
    assert count(pg_engine, fsi_settlements) == 1
    with pg_engine.connect() as conn:
        stored = conn.execute(
            select(func.count())
            .select_from(fsi_messages)
            .where(fsi_messages.c.msgid == message["msgid"])
        ).scalar_one()
    assert stored == 1
    assert one_committer.stats.bills >= copies // 2
    assert verify(lambda: UnitOfWork(pg_engine), policies).problems == []


@pytest.mark.database
def test_the_route_awaits_a_grouped_settlement_and_answers_its_refusal(
    pg_engine: Engine, policies: PolicyLoader
) -> None:
    from integration.signing import SigningClient
    from yibao.entrypoints.api.app import create_app

    load_demo(lambda: UnitOfWork(pg_engine), policies, persons=20)
    world = demo_world(pg_engine)
    services = Services.build(lambda: UnitOfWork(pg_engine), policies)
    committer = GroupCommitter(services.settlements, lambda: UnitOfWork(pg_engine))
    served = replace(services, group_commit=committer)
    code = world.hospitals[0]
    with SigningClient(create_app(served), served) as client:

        def post(body: bytes) -> bytes:
            headers = {"Content-Type": "application/json", "X-Institution": code}
            answer = client.post("/fsi/api/callService", content=body, headers=headers)
            assert answer.status_code == 200
            return answer.content

        his = Hospital(code, post)
        his.sign_in()
        message = his.open_visit(world.patients[0], world.code, Decimal("61.50"))
        wrong = his.envelope("2207", {"data": {**message["input"]["data"]}})
        wrong["input"]["data"]["medfee_sumamt"] = Decimal("62.50")
        refused = his.send(wrong)
        first = post(dumps(message).encode())
        again = post(dumps(message).encode())

    assert refused["infcode"] == -1
    assert "medfee_sumamt" in refused["err_msg"]
    assert loads(first)["infcode"] == 0, loads(first)["err_msg"]
    assert again == first  # the msgid's stored answer, byte for byte
    assert committer.stats.bills == 3  # all three through the committer
    assert count(pg_engine, t.settlements) == 1
