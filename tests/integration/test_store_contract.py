"""The stores' contract: the in-memory fakes (tests/fakes) and the database's stores
(SQLite, PostgreSQL) answer the same calls the same way, so a use-case test on the
fakes says what the service does on a database. `./test --fast` runs the fake's column."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fakes import FakeDatabase
from integration.conftest import DATABASES, make_test_engine
from yibao.adapters.db.tables import (
    accounts,
    adjustments,
    serious_illness_payments,
    settlement_lines,
)
from yibao.adapters.db.tables_clearing import clearings
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import search_path
from yibao.bootstrap import PolicyLoader
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.catalogue import Entry
from yibao.domain.ids import make_resident_id, parse_resident_id
from yibao.domain.model import Approval, Filing, Kind, LineClass, Scheme
from yibao.domain.money import from_fen
from yibao.domain.registry import (
    Card,
    CardStatus,
    CatalogueItem,
    Enrolment,
    Institution,
    InstitutionKind,
    PersonRecord,
    Referral,
)
from yibao.service.ports.records import BillKeys, DuplicateError
from yibao.service.settlement import Bill, BillLine, SettlementService

Factory = Callable[[], Any]


@pytest.fixture(params=["fake", *DATABASES])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    if request.param == "fake":
        yield FakeDatabase().unit_of_work
        return
    engine = make_test_engine(request.param, request, tmp_path)
    yield lambda: UnitOfWork(engine)
    engine.dispose()


def in_one_unit(stores: Factory, write: Callable[[Any], None]) -> None:
    """`write` in a unit of work, committed."""
    with stores() as uow:
        write(uow)
        uow.commit()


def person(n: int, region: str = "sample-city") -> PersonRecord:
    number = make_resident_id("110101", date(1980, 1, n), n)
    return PersonRecord(
        f"P{n}", number, f"person {n}", date(1980, 1, n), parse_resident_id(number).sex, region
    )


def registry_world(uow: Any) -> None:
    reg = uow.registry
    reg.add_region("sample-city", "样例市", "Sample City", "110101")
    reg.add_institution(
        Institution("H1", "sample-city", "hospital 1", 2, InstitutionKind.HOSPITAL, True)
    )
    reg.add_catalogue_items(
        "sample-city",
        [
            CatalogueItem("A1", "item a", LineClass.A, None),
            CatalogueItem("F1", "fixed", LineClass.B, Decimal("12.50")),
        ],
    )
    reg.add_person(person(1))
    reg.add_person(person(2))
    for year in (2026, 2025):
        reg.add_enrolment(
            Enrolment("P1", year, Scheme.RESIDENT, "active", date(year, 1, 1), date(year, 12, 31))
        )
    reg.add_card(Card("C-NEW", "P1", CardStatus.ORDERED, ordered_on=date(2026, 3, 1)))
    reg.add_card(Card("C-OLD", "P1", CardStatus.ACTIVE, issued_on=date(2025, 1, 1)))


def test_the_registry_gives_back_what_was_registered(stores: Factory) -> None:
    with stores() as uow:
        registry_world(uow)
        uow.commit()
    with stores() as uow:
        reg = uow.registry
        assert reg.institution("H1") == Institution(
            "H1", "sample-city", "hospital 1", 2, InstitutionKind.HOSPITAL, True
        )
        assert reg.institution("H9") is None
        items = reg.catalogue_items("sample-city", ["A1", "F1", "ZZ"])
        assert items["F1"].unit_price == Decimal("12.50")
        assert set(items) == {"A1", "F1"}
        assert reg.catalogue_items("elsewhere", ["A1"]) == {}
        assert reg.person("P1") == person(1)
        assert reg.person_by_id_number(person(2).id_number) == person(2)
        assert reg.person("P9") is None
        assert [e.year for e in reg.enrolments_of("P1")] == [2025, 2026]
        assert reg.enrolment("P1", 2026).scheme is Scheme.RESIDENT
        assert reg.enrolment("P2", 2026) is None
        assert [c.number for c in reg.cards_of("P1")] == ["C-OLD", "C-NEW"]
        card, holder, enrolment = reg.holder("C-OLD", 2026)
        assert (card.number, card.status, holder.id, enrolment.year) == (
            "C-OLD",
            CardStatus.ACTIVE,
            "P1",
            2026,
        )
        assert reg.holder("C-OLD", 2030)[2] is None
        assert reg.holder("NOPE", 2026) is None
        assert reg.persons_by_id_number([person(1).id_number, "x"]) == {
            person(1).id_number: person(1)
        }
        assert reg.enrolled_in(2025, ["P1", "P2"]) == {"P1"}
        assert reg.has_persons("sample-city")
        assert uow.regions.known("sample-city")
        assert not uow.regions.known("elsewhere")
        assert not reg.has_persons("elsewhere")


def test_the_active_cards_of_a_region_by_person(stores: Factory) -> None:
    """What the demo's bills are settled with: active cards only, by person; with a year,
    only of persons whose enrolment for it is active."""
    with stores() as uow:
        registry_world(uow)
        reg = uow.registry
        reg.add_region("elsewhere", "别处", "Elsewhere", "110102")
        reg.add_person(person(3))
        reg.add_person(person(4, region="elsewhere"))
        reg.add_enrolment(
            Enrolment("P3", 2026, Scheme.RESIDENT, "pending", date(2026, 1, 1), date(2026, 12, 31))
        )
        reg.add_cards(
            [
                Card("C-3", "P3", CardStatus.ACTIVE, issued_on=date(2026, 1, 1)),
                Card("C-2", "P2", CardStatus.LOST, issued_on=date(2026, 1, 1)),
                Card("C-4", "P4", CardStatus.ACTIVE, issued_on=date(2026, 1, 1)),
            ]
        )
        uow.commit()
    with stores() as uow:
        reg = uow.registry
        assert reg.active_cards("sample-city") == [("C-OLD", "P1"), ("C-3", "P3")]
        assert reg.active_cards("sample-city", limit=1) == [("C-OLD", "P1")]
        assert reg.active_cards("sample-city", 2026) == [("C-OLD", "P1")]
        assert reg.active_cards("sample-city", 2024) == []
        assert reg.active_cards("elsewhere") == [("C-4", "P4")]


def test_card_status_guardians_and_certificates(stores: Factory) -> None:
    with stores() as uow:
        registry_world(uow)
        reg = uow.registry
        reg.set_card_status("C-OLD", CardStatus.LOST)
        reg.add_guardian("P2", "P1")
        reg.add_guardian("P2", "P1")  # a link already there stays as it is
        reg.add_approval("P1", Approval("diabetes", "H1", date(2026, 1, 1), date(2026, 12, 31)))
        reg.add_filing("P1", Filing("other-town", date(2026, 2, 1), date(2026, 8, 1)))
        reg.add_referral(Referral("P1", "H1", "other-town", date(2026, 3, 1), date(2026, 3, 9)))
        uow.commit()
    with stores() as uow:
        reg = uow.registry
        assert reg.card("C-OLD").status is CardStatus.LOST
        assert reg.children_of("P1") == ["P2"]
        assert reg.guardians_of("P2") == ["P1"]
        assert reg.approvals("P1")[0].disease == "diabetes"
        assert reg.filings("P1") == (Filing("other-town", date(2026, 2, 1), date(2026, 8, 1)),)
        assert reg.referrals("P1")[0].covers("other-town", date(2026, 3, 5))
        assert reg.approvals("P2") == ()
        assert reg.referrals("P2") == ()


def test_nothing_stays_without_commit_and_a_taken_key_is_refused(stores: Factory) -> None:
    with stores() as uow:
        uow.registry.add_region("sample-city", "样例市", "Sample City", "110101")
        uow.registry.add_person(person(1))
    with stores() as uow:
        assert uow.registry.person("P1") is None
        uow.registry.add_region("sample-city", "样例市", "Sample City", "110101")
        uow.registry.add_person(person(1))
        uow.commit()
    with pytest.raises(DuplicateError):
        in_one_unit(stores, lambda uow: uow.registry.add_person(person(1)))
    with stores() as uow:
        assert uow.registry.person("P1") == person(1)


def test_the_ledgers_years_and_answers(stores: Factory) -> None:
    with stores() as uow:
        registry_world(uow)
        acc, settled = uow.ledger.lock_person_year("P1", 2026)
        assert (acc.year, settled) == (2026, 0)
        assert uow.ledger.read_person_year("P2", 2026).year == 2026
        uow.ledger.remember_answer("H1", "k1", "hash", 201, '{"id": 1}')
        uow.commit()
    with stores() as uow:
        assert uow.ledger.idempotent_answer("H1", "k1") == ("hash", 201, '{"id": 1}')
        assert uow.ledger.idempotent_answer("H1", "k2") is None
        assert uow.ledger.settlements_of("P1", 2026) == []
        assert uow.ledger.settlement(1) is None
        assert uow.ledger.ledger_sum(layer="basic") == 0
    with pytest.raises(DuplicateError):
        in_one_unit(stores, lambda uow: uow.ledger.remember_answer("H1", "k1", "x", 201, "{}"))


def test_the_counter_reads_a_bill_and_books_its_settlement(stores: Factory) -> None:
    with stores() as uow:
        registry_world(uow)
        uow.commit()
    keys = BillKeys("H1", 2026, ("A1", "F1"), card_number="C-OLD", caller="H1", key="k")
    with stores() as uow:
        facts = uow.counter.open(keys)
        assert facts.person == person(1)
        assert facts.card.number == "C-OLD"
        assert facts.institution.id == "H1"
        assert facts.enrolment.year == 2026
        assert set(facts.items) == {"A1", "F1"}
        assert (facts.year.year, facts.settled, facts.answer) == (2026, 0, None)
    service = SettlementService(stores, PolicyLoader(search_path([])))
    bill = Bill(
        "H1",
        "C-OLD",
        Kind.OUTPATIENT,
        date(2026, 3, 2),
        (BillLine("A1", Decimal(2), Decimal(150)),),
    )
    status, view = service.settle(bill, "k")
    assert service.settle(bill, "k") == (status, view)  # the answer, kept by the counter
    with stores() as uow:
        assert uow.counter.open(keys, lock=False).answer.status == 201
        (row,) = uow.ledger.settlements_of("P1", 2026)
        assert row == uow.ledger.settlement(view["id"])
        assert (row.seq, row.total_fen, row.institution_id) == (1, 30000, "H1")
        paid = row.basic_fen + row.assistance_fen
        assert uow.ledger.ledger_sum(institution_id="H1") == from_fen(paid)
        assert uow.ledger.read_person_year("P1", 2026) != YearAccumulators(year=2026)
        unknown = uow.counter.open(BillKeys("H1", 2026, (), card_number="NOPE"))
        assert (unknown.person, unknown.card) == (None, None)


def test_the_counter_reads_a_batch_of_bills_as_it_reads_each(stores: Factory) -> None:
    with stores() as uow:
        registry_world(uow)
        uow.commit()
    keys = [
        BillKeys("H1", 2026, ("A1", "F1"), card_number="C-OLD", caller="H1", key="k"),
        BillKeys("H1", 2026, (), card_number="NOPE"),
        BillKeys("NOWHERE", 2027, ("A1",), person_id="P1", day=date(2027, 2, 1)),
    ]
    with stores() as uow:
        each = [uow.counter.open(bill, lock=False) for bill in keys]
    with stores() as uow:
        assert uow.counter.open_many(keys) == each
        assert uow.counter.open(keys[2]) == each[2]  # a bill's open takes what was read
        uow.commit()
    with stores() as uow:  # nothing changed by reading
        assert uow.counter.open(keys[2], lock=False) == each[2]


def test_the_catalogue_in_force_on_a_day(stores: Factory) -> None:
    with stores() as uow:
        registry_world(uow)
        uow.catalogue.add_entries(
            "sample-city",
            [
                Entry("D1", "dated", LineClass.B, date(2026, 1, 1), valid_to=date(2026, 6, 30)),
                Entry("D1", "dated again", LineClass.A, date(2026, 7, 1)),
            ],
        )
        uow.catalogue.add_mapping("H1", "OWN-1", "own", "D1", date(2026, 1, 1), None)
        uow.commit()
    with stores() as uow:
        cat = uow.catalogue
        assert cat.has_region("sample-city")
        assert not cat.has_region("elsewhere")
        assert [e.name for e in cat.entries("sample-city", ["D1"])["D1"]] == [
            "dated",
            "dated again",
        ]
        found = cat.in_force("sample-city", ["D1", "F1", "ZZ"], date(2026, 3, 1))
        assert set(found) == {"D1", "F1"}
        assert found["D1"].name == "dated"
        assert found["F1"].caps[2] == Decimal("12.50")
        assert cat.in_force("sample-city", ["D1"], date(2026, 8, 1))["D1"].name == "dated again"
        assert cat.mapped("H1", ["OWN-1", "OWN-2"], date(2026, 3, 1)) == {"OWN-1": "D1"}
        assert cat.mapped("H1", ["OWN-1"], date(2025, 3, 1)) == {}
        assert [e.name for e in cat.region_entries("sample-city", date(2026, 3, 1))] == ["dated"]


def test_claims_are_kept_updated_and_listed_by_status(stores: Factory) -> None:
    claim = {
        "person_id": "P1",
        "reason": "other",
        "kind": "outpatient",
        "encounter_date": date(2026, 3, 2),
        "hospital_name": "a clinic",
        "hospital_level": 1,
        "hospital_region": "sample-city",
        "hospital_designated": False,
        "lines": "[]",
        "total_fen": 12000,
        "status": "submitted",
        "submitted_at": datetime(2026, 3, 3, tzinfo=UTC),
    }
    with stores() as uow:
        registry_world(uow)
        first = uow.claims.add(claim)
        second = uow.claims.add({**claim, "submitted_at": datetime(2026, 3, 4, tzinfo=UTC)})
        uow.commit()
    with stores() as uow:
        row = uow.claims.get(first)
        assert (row.id, row.status, row.total_fen, row.settlement_id) == (
            first,
            "submitted",
            12000,
            None,
        )
        assert (row.hospital_pilot, row.prescription, row.receipts) == (False, True, "[]")
        uow.claims.update(first, status="rejected", rejection_reason="no receipt")
        uow.commit()
    with stores() as uow:
        assert uow.claims.get(first).rejection_reason == "no receipt"
        assert [r.id for r in uow.claims.by_status("submitted")] == [second]
        assert [r.id for r in uow.claims.by_status(None)] == [first, second]
        assert uow.claims.get(999) is None


def columns(row: Any) -> set[str]:
    """The column names of a row, a database's or a fake's."""
    return set(row._fields) if hasattr(row, "_fields") else set(vars(row))


def settle_two(stores: Factory) -> list[int]:
    """The registry world, and two bills of P1's 2026 settled by card; their ids."""
    in_one_unit(stores, registry_world)
    service = SettlementService(stores, PolicyLoader(search_path([])))
    ids = []
    for day, price in ((2, 150), (9, 80)):
        bill = Bill(
            "H1",
            "C-OLD",
            Kind.OUTPATIENT,
            date(2026, 3, day),
            (BillLine("A1", Decimal(2), Decimal(price)),),
        )
        ids.append(service.settle(bill)[1]["id"])
    return ids


def adjustment(settlement_id: int, reversal_id: int, explanation: str) -> dict[str, Any]:
    parts = ("basic", "assistance", "institution", "personal", "threshold")
    return {
        "settlement_id": settlement_id,
        "reversal_id": reversal_id,
        **{f"{p}_fen": 100 for p in parts},
        **{f"{p}_delta_fen": -5 for p in parts},
        "explanation": explanation,
    }


def test_the_history_of_a_person_year_with_its_reversal_and_adjustments(stores: Factory) -> None:
    first, second = settle_two(stores)
    with stores() as uow:
        uow.registry.add_region("other-town", "别镇", "Other Town", "110102")
        uow.registry.add_person(person(3, "other-town"))
        uow.ledger.lock_person_year("P3", 2026)
        uow.ledger.lock_person_year("P2", 2025)
        uow.commit()
    with stores() as uow:
        h = uow.history
        rows = h.settlements("P1", 2026)
        assert [(r.id, r.seq, r.status) for r in rows] == [
            (first, 1, "settled"),
            (second, 2, "settled"),
        ]
        assert h.settlements("P1", 2025) == []
        lines = h.lines([second, first, 999])
        assert sorted(lines) == [first, second]
        assert [(ln.line_no, ln.code, ln.amount_fen) for ln in lines[first]] == [(1, "A1", 30000)]
        assert columns(lines[first][0]) == {c.name for c in settlement_lines.columns}
        assert (h.lines([]), h.latest_adjustments([]), h.ledger_by_settlement([])) == ({}, {}, {})
        paid = h.ledger_by_settlement([first, second])
        assert {sid for sid, _ in paid} == {first, second}
        for row in rows:
            assert sum(f for (sid, _), f in paid.items() if sid == row.id) == (
                row.basic_fen + row.assistance_fen
            )
        assert h.years() == [2025, 2026]
        assert h.person_years(2026) == ["P1", "P3"]
        assert h.person_years(2026, after="P1") == ["P3"]
        assert h.person_years(2026, limit=1) == ["P1"]
        assert h.person_years(2026, region="other-town") == ["P3"]
        assert (h.count_person_years(2026), h.count_person_years(2026, "sample-city")) == (2, 1)
        reversal = h.add_reversal(first, "the wrong card")
        h.add_adjustment(adjustment(second, reversal, "first"))
        latest = h.add_adjustment(adjustment(second, reversal, "second"))
        uow.commit()
    with stores() as uow:
        assert uow.ledger.settlement(first).status == "reversed"
        assert uow.ledger.settlement(second).status == "settled"
        found = uow.history.latest_adjustments([first, second])
        assert list(found) == [second]
        assert (found[second].id, found[second].explanation) == (latest, "second")
        assert found[second].threshold_delta_fen == -5
        assert columns(found[second]) == {c.name for c in adjustments.columns}
    with pytest.raises(DuplicateError):  # a settlement is reversed once
        in_one_unit(stores, lambda uow: uow.history.add_reversal(first, "again"))


def test_a_yearly_payment_is_put_and_put_again(stores: Factory) -> None:
    paid = {
        "person_id": "P1",
        "year": 2026,
        "region": "sample-city",
        "scheme": "resident",
        "base_fen": 1000,
        "payment_fen": 600,
        "explanation": "[]",
    }
    with stores() as uow:
        registry_world(uow)
        uow.yearly.put(paid)
        uow.commit()
    with stores() as uow:
        row = uow.yearly.get("P1", 2026)
        assert (row.region, row.scheme, row.base_fen, row.payment_fen) == (
            "sample-city",
            "resident",
            1000,
            600,
        )
        assert columns(row) == {c.name for c in serious_illness_payments.columns}
        again = {**paid, "region": "elsewhere", "scheme": "employee", "base_fen": 2000}
        uow.yearly.put({**again, "payment_fen": 1500, "explanation": "[1]"})
        uow.commit()
    with stores() as uow:
        row = uow.yearly.get("P1", 2026)
        assert (row.region, row.scheme, row.base_fen, row.payment_fen, row.explanation) == (
            "sample-city",  # the region is the first put's
            "employee",
            2000,
            1500,
            "[1]",
        )
        assert uow.yearly.get("P1", 2025) is None
        assert uow.yearly.get("P2", 2026) is None


def test_accounts_and_their_tokens(stores: Factory) -> None:
    with stores() as uow:
        registry_world(uow)
        a = uow.accounts
        a.add({"id": "clerk-1", "role": "clerk", "name": "Clerk One", "region": "sample-city"})
        a.add({"id": "p1", "role": "insured", "name": "person 1", "person_id": "P1"})
        a.add({"id": "g1", "role": "guardian", "name": "a guardian", "person_id": "P1"})
        a.add_token("h1", "clerk-1", "laptop", None)
        a.add_token("h2", "clerk-1", "", datetime(2030, 1, 1, tzinfo=UTC))
        a.add_token("h3", "p1", "phone", None)
        uow.commit()
    with stores() as uow:
        a = uow.accounts
        row = a.get("clerk-1")
        assert (row.role, row.name, row.region, row.failed_sign_ins, row.active) == (
            "clerk",
            "Clerk One",
            "sample-city",
            0,
            True,
        )
        assert (row.password_hash, row.locked_until, row.person_id) == (None, None, None)
        assert columns(row) == {c.name for c in accounts.columns}
        assert a.get("nobody") is None
        assert sorted(a.get_many({"clerk-1", "p1", "x"})) == ["clerk-1", "p1"]
        assert a.get_many(set()) == {}
        assert sorted(r.id for r in a.of_person("P1")) == ["g1", "p1"]
        assert [r.id for r in a.list()] == ["clerk-1", "g1", "p1"]
        assert [r.id for r in a.list("insured")] == ["p1"]
        token = a.by_token("h1")
        assert (token.id, token.role, token.expires_at, token.revoked_at) == (
            "clerk-1",
            "clerk",
            None,
            None,
        )
        assert columns(token) == {c.name for c in accounts.columns} | {"expires_at", "revoked_at"}
        assert a.by_token("h2").expires_at is not None
        assert a.by_token("nope") is None
        a.update("clerk-1", failed_sign_ins=2, active=False)
        assert a.revoke_tokens("clerk-1") == 2
        assert a.revoke_tokens("clerk-1") == 0
        a.revoke_token("h3")
        uow.commit()
    with stores() as uow:
        a = uow.accounts
        assert (a.get("clerk-1").failed_sign_ins, a.get("clerk-1").active) == (2, False)
        assert a.by_token("h1").revoked_at is not None
        assert a.by_token("h3").revoked_at is not None
        assert a.get("p1").active
    with pytest.raises(DuplicateError):
        in_one_unit(
            stores, lambda uow: uow.accounts.add({"id": "p1", "role": "clerk", "name": "x"})
        )


def test_the_money_between_regions_and_its_clearing(stores: Factory) -> None:
    first, second = settle_two(stores)
    ours, theirs = "sample-city", "other-town"
    with stores() as uow:
        uow.registry.add_region(theirs, "别镇", "Other Town", "110102")
        uow.registry.add_person(person(4, theirs))
        uow.registry.add_enrolment(
            Enrolment(
                "P4",
                2027,
                Scheme.RESIDENT,
                "active",
                date(2027, 1, 1),
                date(2027, 12, 31),
                personal=Decimal(400),
                subsidy=Decimal(600),
                paid_on=date(2026, 10, 20),
            )
        )
        r = uow.regions
        r.book(first, theirs, ours, "settlement", "2026-03", 1000)  # ours advanced
        r.book(second, ours, theirs, "settlement", "2026-03", 300)  # theirs advanced
        r.book(second, ours, theirs, "reversal", "2026-04", -300)
        uow.commit()
    with stores() as uow:
        r = uow.regions
        assert r.moved(first)
        assert not r.moved(999)
        assert [(b.region, b.counterparty, b.side, b.fen) for b in r.balances()] == [
            (theirs, ours, "payable", 1000),
            (theirs, ours, "receivable", 0),
            (ours, theirs, "payable", 0),
            (ours, theirs, "receivable", 1000),
        ]
        assert r.uncleared_pairs("2026-03") == [(theirs, ours)]
        assert r.uncleared_pairs("2026-05") == []
        assert r.movement_imbalances() == []
        assert r.moved_by_settlement() == {first: 1000, second: 0}
        cleared = r.add_clearing("2026-03", theirs, ours)
        c = r.clearing(cleared)
        assert (c.a_advanced_fen, c.b_advanced_fen, c.entries, c.status) == (300, 1000, 2, "stated")
        assert columns(c) == {col.name for col in clearings.columns}
        assert r.clearing_of("2026-03", theirs, ours).id == cleared
        assert r.clearing_of("2026-04", theirs, ours) is None
        assert [x.id for x in r.clearings()] == [cleared]
        assert [x.id for x in r.clearings(region=ours)] == [cleared]
        assert (r.clearings(month="2026-04"), r.clearings(region="elsewhere")) == ([], [])
        assert r.uncleared_pairs("2026-03") == []
        assert r.uncleared_in_cleared_months() == []
        assert r.clearing_holdings() == {(cleared, theirs): 300, (cleared, ours): 1000}
        lines = r.statement_lines([cleared])
        assert [(x.treated, x.insured, x.settlement_id, x.amount_fen) for x in lines] == [
            (theirs, ours, second, 300),
            (ours, theirs, first, 1000),
        ]
        assert (lines[1].person_id, lines[1].institution_name, lines[1].entry) == (
            "P1",
            "hospital 1",
            "settlement",
        )
        r.book(first, theirs, ours, "adjustment", "2026-03", 50)  # after the clearing
        late = {
            (x.settlement_id, x.entry, x.month, x.region) for x in r.uncleared_in_cleared_months()
        }
        assert late == {
            (first, "adjustment", "2026-03", ours),
            (first, "adjustment", "2026-03", theirs),
        }
        assert r.move_late("2026-03", theirs, ours, "2026-05") == 2
        assert r.uncleared_pairs("2026-05") == [(theirs, ours)]
        r.set_clearing(cleared, status="confirmed", confirmed_by="clerk")
        assert r.lock_clearing(cleared).status == "confirmed"
        r.close(cleared, "2026-06")
        uow.commit()
    with stores() as uow:
        r = uow.regions
        assert r.book_sums() == {
            (ours, theirs, "receivable"): 50,
            (theirs, ours, "payable"): 50,
            (theirs, ours, "receivable"): -300,
            (ours, theirs, "payable"): -300,
        }
        paid = sum(x.basic_fen + x.assistance_fen for x in uow.ledger.settlements_of("P1", 2026))
        assert r.premiums_by_region() == {theirs: 100000}
        assert (r.borne_by_region(), r.paid_by_region()) == ({ours: paid}, {ours: paid})
        assert r.owed_elsewhere() == {}
        assert r.region_codes() == [theirs, ours]
        assert [x.code for x in r.all()] == [theirs, ours]
    with pytest.raises(DuplicateError):  # one clearing a month and pair
        in_one_unit(stores, lambda uow: uow.regions.add_clearing("2026-03", theirs, ours))
