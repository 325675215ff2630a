"""The administration's stores' contract (schools, the member app, collection, the
console): the fakes (tests/fakes) and the database's stores on SQLite and PostgreSQL
answer the same calls the same way. The settlement side is in test_store_contract.py,
whose `stores` fixture gives the three."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
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
from yibao.adapters.db.tables import institutions
from yibao.adapters.db.tables_member import family_links
from yibao.adapters.db.tables_schools import school_batch_rows
from yibao.domain.catalogue import Entry
from yibao.domain.ids import make_resident_id, parse_resident_id
from yibao.domain.model import LineClass
from yibao.domain.registry import CatalogueItem, Institution, InstitutionKind, PersonRecord
from yibao.service.access import OPERATOR
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


def minor(n: int, phone: str) -> PersonRecord:
    born = date(2015, 1, n)
    id_number = make_resident_id("110101", born, n)
    sex = parse_resident_id(id_number).sex
    return PersonRecord(f"P{n}", id_number, f"child {n}", born, sex, "sample-city", phone=phone)


def claim(person_id: str, day: int) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "reason": "other",
        "kind": "outpatient",
        "encounter_date": date(2026, 3, day),
        "hospital_name": "a clinic",
        "hospital_level": 1,
        "hospital_region": "sample-city",
        "hospital_designated": False,
        "lines": "[]",
        "total_fen": 100 * day,
        "status": "submitted",
        "submitted_at": datetime(2026, 3, day, tzinfo=UTC),
    }


def member_world(uow: Any) -> tuple[int, int, int, int]:
    """Persons, places, a dated entry, claims, notices and two family links; the ids of
    P1's claims (the older first) and of the links."""
    registry_world(uow)
    reg = uow.registry
    reg.add_person(minor(6, "13900000006"))
    reg.add_person(replace(person(5), phone="13900000006"))
    reg.add_institution(
        Institution("H2", "sample-city", "clinic b", 1, InstitutionKind.CLINIC, True)
    )
    reg.add_institution(
        Institution("H3", "sample-city", "hospital c", 2, InstitutionKind.HOSPITAL, False)
    )
    uow.catalogue.add_entries(
        "sample-city",
        [
            Entry("D1", "dated aspirin", LineClass.B, date(2026, 7, 1)),
            Entry("D1", "dated aspirin", LineClass.B, date(2026, 1, 1), valid_to=date(2026, 6, 30)),
        ],
    )
    older, newer = uow.claims.add(claim("P1", 2)), uow.claims.add(claim("P1", 9))
    uow.claims.add(claim("P2", 5))
    uow.accounts.add({"id": "p1", "role": "insured", "name": "person 1", "person_id": "P1"})
    uow.audit.record(OPERATOR, "claim.approve", "claim", str(older))
    uow.audit.record(OPERATOR, "card.issue", "card", "C-OLD")
    uow.audit.record(OPERATOR, "claim.note", "claim", str(older))
    asked = datetime(2026, 4, 1, tzinfo=UTC)
    first = uow.member.add_link("P1", "P2", "spouse", asked)
    second = uow.member.add_link("P2", "P1", "parent", asked)
    return older, newer, first, second


def test_the_member_apps_reads_notices_and_family_links(stores: Factory) -> None:  # noqa: F811
    with stores() as uow:
        older, newer, first, second = member_world(uow)
        uow.commit()
    with stores() as uow:
        m = uow.member
        assert m.minors_with_phone("13900000006", date(2008, 1, 1)) == ["P6"]
        assert m.minors_with_phone("13900000006", date(2016, 1, 1)) == []
        assert [c.id for c in m.claims_of(["P1", "P1"])] == [newer, older]
        assert m.claims_of([]) == []
        assert [(r.code, r.name_en) for r in m.regions()] == [("sample-city", "Sample City")]
        assert m.institution_names(["H1", "H9"]) == {"H1": "hospital 1"}
        assert m.institution_names([]) == {}
        assert [r.id for r in m.designated(None, None, None, "", 10)] == ["H2", "H1"]
        assert [r.id for r in m.designated("sample-city", 2, None, "", 10)] == ["H1"]
        (clinic,) = m.designated(None, None, "clinic", "", 10)
        assert (clinic.id, clinic.kind, clinic.level, clinic.pilot) == ("H2", "clinic", 1, False)
        assert columns(clinic) == {c.name for c in institutions.columns}
        assert [r.id for r in m.designated(None, None, None, "clinic", 10)] == ["H2"]
        assert [r.id for r in m.designated(None, None, None, "", 1)] == ["H2"]
        assert m.designated("elsewhere", None, None, "", 10) == []
        entries, items = m.catalogue_matches("sample-city", "aspirin", 10)
        assert [(e.code, e.valid_from) for e in entries] == [
            ("D1", date(2026, 1, 1)),
            ("D1", date(2026, 7, 1)),
        ]
        assert items == []
        entries, items = m.catalogue_matches("sample-city", "fixed", 10)
        assert (entries, items) == (
            [],
            [CatalogueItem("F1", "fixed", LineClass.B, Decimal("12.50"))],
        )
        assert [i.code for i in m.catalogue_matches("sample-city", "1", 10)[1]] == ["A1", "F1"]
        about = [("claim", str(older)), ("card", "C-OLD")]
        found = m.notices(about, ["claim.approve", "card.issue"], 10)
        assert [(n.action, n.object_id) for n in found] == [
            ("card.issue", "C-OLD"),
            ("claim.approve", str(older)),
        ]
        assert [n.action for n in m.notices(about, ["claim.approve", "card.issue"], 1)] == [
            "card.issue"
        ]
        assert m.notices([], ["card.issue"], 10) == []
        assert m.seen_id("p1") == 0
        m.mark_seen("p1", found[1].id)
        m.mark_seen("p1", found[0].id)
        assert [link.id for link in m.links_of("P1")] == [second, first]
        assert [link.id for link in m.links_of("P5")] == []
        link = m.link(first)
        assert (link.person_id, link.member_id, link.relation, link.status, link.decided_at) == (
            "P1",
            "P2",
            "spouse",
            "pending",
            None,
        )
        assert columns(link) == {c.name for c in family_links.columns}
        assert m.link(999) is None
        m.set_link(first, "accepted", datetime(2026, 4, 2, tzinfo=UTC))
        uow.commit()
    with stores() as uow:
        m = uow.member
        assert m.seen_id("p1") == found[0].id
        assert (m.link(first).status, m.link(second).status) == ("accepted", "pending")
        assert m.link(first).decided_at is not None
        assert (m.bound_to("P1"), m.bound_to("P2")) == ({"P2"}, set())
