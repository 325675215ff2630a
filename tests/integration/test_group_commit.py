"""Group commit (service/group_commit.py): bills that arrive together share one
transaction; each is answered as it would have been alone, a refused or failing bill
never fails its neighbours, one person's bills keep their order, idempotency holds, and
`verify` finds the stored years exact. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from integration.conftest import SigningClient
from integration.event_loops import run_apart
from yibao.adapters.db import tables as t
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.domain.model import Kind
from yibao.entrypoints.api.app import create_app
from yibao.service.demo import load_demo
from yibao.service.errors import ServiceError
from yibao.service.group_commit import GroupCommitter
from yibao.service.ports import UnitOfWork as UnitOfWorkPort
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine, SettlementService
from yibao.service.verify import verify

Answer = tuple[int, dict[str, Any]]
PERSONS = 40


class World:
    def __init__(self, engine: Engine, policies: PolicyLoader) -> None:
        load_demo(lambda: UnitOfWork(engine), policies, persons=PERSONS)
        with engine.connect() as conn:
            self.cards = list(
                conn.execute(
                    text("SELECT number FROM cards WHERE status = 'active' ORDER BY number")
                ).scalars()
            )
            self.hospital = str(
                conn.execute(
                    text(
                        "SELECT id FROM institutions WHERE designated AND kind = 'hospital' "
                        "AND region = 'sample-city' ORDER BY id LIMIT 1"
                    )
                ).scalar_one()
            )
            self.code = str(
                conn.execute(
                    text(
                        "SELECT code FROM catalogue_items WHERE region = 'sample-city' "
                        "AND cls = 'A' AND unit_price_fen IS NULL ORDER BY code LIMIT 1"
                    )
                ).scalar_one()
            )
        self.engine = engine
        self.policies = policies

    def bill(self, card: str, day: date, price: str = "80.00") -> Bill:
        line = BillLine(self.code, Decimal("2"), Decimal(price))
        return Bill(self.hospital, card, Kind.OUTPATIENT, day, (line,))


@pytest.fixture
def world(engine: Engine, policies: PolicyLoader) -> World:
    return World(engine, policies)


class Gate:
    """A unit-of-work factory that holds the first batch until the test has queued the
    rest: with one committer thread, everything queued meanwhile goes in the next batch."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.opened = threading.Event()
        self.calls = 0

    def __call__(self) -> UnitOfWork:
        self.calls += 1
        if self.calls == 1:
            assert self.opened.wait(30)
        return UnitOfWork(self.engine)


def together(
    world: World, bills: list[tuple[Bill, str | None]], service: SettlementService | None = None
) -> tuple[GroupCommitter, list[Future[Answer]]]:
    """Settle a first bill alone, and `bills` in one batch behind it."""
    settlements = service or SettlementService(lambda: UnitOfWork(world.engine), world.policies)
    gate = Gate(world.engine)
    committer = GroupCommitter(settlements, gate, threads=1)
    first = committer.submit(world.bill(world.cards[-1], date(2026, 12, 1)))
    while not gate.calls:  # the committer took the first bill and waits at the gate
        threading.Event().wait(0.01)
    futures = [committer.submit(bill, key) for bill, key in bills]
    gate.opened.set()
    assert first.result(timeout=60)[0] == 201
    for future in futures:
        future.exception(timeout=60)  # done, one way or the other
    return committer, futures


def stored(engine: Engine) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(select(t.settlements.c.id)).scalars())


def years_in_order(world: World, year: int) -> int:
    """Checks every person's settlements of `year` numbered 1, 2, ... with none lost and
    none twice, and the year's count of them the same; returns how many there are."""
    with world.engine.connect() as conn:
        seqs = conn.execute(
            text(
                "SELECT person_id, array_agg(seq ORDER BY seq), max(y.settled) "
                "FROM settlements s JOIN person_years y USING (person_id, year) "
                "WHERE s.year = :year GROUP BY person_id"
            ),
            {"year": year},
        ).all()
    for _, numbers, settled in seqs:
        assert numbers == list(range(1, len(numbers) + 1))  # none lost, none twice
        assert settled == len(numbers)
    return sum(len(numbers) for _, numbers, _ in seqs)


def no_problems(world: World) -> None:
    report = verify(lambda: UnitOfWork(world.engine), world.policies)
    assert report.problems == []
    assert report.settlements == len(stored(world.engine))


def test_bills_that_arrive_together_share_one_commit_and_settle_as_alone(world: World) -> None:
    services = Services.build(lambda: UnitOfWork(world.engine), world.policies)
    bills = [
        (world.bill(card, date(2026, 3, 1 + n), f"{60 + 7 * n}.00"), None)
        for n, card in enumerate(world.cards[:12])
    ]
    quotes = [services.settlements.quote(bill) for bill, _ in bills]
    committer, futures = together(world, bills)

    assert committer.stats.batches == 2
    assert committer.stats.largest == 12
    answers = [future.result() for future in futures]
    assert [status for status, _ in answers] == [201] * 12
    for (_, view), quote in zip(answers, quotes, strict=True):
        assert view["seq"] == 1
        assert view["id"] in stored(world.engine)
        same = {k: v for k, v in view.items() if k not in ("id", "seq", "status")}
        assert same == {k: v for k, v in quote.items() if k not in ("id", "seq", "status")}
    assert len(stored(world.engine)) == 13
    no_problems(world)


def test_a_refused_bill_fails_none_of_its_neighbours_and_leaves_nothing(world: World) -> None:
    good = [(world.bill(card, date(2026, 4, 2)), None) for card in world.cards[:3]]
    unknown_card = world.bill("SC0000000000", date(2026, 4, 2))
    not_enrolled = world.bill(world.cards[3], date(2027, 4, 2))  # the year row is rolled back
    nowhere = Bill("NO-SUCH-HOSPITAL", world.cards[4], Kind.OUTPATIENT, date(2026, 4, 2), ())
    bad = [(unknown_card, None), (not_enrolled, None), (nowhere, None)]
    committer, futures = together(world, [good[0], bad[0], good[1], bad[1], bad[2], good[2]])

    assert committer.stats.largest == 6
    outcomes = [f.exception() or f.result()[0] for f in futures]
    assert [o if o == 201 else o.code for o in outcomes] == [  # type: ignore[union-attr]
        201,
        "unknown_card",
        201,
        "not_enrolled",
        "unknown_institution",
        201,
    ]
    assert all(isinstance(o, ServiceError) for o in outcomes if o != 201)
    with world.engine.connect() as conn:
        years = conn.execute(select(func.count()).select_from(t.person_years)).scalar_one()
        assert years == 4  # the first bill's and three good ones: no 2027 year was left
    no_problems(world)


class FailsOnce(SettlementService):
    """A settlement service whose first settlement of one card meets a database error
    after the bill's counter read: the bill's savepoint must undo its part alone."""

    def __init__(self, world: World, card: str) -> None:
        super().__init__(lambda: UnitOfWork(world.engine), world.policies)
        self.card = card
        self.failed = False

    def settle_in(
        self, uow: UnitOfWorkPort, bill: Bill, idempotency_key: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        answer = super().settle_in(uow, bill, idempotency_key)
        if bill.card_number == self.card and not self.failed:
            self.failed = True
            assert isinstance(uow, UnitOfWork)
            uow.connection.exec_driver_sql("SELECT * FROM no_such_table")
        return answer


def test_a_bill_the_database_refuses_is_settled_again_alone(world: World) -> None:
    victim = world.cards[2]
    bills = [(world.bill(card, date(2026, 5, 3)), f"key-{card}") for card in world.cards[:5]]
    committer, futures = together(world, bills, FailsOnce(world, victim))

    assert committer.stats.largest == 5
    assert committer.stats.retried_alone == 1
    answers = [future.result() for future in futures]
    assert [status for status, _ in answers] == [201] * 5
    assert {view["id"] for _, view in answers} <= stored(world.engine)
    assert len(stored(world.engine)) == 6  # once each: the failed attempt left nothing
    no_problems(world)


def test_one_persons_bills_keep_their_order_and_a_retried_key_pays_once(world: World) -> None:
    card, other = world.cards[0], world.cards[1]
    mine = [(world.bill(card, date(2026, 6, day), f"{100 * day}.00"), None) for day in (1, 2, 3)]
    retried = world.bill(other, date(2026, 6, 9))
    reused = world.bill(world.cards[5], date(2026, 6, 9))  # the same key, another bill
    bills = [mine[0], (retried, "k1"), mine[1], (retried, "k1"), mine[2], (reused, "k1")]
    committer, futures = together(world, bills)

    assert committer.stats.batches >= 3  # one person's three bills went one by one
    seqs = [futures[i].result()[1]["seq"] for i in (0, 2, 4)]
    dates = [futures[i].result()[1]["date"] for i in (0, 2, 4)]
    assert seqs == [1, 2, 3]
    assert dates == ["2026-06-01", "2026-06-02", "2026-06-03"]
    first, again = futures[1].result(), futures[3].result()
    assert first == again
    assert first[0] == 201
    assert getattr(futures[5].exception(), "code", None) == "idempotency_key_reused"
    assert len(stored(world.engine)) == 1 + 3 + 1
    no_problems(world)


def test_the_api_answers_a_grouped_settlement_and_its_errors(world: World) -> None:
    services = Services.build(lambda: UnitOfWork(world.engine), world.policies)
    committer = GroupCommitter(services.settlements, lambda: UnitOfWork(world.engine))
    grouped = Services(**{**services.__dict__, "group_commit": committer})
    with SigningClient(create_app(grouped), grouped) as client:
        body = {
            "card_number": world.cards[0],
            "kind": "outpatient",
            "date": "2026-07-01",
            "lines": [{"code": world.code, "quantity": "1", "unit_price": "30.00"}],
        }
        ok = client.post("/v1/settlements", json=body, headers={"X-Institution": world.hospital})
        refused = client.post(
            "/v1/settlements",
            json={**body, "card_number": "SC0000000000"},
            headers={"X-Institution": world.hospital},
        )
    assert ok.status_code == 201
    assert ok.json()["id"] in stored(world.engine)
    assert refused.status_code == 422
    assert refused.json()["code"] == "unknown_card"
    assert committer.stats.bills == 2


def test_a_caller_that_gives_up_neither_cancels_its_bill_nor_stops_the_committer(
    world: World,
) -> None:
    settlements = SettlementService(lambda: UnitOfWork(world.engine), world.policies)
    committer = GroupCommitter(settlements, lambda: UnitOfWork(world.engine), threads=1)

    async def give_up() -> None:  # as the route awaits it, cancelled (a client gone)
        waiting = asyncio.wrap_future(
            committer.submit(world.bill(world.cards[0], date(2026, 8, 1)))
        )
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    run_apart(give_up)
    status, view = committer.submit(world.bill(world.cards[1], date(2026, 8, 1))).result(60)
    assert status == 201
    assert view["id"] in stored(world.engine)
    assert committer.stats.bills == 2  # the abandoned bill was settled all the same
    assert len(stored(world.engine)) == 2
    no_problems(world)
