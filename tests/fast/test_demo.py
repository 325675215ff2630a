"""The demo on the in-memory stores: since it writes through the registry's calls (issue
15), loading a region, refusing a second load or a load whose rows are taken, and
settling its first bills need no database. (tests/integration/test_demo.py checks the
rows, and that the same seed writes the same ones, on SQLite and PostgreSQL.)"""

from __future__ import annotations

from collections import Counter

import pytest

from fakes import FakeDatabase
from fast.stores import policies
from yibao.domain.registry import CardStatus
from yibao.service.demo import load_demo
from yibao.service.demo_bills import settle_demo_bills
from yibao.service.errors import ServiceError

PERSONS = 60


def test_the_demo_fills_a_region_in_the_stores_and_settles_its_first_bills() -> None:
    db = FakeDatabase()
    summary = load_demo(db.unit_of_work, policies(), persons=PERSONS)
    t = db.tables
    regions = Counter(p.region for p in t.persons.values())
    assert regions == {"sample-city": PERSONS, "hill-county": PERSONS // 10}
    assert summary.persons == PERSONS
    assert set(t.regions) == {"sample-city", "hill-county", "other-city"}
    assert len(t.institutions) == summary.institutions
    assert {c.person_id for c in t.cards.values()} == set(t.persons)
    assert len([c for c in t.cards.values() if c.status is CardStatus.LOST]) >= summary.lost_cards
    enrolments = list(t.enrolments.values())
    assert len(enrolments) == len(t.persons)
    assert {(e.year, e.status, e.channel) for e in enrolments} == {(2026, "active", "demo")}
    assert len({child for child, _ in t.guardians}) >= summary.guardians
    assert all(g in t.persons for _, g in t.guardians)
    approved = [a for a in t.approvals.values() if t.persons[a.person_id].region == "sample-city"]
    assert len(approved) == summary.approvals
    assert {a.status for a in approved} == {"approved"}
    filed = [f for f in t.filings.values() if t.persons[f.person_id].region == "sample-city"]
    assert {f.region for f in filed} == {"other-city"}
    assert len(filed) == summary.filings
    assert "guardian" in t.accounts
    assert summary.child is not None
    assert t.cards[summary.child.card_number].person_id == summary.child.person_id

    done = settle_demo_bills(db.unit_of_work, policies(), count=24)
    assert (done.settled, done.refused) == (24, 0)
    settled = db.tables.settlements.values()
    assert len(settled) == 24
    # The demo guardian's children come first, so the member app has something to show.
    children = {c for c, g in db.tables.guardians if g == t.accounts["guardian"].person_id}
    first = min(settled, key=lambda s: s.id)
    assert first.person_id in children


def test_a_second_load_or_one_whose_rows_are_taken_is_refused_whole() -> None:
    db = FakeDatabase()
    load_demo(db.unit_of_work, policies(), persons=PERSONS)
    before = db.tables
    with pytest.raises(ServiceError) as again:
        load_demo(db.unit_of_work, policies(), persons=PERSONS)
    assert again.value.code == "demo_exists"
    # river-county's demo institutions take the ids sample-city's already have.
    with pytest.raises(ServiceError) as taken:
        load_demo(db.unit_of_work, policies(), region="river-county", persons=PERSONS)
    assert taken.value.code == "demo_conflict"
    assert db.tables is before  # nothing committed
    assert "river-county" not in db.tables.regions
