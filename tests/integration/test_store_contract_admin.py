"""The administration's stores' contract (schools, the member app, collection, the
console): the fakes (tests/fakes) and the database's stores on SQLite and PostgreSQL
answer the same calls the same way. The settlement side is in test_store_contract.py,
whose `stores` fixture gives the three."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from integration.test_store_contract import (  # noqa: F401 (stores is a fixture)
    Factory,
    columns,
    in_one_unit,
    person,
    registry_world,
    stores,
)
from yibao.adapters.db.tables_schools import school_batch_rows
from yibao.domain.ids import make_resident_id, parse_resident_id
from yibao.service.ports.records import DuplicateError


def number(n: int) -> str:
    return make_resident_id("110101", date(2015, 1, n), n)


def pupil(n: int, **extra: Any) -> dict[str, Any]:
    """Row n of a class list: sheet row n + 1 (the header is row 1). Every row names every
    column, as the upload's rows do: the database's executemany takes the columns of the
    first row."""
    return {
        "row_no": n + 1,
        "id_number": number(n),
        "name": f"pupil {n}",
        "birth_date": date(2015, 1, n),
        "sex": parse_resident_id(number(n)).sex,
        "guardian_phone": f"1391234000{n}",
        "class_name": "",
        "guardian_name": "",
        "assistance": False,
        **extra,
    }


def class_list(school: str, year: int) -> dict[str, Any]:
    return {
        "school_id": school,
        "year": year,
        "status": "open",
        "file_name": "class.xlsx",
        "rows": 3,
        "created_by": f"school-{school}",
    }


def test_schools_their_class_lists_and_rows(stores: Factory) -> None:  # noqa: F811
    progress: list[int] = []
    with stores() as uow:
        registry_world(uow)
        uow.registry.add_person(replace(person(5), phone="13900000005"))
        s = uow.schools
        s.add_school("S2", "sample-city", "Second school")
        s.add_school("S1", "sample-city", "First school")
        first = s.add_batch(class_list("S1", 2027))
        second = s.add_batch(class_list("S1", 2026))
        rows = [pupil(1), pupil(2, class_name="3-2", assistance=True), pupil(3)]
        s.add_rows(first, rows, progress=progress.append)
        s.add_rows(second, [pupil(4)])
        uow.commit()
    assert progress == [3]
    with stores() as uow:
        s = uow.schools
        assert s.region_exists("sample-city")
        assert not s.region_exists("elsewhere")
        assert [r.id for r in s.schools()] == ["S1", "S2"]
        assert s.schools("elsewhere") == []
        assert (s.school("S1").name, s.school("S9")) == ("First school", None)
        assert [b.id for b in s.batches_of("S1")] == [first, second]
        assert [b.id for b in s.batches_of("S1", 2027)] == [first]
        assert s.batches_of("S2") == []
        batch = s.batch(first)
        assert (batch.status, batch.rows, batch.submitted_at, batch.reviewed_at) == (
            "open",
            3,
            None,
            None,
        )
        found = s.rows(first)
        assert [r.row_no for r in found] == [2, 3, 4]
        assert (found[0].class_name, found[0].assistance, found[0].status) == (
            "",
            False,
            "imported",
        )
        assert (found[1].class_name, found[1].assistance, found[1].person_id) == ("3-2", True, None)
        assert columns(found[0]) == {c.name for c in school_batch_rows.columns}
        assert [r.row_no for r in s.rows(first, offset=1, limit=1)] == [3]
        s.update_row(first, 2, status="declared", declared_by="guardian", guardian_name="王芳")
        s.set_status(first, [3, 4], "submitted")
        s.update_batch(first, status="submitted", submitted_at=datetime(2026, 10, 1, tzinfo=UTC))
        uow.commit()
    with stores() as uow:
        s = uow.schools
        assert s.row_counts(first) == {"declared": 1, "submitted": 2}
        assert s.row_counts(999) == {}
        assert (s.row(first, 2).guardian_name, s.row(first, 9)) == ("王芳", None)
        assert s.batch(first).status == "submitted"
        assert [r.row_no for r in s.rows(first, status="submitted")] == [3, 4]
        (mine,) = s.rows_with_phones(["13912340002", "000"])
        assert (mine.batch_id, mine.row_no, mine.school_id, mine.year, mine.school_name) == (
            first,
            3,
            "S1",
            2027,
            "First school",
        )
        assert s.rows_with_phones([]) == []
        on_lists = s.on_open_lists([number(1), number(2), number(4), "x"], 2027)
        assert sorted(on_lists) == [number(1), number(2)]
        one = on_lists[number(1)]
        assert (one.batch_id, one.row_no, one.school_id) == (first, 2, "S1")
        assert s.on_open_lists([number(1)], 2027, besides=(first, 2)) == {}
        assert s.on_open_lists([number(4)], 2026)[number(4)].batch_id == second
        s.accept_rows(first, [(3, "P1")])
        assert s.on_open_lists([number(2)], 2027) == {}
        p1, p2 = person(1).id_number, person(2).id_number
        assert s.enrolled([p1, p2, "x"], 2026) == {p1}
        assert s.enrolled([p1], 2030) == set()
        known = s.persons([p1, "x"])
        assert list(known) == [p1]
        assert (known[p1].id, known[p1].name, known[p1].region) == ("P1", "person 1", "sample-city")
        assert s.adults_with_phones({"13900000005", "0"}, date(2008, 1, 1)) == {
            "13900000005": ["P5"]
        }
        assert s.adults_with_phones({"13900000005"}, date(1970, 1, 1)) == {}
        assert (s.person_phone("P5"), s.person_phone("P1"), s.person_phone("P9")) == (
            "13900000005",
            None,
            None,
        )
        s.set_assistance([("P1", True), ("P5", False)])
        uow.commit()
    with stores() as uow:
        assert uow.registry.person("P1").assistance
        assert not uow.registry.person("P5").assistance
        accepted = uow.schools.row(first, 3)
        assert (accepted.status, accepted.person_id) == ("accepted", "P1")
    with pytest.raises(DuplicateError):
        in_one_unit(stores, lambda uow: uow.schools.add_school("S1", "sample-city", "again"))
