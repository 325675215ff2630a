"""A group commit's bills settled together (SettlementService.settle_batch), on the
in-memory stores: each bill answers what it answers alone, a bill the rules refuse writes
nothing and fails none of its neighbours, a bill behind another of the batch (its
person-year, its key) is left to settle alone, and a bill's own error names it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from fakes import FakeDatabase
from fast.stores import policies
from yibao.domain.model import Kind
from yibao.domain.registry import CardStatus
from yibao.service.demo import load_demo
from yibao.service.errors import ServiceError
from yibao.service.ports import UnitOfWork
from yibao.service.settlement import BatchRefusedError, Bill, BillLine, SettlementService

_LOADED: list[FakeDatabase] = []


def _demo() -> FakeDatabase:
    """A fresh database holding the demo (loaded once, copied for each test)."""
    if not _LOADED:
        _LOADED.append(FakeDatabase())
        load_demo(_LOADED[0].unit_of_work, policies(), persons=30)
    db = FakeDatabase()
    db.tables = _LOADED[0].tables.copy()
    return db


class World:
    def __init__(self) -> None:
        self.db = _demo()
        t = self.db.tables
        self.cards = sorted(c.number for c in t.cards.values() if c.status is CardStatus.ACTIVE)
        self.hospital = min(
            i.id
            for i in t.institutions.values()
            if i.designated and i.kind.value == "hospital" and i.region == "sample-city"
        )
        self.code = min(
            code
            for (region, code), item in t.catalogue_items.items()
            if region == "sample-city" and item.cls.value == "A" and item.unit_price is None
        )
        self.service = SettlementService(self.db.unit_of_work, policies())

    def bill(self, card: str, day: date, price: str = "80.00") -> Bill:
        line = BillLine(self.code, Decimal("2"), Decimal(price))
        return Bill(self.hospital, card, Kind.OUTPATIENT, day, (line,))

    def person(self, card: str) -> str:
        return self.db.tables.cards[card].person_id

    def batch(self, bills: list[tuple[Bill, str | None]]) -> list[Any]:
        with self.db.unit_of_work() as uow:
            answers = self.service.settle_batch(uow, bills)
            uow.commit()
        return answers


def test_each_bill_of_a_batch_answers_as_alone_and_a_refused_one_writes_nothing() -> None:
    world = World()
    good = [
        world.bill(card, date(2026, 3, 1 + n), f"{60 + 7 * n}.00")
        for n, card in enumerate(world.cards[:4])
    ]
    quotes = [world.service.quote(bill) for bill in good]
    not_enrolled = world.bill(world.cards[4], date(2027, 3, 1))
    unknown = world.bill("SC0000000000", date(2026, 3, 1))
    bills = [good[0], unknown, good[1], not_enrolled, good[2], good[3]]
    years = len(world.db.tables.person_years)

    answers = world.batch([(bill, f"k{n}") for n, bill in enumerate(bills)])

    assert [getattr(a, "code", None) for a in answers] == [
        None,
        "unknown_card",
        None,
        "not_enrolled",
        None,
        None,
    ]
    views = [answers[n] for n in (0, 2, 4, 5)]
    for (status, view), quote in zip(views, quotes, strict=True):
        assert status == 201
        assert view["seq"] == 1
        same = {k: v for k, v in view.items() if k not in ("id", "seq", "status")}
        assert same == {k: v for k, v in quote.items() if k not in ("id", "seq", "status")}
    t = world.db.tables
    assert {s.id for s in t.settlements.values()} == {v["id"] for _, v in views}
    assert len(t.person_years) == years + 4  # none for the bill not enrolled in 2027
    assert (world.person(world.cards[4]), 2027) not in t.person_years


def test_bills_behind_another_of_the_batch_are_left_to_settle_alone() -> None:
    world = World()
    card, other = world.cards[0], world.cards[1]
    voucher = Bill(
        world.hospital,
        None,
        Kind.OUTPATIENT,
        date(2026, 5, 2),
        world.bill(card, date(2026, 5, 2)).lines,
        person_id=world.person(card),
    )
    bills: list[tuple[Bill, str | None]] = [
        (world.bill(card, date(2026, 5, 1)), "a"),
        (voucher, None),  # the same person-year by a voucher
        (world.bill(other, date(2026, 5, 1)), "a"),  # the same key, another bill
        (world.bill(world.cards[2], date(2026, 5, 1)), "b"),
    ]
    answers = world.batch(bills)

    assert [a is None for a in answers] == [False, True, True, False]
    assert len(world.db.tables.settlements) == 2
    # Alone, after the batch, each answers as it would behind the first.
    status, view = world.service.settle(voucher)
    assert (status, view["seq"]) == (201, 2)
    with pytest.raises(ServiceError) as reused:
        world.service.settle(bills[2][0], "a")
    assert reused.value.code == "idempotency_key_reused"


class FailsOn(SettlementService):
    """A settlement service whose bill of one card fails after it booked, not by a rule."""

    def __init__(self, world: World, card: str) -> None:
        super().__init__(world.db.unit_of_work, policies())
        self.card = card

    def settle_in(
        self, uow: UnitOfWork, bill: Bill, idempotency_key: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        answer = super().settle_in(uow, bill, idempotency_key)
        if bill.card_number == self.card:
            raise RuntimeError("the connection broke")
        return answer


def test_a_bills_own_error_names_it_and_the_batch_is_not_committed() -> None:
    world = World()
    service = FailsOn(world, world.cards[2])
    bills: list[tuple[Bill, str | None]] = [
        (world.bill(card, date(2026, 6, 1)), None) for card in world.cards[:4]
    ]
    with world.db.unit_of_work() as uow, pytest.raises(BatchRefusedError) as refused:
        service.settle_batch(uow, bills)
    assert refused.value.culprits == (2,)
    assert isinstance(refused.value.__cause__, RuntimeError)
    assert world.db.tables.settlements == {}
