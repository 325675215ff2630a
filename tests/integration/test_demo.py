"""The demo loader: a region filled so that trying the system shows something real, the
same for the same seed, refused the second time. On SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Engine

from yibao.adapters.db import tables as t
from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.domain.ids import parse_resident_id
from yibao.domain.model import Kind
from yibao.entrypoints.api.app import create_app
from yibao.service.demo import DEMO_PASSWORD, DemoSummary, catalogue, load_demo
from yibao.service.errors import ServiceError
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine

PERSONS = 300
YEAR = 2026


def _load(engine: Engine, policies: PolicyLoader, **kwargs: Any) -> DemoSummary:
    return load_demo(lambda: UnitOfWork(engine), policies, persons=PERSONS, **kwargs)


def _age(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def test_demo_fills_a_region(engine: Engine, policies: PolicyLoader) -> None:
    calls: list[tuple[int, int]] = []
    summary = _load(engine, policies, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (PERSONS, PERSONS)
    assert [done for done, _ in calls] == sorted({done for done, _ in calls})

    jan1, dec31 = date(YEAR, 1, 1), date(YEAR, 12, 31)
    with engine.connect() as conn:

        def rows(table: Table) -> list[Any]:
            return list(conn.execute(select(table)))

        def count(table: Table) -> int:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

        region = conn.execute(select(t.regions).where(t.regions.c.code == "sample-city")).one()
        assert (region.name_zh, region.admdvs) == ("样本市", "990100")

        # Institutions: about 25 in the region, 6 in hill-county, 3 designated hospitals in
        # other-city.
        places = rows(t.institutions)
        assert len(places) == summary.institutions
        local = [i for i in places if i.region == "sample-city"]
        other = [i for i in places if i.region == "other-city"]
        assert 22 <= len(local) <= 28
        assert len(other) == 3
        assert all(i.designated and i.kind == "hospital" for i in other)
        assert sum(1 for i in local if i.level == 3 and i.pilot) >= 2
        assert {i.level for i in local if i.kind == "hospital"} == {1, 2, 3}
        assert {i.kind for i in local} == {"hospital", "clinic", "pharmacy"}
        assert sum(1 for i in local if not i.designated) == 2
        assert all(i.level in (0, 1) for i in local if i.kind == "clinic")

        # The catalogue: a few hundred items of every class, fixed prices on the services.
        items = [i for i in rows(t.catalogue_items) if i.region == "sample-city"]
        assert len(items) == summary.catalogue_items >= 300
        assert {i.cls for i in items} == {"A", "B", "self_pay"}
        services = [i for i in items if i.code.startswith("00")]
        drugs = [i for i in items if i.code[0] in "XZ"]
        assert len(services) + len(drugs) == len(items)
        assert all(len(i.code) == 15 and i.unit_price_fen for i in services)
        assert sum(1 for i in drugs if i.unit_price_fen is None) > len(drugs) * 3 // 4
        names = {i.name for i in items}
        assert {"血常规", "普通病房床位费(三人间)"} <= names
        assert any(n.startswith("阿莫西林胶囊") for n in names)

        # Persons: valid ID numbers matching birth date and sex, a realistic mix.
        persons = {p.id: p for p in rows(t.persons) if p.region == "sample-city"}
        assert len(persons) == summary.persons == PERSONS
        for p in persons.values():
            rid = parse_resident_id(p.id_number)
            assert rid.address_code == "990100"
            assert rid.birth_date == p.birth_date
            assert rid.sex == p.sex
            assert p.region == "sample-city"
            assert p.name
            assert p.phone
        assert len({p.id_number for p in persons.values()}) == PERSONS

        enrolments = {e.person_id: e for e in rows(t.enrolments) if e.person_id in persons}
        assert enrolments.keys() == persons.keys()
        for e in enrolments.values():
            assert (e.year, e.status, e.valid_from, e.valid_to) == (YEAR, "active", jan1, dec31)
        schemes = Counter(e.scheme for e in enrolments.values())
        assert schemes == {"student": 90, "resident": 90, "employee": 120}
        assert summary.children == schemes["student"]
        students = [persons[i] for i, e in enrolments.items() if e.scheme == "student"]
        assert all(2009 <= p.birth_date.year <= 2024 for p in students)
        adults = [p for p in persons.values() if enrolments[p.id].scheme != "student"]
        assert all(_age(p.birth_date, jan1) >= 18 for p in adults)
        employees = [p for p in adults if enrolments[p.id].scheme == "employee"]
        retirees = [p for p in employees if p.retired]
        assert retirees
        assert any(p.contribution_years < 20 for p in retirees)
        assert all(p.contribution_years is not None for p in employees)
        assert not any(p.retired for p in adults if enrolments[p.id].scheme == "resident")
        assistance = sum(1 for p in persons.values() if p.assistance)
        assert assistance == summary.assistance
        assert 0.03 * PERSONS <= assistance <= 0.08 * PERSONS

        # Every child has a guardian, an adult.
        guardians = [g for g in rows(t.guardians) if g.child_id in persons]
        assert len(guardians) == summary.guardians == len(students)
        guarded = {g.child_id: g.guardian_id for g in guardians}
        assert guarded.keys() == {p.id for p in students}
        for child_id, guardian_id in guarded.items():
            assert enrolments[guardian_id].scheme != "student"
            assert persons[guardian_id].birth_date < persons[child_id].birth_date

        # A card for everyone, about 1% reported lost.
        cards = [c for c in rows(t.cards) if c.person_id in persons]
        assert len(cards) == summary.cards == PERSONS
        assert {c.person_id for c in cards} == persons.keys()
        assert all(c.number.startswith("SC") and len(c.number) == 12 for c in cards)
        assert all(c.number[2:].isdigit() for c in cards)
        statuses = Counter(c.status for c in cards)
        assert statuses == {"active": PERSONS - summary.lost_cards, "lost": summary.lost_cards}
        assert 1 <= summary.lost_cards <= 6

        # Special diseases approved at level-3 hospitals of the region; filings elsewhere.
        level = {i.id: (i.level, i.region) for i in places}
        approvals = [a for a in rows(t.approvals) if a.person_id in persons]
        assert len(approvals) == summary.approvals >= 2
        for a in approvals:
            assert level[a.hospital_id] == (3, "sample-city")
            assert a.disease in {"dialysis", "malignant_tumor", "kidney_transplant"}
            assert enrolments[a.person_id].scheme in {"resident", "employee"}
            assert a.valid_from <= jan1
            assert a.valid_to >= dec31
        filings = [f for f in rows(t.filings) if f.person_id in persons]
        assert len(filings) == summary.filings >= 1
        assert all(f.region == "other-city" for f in filings)

    # The samples for the README exist, with the cards they name.
    card_of = {c.person_id: c for c in cards}
    for sample in (summary.child, summary.employee, summary.approved):
        assert sample is not None
        assert card_of[sample.person_id].number == sample.card_number
        assert card_of[sample.person_id].status == "active"
    assert summary.child is not None
    assert summary.child.scheme == "student"
    assert _age(persons[summary.child.person_id].birth_date, jan1) <= 14
    assert summary.employee is not None
    assert summary.employee.scheme == "employee"
    assert summary.approved is not None
    assert summary.approved.scheme == "resident"
    assert summary.approved.person_id in {a.person_id for a in approvals}

    # Running it again is a clear error, and writes nothing.
    with pytest.raises(ServiceError) as refused:
        _load(engine, policies)
    assert refused.value.code == "demo_exists"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.persons)).scalar_one() == (
            PERSONS + PERSONS // 10
        )


def test_a_demo_whose_rows_are_taken_is_refused_whole(
    engine: Engine, policies: PolicyLoader
) -> None:
    """Another region's demo after the first: its institutions' ids are the first's, the
    store refuses them (DuplicateError from the adapter) and the load is a clear conflict
    that writes nothing, not a database error."""
    _load(engine, policies)
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(t.institutions)).scalar_one()
    with pytest.raises(ServiceError) as refused:
        _load(engine, policies, region="river-county")
    assert refused.value.code == "demo_conflict"
    assert "already in the database" in str(refused.value)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.institutions)).scalar_one() == (
            before
        )
        assert conn.execute(select(t.regions).where(t.regions.c.code == "river-county")).all() == []
        assert not conn.execute(
            select(t.persons.c.id).where(t.persons.c.region == "river-county")
        ).all()


def test_demo_persons_can_settle(engine: Engine, policies: PolicyLoader) -> None:
    """The demo is usable: a child's outpatient bill and an approved special disease settle."""
    summary = _load(engine, policies)
    services = Services.build(lambda: UnitOfWork(engine), policies)
    codes = {i.name: i for i in catalogue()}
    blood = codes["血常规"]
    amoxicillin = codes["阿莫西林胶囊(0.25g×24粒)"]
    assert blood.unit_price is not None
    assert amoxicillin.unit_price is not None
    assert summary.child is not None
    assert summary.approved is not None
    day = date(YEAR, 3, 2)
    status, view = services.settlements.settle(
        Bill(
            "C1-001",
            summary.child.card_number,
            Kind.OUTPATIENT,
            day,
            (
                BillLine(blood.code, Decimal(1), blood.unit_price),
                BillLine(amoxicillin.code, Decimal(2), amoxicillin.unit_price),
            ),
        )
    )
    assert status == 201
    assert view["refused"] is None
    assert Decimal(view["basic"]) > 0

    with engine.connect() as conn:
        approval = conn.execute(
            select(t.approvals).where(t.approvals.c.person_id == summary.approved.person_id)
        ).one()
    dialysis = codes["血液透析"]
    assert dialysis.unit_price is not None
    quote = services.settlements.quote(
        Bill(
            approval.hospital_id,
            summary.approved.card_number,
            Kind.SPECIAL_OUTPATIENT,
            day,
            (BillLine(dialysis.code, Decimal(12), dialysis.unit_price),),
            disease=approval.disease,
        )
    )
    assert quote["refused"] is None
    assert Decimal(quote["basic"]) > 0


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every demo table, without surrogate keys or the moment a row was written (the
    registry stamps an enrolment's created_at), in a stable order."""
    keyed: dict[str, tuple[Table, Any]] = {
        "persons": (t.persons, t.persons.c.id),
        "guardians": (t.guardians, t.guardians.c.child_id),
        "enrolments": (t.enrolments, t.enrolments.c.person_id),
        "cards": (t.cards, t.cards.c.number),
        "approvals": (t.approvals, t.approvals.c.person_id),
        "filings": (t.filings, t.filings.c.person_id),
        "institutions": (t.institutions, t.institutions.c.id),
        "catalogue": (t.catalogue_items, t.catalogue_items.c.region + t.catalogue_items.c.code),
    }
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name, (table, order) in keyed.items():
            columns = [
                c
                for c in table.c
                if (c.name != "id" or name in {"persons", "institutions"})
                and c.name != "created_at"
            ]
            out[name] = [tuple(r) for r in conn.execute(select(*columns).order_by(order))]
    return out


def test_same_seed_same_persons(
    sqlite_template: Path, policies: PolicyLoader, tmp_path: Path
) -> None:
    snapshots = []
    for name, seed in (("one", 7), ("two", 7), ("three", 8)):
        path = tmp_path / f"{name}.sqlite3"
        shutil.copy(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
        try:
            _load(engine, policies, seed=seed)
            snapshots.append(_snapshot(engine))
        finally:
            engine.dispose()
    first, again, other = snapshots
    assert first == again
    assert len(first["persons"]) == PERSONS + PERSONS // 10  # and hill-county's tenth
    assert other["persons"] != first["persons"]
    assert other["catalogue"] == first["catalogue"]  # only the persons follow the seed


def test_demo_accounts_sign_in_and_work(engine: Engine, policies: PolicyLoader) -> None:
    """The main job's demo can be tried with every role: its accounts sign in with the
    demo password, an institution quotes, the guardian sees only their own family."""
    summary = _load(engine, policies)
    services = Services.build(lambda: UnitOfWork(engine), policies)
    client = TestClient(create_app(services))

    def signed_in(account: str) -> dict[str, str]:
        answer = client.post(
            "/v1/auth/tokens", json={"account": account, "password": DEMO_PASSWORD}
        )
        assert answer.status_code == 201, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    assert client.get("/v1/me", headers=signed_in("clerk")).json()["role"] == "clerk"
    assert client.get("/v1/me", headers=signed_in("approver")).json()["role"] == "approver"
    guardian = client.get("/v1/me", headers=signed_in("guardian")).json()
    mine = client.get(f"/v1/persons/{guardian['person_id']}", headers=signed_in("guardian"))
    assert mine.status_code == 200
    assert mine.json()["children"], "the demo guardian has children"
    assert summary.child is not None
    if summary.child.person_id not in mine.json()["children"]:
        stranger = client.get(
            f"/v1/persons/{summary.child.person_id}", headers=signed_in("guardian")
        )
        assert stranger.status_code == 404
    quote = client.post(
        "/v1/quotes",
        headers=signed_in("h3-001"),
        json={
            "card_number": summary.child.card_number,
            "kind": "outpatient",
            "date": "2026-03-02",
            "lines": [{"code": catalogue()[0].code, "quantity": "1", "unit_price": "10.00"}],
        },
    )
    assert quote.status_code in (200, 422), quote.text  # 422: a price fixed by the catalogue
    assert quote.status_code == 200 or quote.json()["code"] != "forbidden"
    wrong = client.post("/v1/auth/tokens", json={"account": "clerk", "password": "not-it-at-all"})
    assert wrong.status_code == 401


def test_demo_bills_make_a_year_under_way(engine: Engine, policies: PolicyLoader) -> None:
    """The demo's first bills go through the settlement service: the guardian's children
    have reimbursements to look at, the ledger checks, and a second run pays nothing twice."""
    from yibao.service.demo_bills import settle_demo_bills
    from yibao.service.verify import verify

    _load(engine, policies)
    uow = lambda: UnitOfWork(engine)  # noqa: E731
    done = settle_demo_bills(uow, policies, count=60)
    assert (done.settled, done.refused) == (60, 0)
    with UnitOfWork(engine) as u:
        guardian = u.accounts.get("guardian")
        assert guardian is not None
        children = u.registry.children_of(guardian.person_id)
        assert children
        assert u.ledger.settlements_of(children[0], YEAR)
        count = u.connection.execute(select(func.count()).select_from(t.settlements)).scalar_one()
    assert count == 60
    again = settle_demo_bills(uow, policies, count=60)  # the same idempotency keys
    assert again.settled == 60
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.settlements)).scalar_one() == 60
    assert verify(uow, policies).problems == []


def test_demo_regions_know_each_other(engine: Engine, policies: PolicyLoader) -> None:
    """Three regions, each with its admdvs, catalogue and institutions: a bill at a
    neighbour's institution is priced by the neighbour's catalogue (its lower caps) and
    settled by the insured place's policy (reference §9)."""
    summary = _load(engine, policies)
    assert len(summary.neighbours) == 2
    services = Services.build(lambda: UnitOfWork(engine), policies)
    with engine.connect() as conn:
        regions = {r.code: r.admdvs for r in conn.execute(select(t.regions))}
        assert regions == {"sample-city": "990100", "hill-county": "990200", "other-city": "990800"}
        by_region = Counter(i.region for i in conn.execute(select(t.institutions)))
        assert by_region["hill-county"] == 6
        assert by_region["other-city"] == 3
        hill = conn.execute(
            select(t.persons.c.id, t.cards.c.number)
            .join(t.cards, t.cards.c.person_id == t.persons.c.id)
            .where(t.persons.c.region == "hill-county", t.cards.c.status == "active")
            .order_by(t.persons.c.id)
        ).first()
        filed = conn.execute(
            select(t.filings.c.region)
            .join(t.persons, t.persons.c.id == t.filings.c.person_id)
            .where(t.persons.c.region == "hill-county")
        ).all()
    assert hill is not None
    assert filed
    assert {f.region for f in filed} == {"sample-city"}
    blood = next(i for i in catalogue() if i.name == "血常规")
    assert blood.unit_price is not None
    day = date(YEAR, 3, 2)
    line = (BillLine(blood.code, Decimal(2), blood.unit_price),)
    assert summary.child is not None
    # A sample-city child at a hill-county clinic, billed at sample-city's price: above
    # hill-county's cap (90% of it) the excess is over-limit self-pay.
    there = services.settlements.quote(
        Bill("HC-C1-001", summary.child.card_number, Kind.OUTPATIENT, day, line)
    )
    cap = (blood.unit_price * Decimal("0.90")).quantize(Decimal("0.01"))
    assert Decimal(there["over_limit"]) == 2 * (blood.unit_price - cap)
    assert there["lines"][0]["cap"] == str(cap)
    # A hill-county resident at a sample-city clinic: sample-city's price is its cap.
    here = services.settlements.quote(Bill("C1-001", hill.number, Kind.OUTPATIENT, day, line))
    assert Decimal(here["over_limit"]) == 0
    assert here["person_id"] == hill.id


def test_demo_stays_elsewhere_are_cleared(engine: Engine, policies: PolicyLoader) -> None:
    """The demo's stays across its regions book receivables and payables that a clearing
    run of a month takes, and verify finds the books in order."""
    from yibao.service.demo_bills import settle_elsewhere_bills
    from yibao.service.verify import verify

    _load(engine, policies)
    uow = lambda: UnitOfWork(engine)  # noqa: E731
    done = settle_elsewhere_bills(uow, policies, count=12)
    assert (done.settled, done.refused) == (12, 0)
    services = Services.build(uow, policies, lambda: date(2026, 12, 2))
    with UnitOfWork(engine) as u:
        open_books = {(r.region, r.side) for r in u.regions.balances()}
    assert ("sample-city", "receivable") in open_books
    assert ("hill-county", "receivable") in open_books
    for month in range(1, 12):
        services.clearing.run(f"2026-{month:02d}")
    with UnitOfWork(engine) as u:
        assert u.regions.uncleared_pairs("2026-05") == []
        assert len(u.regions.clearings()) >= 3
    assert verify(uow, policies).problems == []
