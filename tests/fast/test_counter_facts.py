"""counter_pg._facts keeps one Institution and one PersonRecord for every row with the
same values (frozen objects, kept by every column's value): a row that changed in the
database is another key, so it never gets the object made from the old row."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from yibao.adapters.db.counter_pg import _facts
from yibao.domain.ids import ResidentIdError
from yibao.domain.registry import InstitutionKind

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
    names = {"inst_name": 7, "level": 8, "phone": 23, "retired": 25, "id_number": 18}
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
