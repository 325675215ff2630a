"""counter_pg._facts keeps one Institution, PersonRecord, Card and Enrolment for every row
with the same values (frozen objects, kept by every column's value), and one parse of
the items for every same text of them: a row that changed in the database is another
key, so it never gets the object made from the old row."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest

from yibao.adapters.db.counter_pg import _facts
from yibao.adapters.db.counter_pg_batch import _batch_facts
from yibao.domain.ids import ResidentIdError
from yibao.domain.money import from_fen
from yibao.domain.registry import CardStatus, InstitutionKind

_ID_NUMBER = "110101199003074514"  # born 1990-03-07, male (odd 17th digit)


def _row(**change: Any) -> list[Any]:
    """A row as the counter's read returns it (counter_pg._READ's columns)."""
    values: dict[int, Any] = {
        5: "H001",  # the institution: id, region, name, level, kind, designated, pilot
        6: "110100",
        7: "第一医院",
        8: 3,
        9: "hospital",
        10: True,
        11: False,
        17: "P1",  # the person: id ... contribution_years
        18: _ID_NUMBER,
        19: "张三",
        20: date(1990, 3, 7),
        21: "M",
        22: "110100",
        23: "13800000000",
        24: False,
        25: False,
        26: None,
        35: "general",
        36: None,
    }
    names = {
        "inst_name": 7,
        "level": 8,
        "phone": 23,
        "retired": 25,
        "id_number": 18,
        "card": 12,  # the card: number, status, issued_on, replaced_by, due_on
        "card_status": 13,
        "replaced_by": 15,
        "scheme": 27,  # the enrolment: scheme, status, valid_from, valid_to
        "enrolment_status": 28,
        "valid_to": 30,
        "items": 31,  # JSON text: [[code, name, class, fen], ...]
    }
    for name, value in change.items():
        values[names[name]] = value
    return [values.get(n) for n in range(37)]


def test_same_row_same_objects() -> None:
    first, second = _facts(_row(), 2026), _facts(_row(), 2026)
    assert first.institution is second.institution
    assert first.person is second.person
    assert first.institution is not None
    assert first.person is not None
    assert first.institution.kind is InstitutionKind.HOSPITAL
    assert (first.person.id, first.person.birth_date) == ("P1", date(1990, 3, 7))


def test_a_changed_row_is_a_new_object() -> None:
    before = _facts(_row(), 2026)
    renamed = _facts(_row(inst_name="第二医院", level=2), 2026)
    moved = _facts(_row(phone="13900000000", retired=True), 2026)
    assert renamed.institution is not None
    assert before.institution is not None
    assert (renamed.institution.name, renamed.institution.level) == ("第二医院", 2)
    assert before.institution.name == "第一医院"
    assert moved.person is not None
    assert before.person is not None
    assert (moved.person.phone, moved.person.retired) == ("13900000000", True)
    assert (before.person.phone, before.person.retired) == ("13800000000", False)


def test_a_wrong_id_number_raises_every_time() -> None:
    wrong = _row(id_number="110101199003074522")  # says female
    for _ in range(2):
        with pytest.raises(ResidentIdError):
            _facts(wrong, 2026)


def _carded(**change: Any) -> list[Any]:
    base: dict[str, Any] = {
        "card": "C1",
        "card_status": "active",
        "scheme": "resident",
        "enrolment_status": "active",
        "valid_to": date(2026, 12, 31),
        "items": '[["A1", "挂号费", "A", 1250]]',
    }
    row = _row(**{**base, **change})
    row[14], row[29] = date(2024, 1, 2), date(2026, 1, 1)  # issued_on, valid_from
    return row


def test_same_card_enrolment_and_items_same_objects() -> None:
    first, second = _facts(_carded(), 2026), _facts(_carded(), 2026)
    assert first.card is second.card
    assert first.enrolment is second.enrolment
    assert first.card is not None
    assert first.enrolment is not None
    assert (first.card.number, first.card.person_id, first.card.status) == (
        "C1",
        "P1",
        CardStatus.ACTIVE,
    )
    assert (first.enrolment.year, first.enrolment.status) == (2026, "active")
    assert first.items["A1"] is second.items["A1"]
    assert first.items["A1"].unit_price == from_fen(1250)
    # each bill its own dict: one changed does not change the kept parse
    assert first.items is not second.items
    first.items.clear()
    assert _facts(_carded(), 2026).items["A1"] is second.items["A1"]


def test_a_changed_card_enrolment_or_item_is_a_new_object() -> None:
    before = _facts(_carded(), 2026)
    replaced = _facts(_carded(card_status="replaced", replaced_by="C2"), 2026)
    cancelled = _facts(_carded(enrolment_status="cancelled", valid_to=date(2026, 6, 30)), 2026)
    other_year = _facts(_carded(), 2027)
    repriced = _facts(_carded(items='[["A1", "挂号费", "A", 1500]]'), 2026)
    assert replaced.card is not None
    assert before.card is not None
    assert (replaced.card.status, replaced.card.replaced_by) == (CardStatus.REPLACED, "C2")
    assert (before.card.status, before.card.replaced_by) == (CardStatus.ACTIVE, None)
    assert cancelled.enrolment is not None
    assert before.enrolment is not None
    assert (cancelled.enrolment.status, cancelled.enrolment.valid_to) == (
        "cancelled",
        date(2026, 6, 30),
    )
    assert (before.enrolment.status, before.enrolment.valid_to) == ("active", date(2026, 12, 31))
    assert other_year.enrolment is not None
    assert other_year.enrolment.year == 2027
    assert repriced.items["A1"].unit_price == from_fen(1500)
    assert before.items["A1"].unit_price == from_fen(1250)


# The batch read's row (counter_pg_batch.READ_MANY) brings the institution and the holder
# (card, person, enrolment) each as one JSON text of their columns: _batch_facts makes of
# it the facts _facts makes of the read of one bill, the same objects for the same values,
# another object for a changed row, and a wrong id number raises every time.
def _text(values: list[Any]) -> str:
    """As PostgreSQL's json_build_array writes them (dates as ISO text)."""
    return orjson.dumps([v.isoformat() if isinstance(v, date) else v for v in values]).decode()


def _batch(row: list[Any]) -> list[Any]:
    """The batch read's row of the values of counter_pg._READ's `row`."""
    institution = None if row[5] is None else _text([*row[5:12], row[35], row[36]])
    holder = None if row[17] is None else _text([*row[12:17], *row[17:31]])
    return [*row[0:5], institution, holder, *row[31:35], None, None, None, None, None]


@pytest.mark.parametrize("make", [_row, _carded])
def test_the_same_facts_and_objects_as_the_read_of_one_bill(make: Any) -> None:
    for year in (2026, 2027):
        alone, batched = _facts(make(), year), _batch_facts(_batch(make()), year)
        assert batched == alone
        assert batched.institution is alone.institution
        assert batched.person is alone.person
        assert batched.card is alone.card
        assert batched.enrolment is alone.enrolment


def test_a_changed_batch_row_is_a_new_object() -> None:
    before = _batch_facts(_batch(_carded()), 2026)
    renamed = _batch_facts(_batch(_carded(inst_name="第二医院")), 2026)
    replaced = _batch_facts(_batch(_carded(card_status="replaced", replaced_by="C2")), 2026)
    moved = _batch_facts(_batch(_carded(phone="13900000000")), 2026)
    assert renamed.institution is not None
    assert before.institution is not None
    assert (renamed.institution.name, before.institution.name) == ("第二医院", "第一医院")
    assert replaced.card is not None
    assert before.card is not None
    assert (replaced.card.replaced_by, before.card.replaced_by) == ("C2", None)
    assert moved.person is not None
    assert before.person is not None
    assert (moved.person.phone, before.person.phone) == ("13900000000", "13800000000")


def test_no_person_no_card_no_enrolment() -> None:
    facts = _batch_facts(_batch(_nobody()), 2026)
    assert (facts.person, facts.card, facts.enrolment, facts.categories) == (None, None, None, None)


def _nobody() -> list[Any]:
    row = _row()
    row[17] = None
    return row


def test_a_wrong_id_number_in_a_batch_raises_every_time() -> None:
    wrong = _batch(_row(id_number="110101199003074522"))  # says female
    for _ in range(2):
        with pytest.raises(ResidentIdError):
            _batch_facts(wrong, 2026)
