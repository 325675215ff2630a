"""A group commit's card bills read in one statement and written in one (settle_batch,
adapters/db/counter_pg_batch.py): a batch of 32 conserves to the fen, a card and a voucher
of one person settle one after the other, a write the database refuses (a year inserted
meanwhile, a key taken meanwhile) rolls the batch back and its bills settle as before,
and many clients settling few persons at once leave every year exact."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine

from integration.test_group_commit import World, no_problems, stored, together, years_in_order
from integration.test_group_rows import KeyTakenMeanwhile
from yibao.adapters.db import tables as t
from yibao.adapters.db.ledger_repo import year_state
from yibao.adapters.db.tables_clearing import clearings, region_ledger
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.model import Kind
from yibao.service.group_commit import GroupCommitter
from yibao.service.ports import UnitOfWork as UnitOfWorkPort
from yibao.service.ports import now
from yibao.service.settlement import (
    Answer,
    BatchRefusedError,
    Bill,
    BillLine,
    SettlementService,
)


@pytest.fixture
def world(engine: Engine, policies: PolicyLoader) -> World:
    return World(engine, policies)


class Watched(SettlementService):
    """Counts the batches settled together and those the database refused."""

    def __init__(self, world: World) -> None:
        super().__init__(lambda: UnitOfWork(world.engine), world.policies)
        self.together = 0
        self.refused: list[BatchRefusedError] = []

    def settle_batch(
        self, uow: UnitOfWorkPort, bills: Any, *more: Any
    ) -> list[Answer | Exception | None]:
        try:
            answers = super().settle_batch(uow, bills, *more)
        except BatchRefusedError as exc:
            self.refused.append(exc)
            raise
        self.together += 1
        return list(answers)


def person_of(world: World, card: str) -> str:
    with world.engine.connect() as conn:
        return str(
            conn.execute(select(t.cards.c.person_id).where(t.cards.c.number == card)).scalar_one()
        )


def test_a_batch_of_32_is_settled_together_and_conserves_to_the_fen(world: World) -> None:
    watched = Watched(world)
    bills = [
        (world.bill(card, date(2026, 2, 1 + n % 27), f"{35 + 13 * n}.{n % 100:02d}"), f"c{n}")
        for n, card in enumerate(world.cards[:32])
    ]
    committer, futures = together(world, bills, watched)

    assert committer.stats.largest == 32
    assert watched.together == 2  # the first bill's batch and the 32
    assert watched.refused == []
    assert [f.result()[0] for f in futures] == [201] * 32
    with world.engine.connect() as conn:
        unbalanced = conn.execute(
            text(
                "SELECT s.id FROM settlements s LEFT JOIN (SELECT settlement_id, "
                "sum(amount_fen) AS fen FROM fund_ledger GROUP BY settlement_id) f "
                "ON f.settlement_id = s.id WHERE s.total_fen <> s.basic_fen + "
                "s.assistance_fen + s.institution_fen + s.personal_fen "
                "OR coalesce(f.fen, 0) <> s.basic_fen + s.assistance_fen"
            )
        ).all()
        lines = conn.execute(text("SELECT count(*) FROM settlement_lines")).scalar_one()
        keys = conn.execute(text("SELECT count(*) FROM idempotency_keys")).scalar_one()
    assert unbalanced == []
    assert lines == keys + 1 == 33  # one line a bill, one answer a keyed bill, each once
    no_problems(world)


def test_a_card_and_a_voucher_of_one_person_settle_one_after_the_other(world: World) -> None:
    card = world.cards[0]
    by_card = world.bill(card, date(2026, 3, 1), "50.00")
    by_voucher = Bill(
        world.hospital,
        None,
        Kind.OUTPATIENT,
        date(2026, 3, 2),
        world.bill(card, date(2026, 3, 2), "70.00").lines,
        person_id=person_of(world, card),
    )
    other = world.bill(world.cards[1], date(2026, 3, 1))
    committer, futures = together(world, [(by_card, None), (by_voucher, None), (other, None)])

    assert committer.stats.largest == 3
    assert committer.stats.retried_alone == 1  # the voucher, behind the card's bill
    assert [f.result()[1]["seq"] for f in futures] == [1, 2, 1]
    no_problems(world)


class YearMadeMeanwhile(Watched):
    """Another transaction stores the year of one person just before the batch's write,
    as a first settlement of that year elsewhere would."""

    def __init__(self, world: World, card: str, year: int) -> None:
        super().__init__(world)
        self.engine = world.engine
        self.card, self.person, self.year = card, person_of(world, card), year

    def settle_batch(
        self, uow: UnitOfWorkPort, bills: Any, *more: Any
    ) -> list[Answer | Exception | None]:
        if self.person and any(bill.card_number == self.card for bill, _ in bills):
            flush = uow.counter.flush

            def made_then_written() -> None:
                if not self.person:  # the commit's flush: nothing more waits
                    flush()
                    return
                with self.engine.begin() as other:
                    other.execute(
                        insert(t.person_years).values(
                            person_id=self.person,
                            year=self.year,
                            state=year_state(YearAccumulators(year=self.year)),
                            settled=0,
                        )
                    )
                self.person = ""  # once
                flush()

            setattr(uow.counter, "flush", made_then_written)  # noqa: B010
        return super().settle_batch(uow, bills, *more)


def test_a_year_made_meanwhile_refuses_the_batch_and_its_bills_settle_as_before(
    world: World,
) -> None:
    if world.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's one writer cannot be overtaken between a read and a write")
    victim = world.cards[3]
    service = YearMadeMeanwhile(world, victim, 2026)
    bills = [(world.bill(card, date(2026, 4, 1)), f"y-{card}") for card in world.cards[:6]]
    committer, futures = together(world, bills, service)

    assert len(service.refused) == 1
    assert service.refused[0].culprits == ()  # no bill to blame: all as before
    assert committer.stats.largest == 6
    assert [f.result()[1]["seq"] for f in futures] == [1] * 6
    assert {f.result()[1]["id"] for f in futures} <= stored(world.engine)
    assert len(stored(world.engine)) == 1 + 6
    no_problems(world)


def test_a_batch_refused_without_a_culprit_settles_again_as_one_batch(world: World) -> None:
    # Job by job, the refused batch's one transaction would lock its years by card, not
    # in the batch read's order, and deadlock with other processes' batches.
    if world.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's one writer cannot be overtaken between a read and a write")
    victim = world.cards[2]
    service = YearMadeMeanwhile(world, victim, 2026)
    bills = [(world.bill(card, date(2026, 4, 2)), f"w-{card}") for card in world.cards[:5]]
    committer, futures = together(world, bills, service)

    assert len(service.refused) == 1
    assert committer.stats.retried_whole == 1
    assert service.together == 2  # the first bill's batch, then the five again, together
    assert committer.stats.retried_alone == 0
    assert [f.result()[1]["seq"] for f in futures] == [1] * 5
    assert len(stored(world.engine)) == 1 + 5
    no_problems(world)


class KeyTakenBeforeTheWrite(KeyTakenMeanwhile):
    """Another request takes one bill's key, and commits, just before the batch's one
    write of all its bills."""

    def settle_batch(
        self, uow: UnitOfWorkPort, bills: Any, *more: Any
    ) -> list[Answer | Exception | None]:
        for bill, key in bills:
            if key == self.key:
                self.key = ""
                flush = uow.counter.flush

                def taken_then_written(
                    bill: Bill = bill, key: str = key, flush: Any = flush
                ) -> None:
                    if key:  # once: the commit's flush finds nothing more
                        self.take(bill.institution_id, key)
                        key = ""
                    flush()

                setattr(uow.counter, "flush", taken_then_written)  # noqa: B010
        return list(super().settle_batch(uow, bills, *more))


def test_a_key_taken_before_the_batchs_write_names_its_bill_which_settles_alone(
    world: World,
) -> None:
    if world.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes each answer when it is made: nothing waits for the commit")
    victim = f"t-{world.cards[1]}"
    bills = [(world.bill(card, date(2026, 5, 3)), f"t-{card}") for card in world.cards[:4]]
    committer, futures = together(world, bills, KeyTakenBeforeTheWrite(world, victim))

    assert committer.stats.retried_alone == 1
    outcomes = [f.exception() or f.result()[0] for f in futures]
    assert getattr(outcomes[1], "code", None) == "idempotency_key_reused"  # the other's
    assert [outcomes[n] for n in (0, 2, 3)] == [201, 201, 201]
    assert len(stored(world.engine)) == 1 + 3
    no_problems(world)


def test_many_clients_settling_few_persons_at_once_leave_every_year_exact(
    world: World,
) -> None:
    if world.engine.dialect.name != "postgresql":
        pytest.skip("two committers at once need PostgreSQL's row locks")
    watched = Watched(world)
    committer = GroupCommitter(watched, lambda: UnitOfWork(world.engine), threads=2)
    cards = world.cards[:6]
    errors: list[BaseException] = []

    def client(n: int) -> None:
        for i in range(12):
            card = cards[(n + i) % len(cards)]
            price = f"{20 + 3 * n + i}.{(7 * i) % 100:02d}"
            bill = world.bill(card, date(2026, 1 + i % 12, 1 + n), price)
            try:
                committer.settle(bill, f"m-{n}-{i}" if i % 2 else None)
            except BaseException as exc:  # reported below
                errors.append(exc)

    clients = [threading.Thread(target=client, args=(n,)) for n in range(12)]
    for c in clients:
        c.start()
    for c in clients:
        c.join(120)

    assert errors == []
    assert watched.together >= 1
    assert committer.stats.batches < committer.stats.bills == 12 * 12
    assert years_in_order(world, 2026) == 12 * 12
    no_problems(world)


def test_a_bill_elsewhere_in_a_batch_settles_as_alone_and_books_between_regions(
    world: World,
) -> None:
    with world.engine.connect() as conn:
        elsewhere = str(
            conn.execute(
                text(
                    "SELECT id FROM institutions WHERE designated AND kind = 'hospital' "
                    "AND region = 'hill-county' ORDER BY id LIMIT 1"
                )
            ).scalar_one()
        )
        code = str(
            conn.execute(
                text(
                    "SELECT code FROM catalogue_items WHERE region = 'hill-county' "
                    "AND cls = 'A' AND unit_price_fen IS NULL ORDER BY code LIMIT 1"
                )
            ).scalar_one()
        )
    mine = [card for card in world.cards if card.startswith("SC")]  # sample-city's insured
    home = world.bill(mine[0], date(2026, 9, 1))
    line = BillLine(code, Decimal("2"), Decimal("80.00"))
    away = Bill(elsewhere, mine[1], Kind.OUTPATIENT, date(2026, 9, 1), (line,))
    watched = Watched(world)
    committer, futures = together(world, [(home, None), (away, "away")], watched)
    services = SettlementService(lambda: UnitOfWork(world.engine), world.policies)
    _, alone = services.settle(replace(away, card_number=mine[2]), "alone")

    assert committer.stats.largest == 2
    assert watched.together == 2
    status, view = futures[1].result()
    assert status == 201
    own = ("id", "seq", "status", "person_id", "name")
    assert {k: v for k, v in view.items() if k not in own} == {
        k: v for k, v in alone.items() if k not in own
    }
    with world.engine.connect() as conn:
        moved = [
            conn.execute(
                text(
                    "SELECT count(*), coalesce(sum(abs(amount_fen)), 0) FROM region_ledger "
                    "WHERE settlement_id = :s"
                ),
                {"s": s},
            ).one()
            for s in (view["id"], alone["id"])
        ]
    assert moved[0] == moved[1]
    assert moved[0][0] > 0  # the fund's part advanced here for the insured place
    no_problems(world)


def test_a_bill_under_a_filing_elsewhere_in_a_batch_answers_as_its_quote(world: World) -> None:
    """The batch read brings a bill elsewhere its person's filings and referrals and the
    place's catalogue (what the service would read for it): the answer is the same."""
    with world.engine.connect() as conn:
        card, place = conn.execute(
            text(
                "SELECT c.number, i.id FROM filings f JOIN persons p ON p.id = f.person_id "
                "JOIN cards c ON c.person_id = f.person_id AND c.status = 'active' "
                "JOIN institutions i ON i.region = f.region AND i.designated "
                "AND i.kind = 'hospital' WHERE f.region <> p.region "
                "AND f.valid_from <= '2026-10-01' AND f.valid_to >= '2026-10-01' "
                "ORDER BY c.number, i.id LIMIT 1"
            )
        ).one()
        code = str(
            conn.execute(
                text(
                    "SELECT ci.code FROM catalogue_items ci JOIN institutions i "
                    "ON i.region = ci.region WHERE i.id = :i AND ci.cls = 'B' "
                    "AND ci.unit_price_fen IS NULL ORDER BY ci.code LIMIT 1"
                ),
                {"i": place},
            ).scalar_one()
        )
    lines = (BillLine(code, Decimal("3"), Decimal("45.50")),)
    filed = Bill(place, card, Kind.OUTPATIENT, date(2026, 10, 1), lines)
    quote = SettlementService(lambda: UnitOfWork(world.engine), world.policies).quote(filed)
    others = [(world.bill(c, date(2026, 10, 1)), None) for c in world.cards[:3] if c != card]
    watched = Watched(world)
    _, futures = together(world, [*others, (filed, "filed")], watched)

    assert watched.together == 2
    status, view = futures[-1].result()
    assert status == 201
    own = ("id", "seq", "status")
    assert {k: v for k, v in view.items() if k not in own} == {
        k: v for k, v in quote.items() if k not in own
    }
    no_problems(world)


def test_a_bill_elsewhere_in_a_month_cleared_already_books_its_movement_now(
    world: World,
) -> None:
    with world.engine.begin() as conn:
        elsewhere, code = conn.execute(
            text(
                "SELECT i.id, ci.code FROM institutions i JOIN catalogue_items ci "
                "ON ci.region = i.region WHERE i.designated AND i.kind = 'hospital' "
                "AND i.region = 'hill-county' AND ci.cls = 'A' AND ci.unit_price_fen IS NULL "
                "ORDER BY i.id, ci.code LIMIT 1"
            )
        ).one()
        a, b = sorted(("sample-city", "hill-county"))
        conn.execute(
            insert(clearings).values(
                month="2026-08",
                region_a=a,
                region_b=b,
                a_advanced_fen=0,
                b_advanced_fen=0,
                entries=0,
                status="stated",
                created_at=now(),
            )
        )
    mine = [card for card in world.cards if card.startswith("SC")]
    line = BillLine(code, Decimal("2"), Decimal("80.00"))
    late = Bill(elsewhere, mine[1], Kind.OUTPATIENT, date(2026, 8, 30), (line,))
    on_time = Bill(elsewhere, mine[2], Kind.OUTPATIENT, date(2026, 9, 30), (line,))
    watched = Watched(world)
    _, futures = together(world, [(late, "late"), (on_time, "on time")], watched)

    assert watched.together == 2
    months = []
    with world.engine.connect() as conn:
        for future in futures:
            sid = future.result()[1]["id"]
            months.append(
                set(
                    conn.execute(
                        select(region_ledger.c.month).where(region_ledger.c.settlement_id == sid)
                    ).scalars()
                )
            )
    today = SettlementService(lambda: UnitOfWork(world.engine), world.policies).clock()
    assert months == [{f"{today:%Y-%m}"}, {"2026-09"}]  # August is cleared: booked now
    no_problems(world)
