"""The administration's stores' contract (schools, the member app, collection, the
console): the fakes (tests/fakes) and the database's stores on SQLite and PostgreSQL
answer the same calls the same way. The settlement side is in test_store_contract.py,
whose `stores` fixture gives the three."""

from __future__ import annotations

import json
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
    settle_two,
    stores,
)
from yibao.adapters.db.tables import (
    approvals,
    catalogue_mappings,
    filings,
    institutions,
    referrals,
)
from yibao.adapters.db.tables_collection import bank_import_lines, collection_accounts
from yibao.adapters.db.tables_member import family_links
from yibao.adapters.db.tables_pilot import pilot_registrations
from yibao.adapters.db.tables_schools import school_batch_rows
from yibao.domain.access import Principal, Role
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.catalogue import Entry
from yibao.domain.ids import make_resident_id, parse_resident_id
from yibao.domain.model import Approval, Filing, LineClass, Scheme
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


def collection_account(
    number: str, person_id: str, fen: int, status: str = "open"
) -> dict[str, Any]:
    return {
        "number": number,
        "region": "sample-city",
        "person_id": person_id,
        "year": 2027,
        "amount_fen": fen,
        "status": status,
        "opened_by": "clerk",
        "opened_at": datetime(2026, 10, 1, tzinfo=UTC),
        "opened_on": date(2026, 10, 1),
    }


def collection_world(uow: Any) -> None:
    registry_world(uow)
    reg = uow.registry
    reg.add_region("other-town", "别镇", "Other Town", "110102")
    reg.add_person(person(3))
    reg.add_person(person(4, "other-town"))
    year = (date(2027, 1, 1), date(2027, 12, 31))
    for pid, status, personal, assistance in (
        ("P2", "pending", "400", "0"),
        ("P3", "pending", "380.50", "19.50"),
        ("P1", "active", "0", "0"),
        ("P4", "pending", "400", "0"),
    ):
        parts = {"personal": Decimal(personal), "assistance": Decimal(assistance)}
        reg.add_enrolment(Enrolment(pid, 2027, Scheme.RESIDENT, status, *year, **parts))
    uow.collection.add_accounts([collection_account("99012027000019", "P3", 38050)])
    uow.collection.set_card("C-OLD", CardStatus.ACTIVE, ordered_on=date(2024, 12, 1))
    reg.add_card(
        Card("C-3", "P3", CardStatus.ORDERED, ordered_on=date(2026, 9, 1), due_on=date(2026, 10, 1))
    )
    reg.add_card(
        Card("C-4", "P2", CardStatus.ORDERED, ordered_on=date(2026, 8, 1), due_on=date(2026, 9, 1))
    )


def test_collection_accounts_bank_files_enrolments_and_cards(stores: Factory) -> None:  # noqa: F811
    paid_on = date(2026, 10, 9)
    with stores() as uow:
        collection_world(uow)
        uow.commit()
    with stores() as uow:
        col = uow.collection
        (waiting,) = col.pending_without_account("sample-city", 2027)
        assert (waiting.person_id, waiting.personal_fen, waiting.scheme) == (
            "P2",
            40000,
            "resident",
        )
        assert col.pending_without_account("sample-city", 2026) == []
        totals = [
            (r.scheme, r.status, r.persons, r.exempt, r.personal, r.subsidy, r.assistance)
            for r in uow.registry.premium_totals("sample-city", 2027)
        ]
        assert totals == [
            ("resident", "active", 1, 0, 0, 0, 0),
            ("resident", "pending", 2, 1, 78050, 0, 1950),
        ]
        assert uow.registry.premium_totals("sample-city", 2030) == []
        col.add_accounts([collection_account("99012027000027", "P2", 40000)])
        assert col.pending_without_account("sample-city", 2027) == []
        assert col.last_number("990120270000", 14, "accounts") == "99012027000027"
        assert col.last_number("990120270000", 13, "accounts") is None
        assert col.last_number("C-", 5, "cards") == "C-OLD"
        assert sorted(col.accounts(["99012027000019", "x"])) == ["99012027000019"]
        row = col.accounts(["99012027000019"])["99012027000019"]
        assert (row.status, row.amount_fen, row.paid_on, row.bank_import_id) == (
            "open",
            38050,
            None,
            None,
        )
        assert columns(row) == {c.name for c in collection_accounts.columns}
        assert [
            (a.number, a.amount_fen, a.person_id, a.name)
            for a in col.open_accounts("sample-city", 2027)
        ] == [
            ("99012027000019", 38050, "P3", "person 3"),
            ("99012027000027", 40000, "P2", "person 2"),
        ]
        imported = col.add_import("bank.txt", "f" * 64, "sample-city", "clerk", 3)
        assert col.import_by_sha256("f" * 64).id == imported
        assert col.import_by_sha256("0" * 64) is None
        assert col.mark_paid("99012027000019", paid_on, imported)
        assert not col.mark_paid("99012027000019", paid_on, imported)
        assert not col.mark_paid("nope", paid_on, imported)
        changed = col.mark_paid_many(
            [("99012027000027", paid_on), ("99012027000019", date(2026, 10, 8))], imported
        )
        assert changed == {"99012027000027"}
        assert col.account_counts("sample-city", 2027) == {"paid": 2}
        assert col.enrolment_statuses({("P2", 2027), ("P1", 2027), ("P9", 2027)}) == {
            ("P2", 2027): "pending",
            ("P1", 2027): "active",
        }
        assert col.activate_enrolments([("P2", 2027, paid_on), ("P1", 2027, paid_on)]) == {
            ("P2", 2027)
        }
        assert col.activate_enrolment("P3", 2027, paid_on)
        assert not col.activate_enrolment("P3", 2027, paid_on)
        lines = [
            {
                "import_id": imported,
                "line_no": n,
                "account": a,
                "amount_fen": f,
                "paid_on": paid_on,
                "bank_status": "ok",
                "outcome": o,
                "message": "",
            }
            for n, a, f, o in (
                (2, "99012027000027", 40000, "paid"),
                (1, "99012027000019", 38050, "paid"),
                (3, "x", None, "unknown_account"),
            )
        ]
        col.add_import_lines(lines)
        col.finish_import(imported, {"unknown_account": 1, "paid": 2})
        uow.commit()
    with stores() as uow:
        col = uow.collection
        assert col.accounts(["99012027000027"])["99012027000027"].paid_on == paid_on
        assert uow.registry.enrolment("P2", 2027).status == "active"
        assert uow.registry.enrolment("P2", 2027).paid_on == paid_on
        assert uow.registry.enrolment("P4", 2027).status == "pending"
        done = col.bank_import(imported)
        assert (done.file_name, done.line_count, done.counts) == (
            "bank.txt",
            3,
            '{"paid": 2, "unknown_account": 1}',
        )
        assert col.bank_import(999) is None
        assert [ln.line_no for ln in col.import_lines(imported)] == [1, 2, 3]
        assert [ln.account for ln in col.import_lines(imported, "unknown_account")] == ["x"]
        assert columns(col.import_lines(imported)[0]) == {c.name for c in bank_import_lines.columns}
        assert uow.member.collection_accounts_of("P2")[0].number == "99012027000027"
        assert col.card("C-OLD") == Card(
            "C-OLD",
            "P1",
            CardStatus.ACTIVE,
            issued_on=date(2025, 1, 1),
            ordered_on=date(2024, 12, 1),
        )
        assert col.card("nope") is None
        assert sorted(c.number for c in col.cards_of("P1")) == ["C-NEW", "C-OLD"]
        assert col.live_card("P1").number == "C-NEW"
        assert col.live_card("P9") is None
        assert col.live_card_holders({"P1", "P2", "P4"}) == {"P1", "P2"}
        assert not col.set_card("C-NEW", CardStatus.ACTIVE, issued_on=paid_on)
        assert col.set_card(
            "C-NEW", CardStatus.ORDERED, status=CardStatus.ACTIVE, issued_on=paid_on
        )
        assert col.card("C-NEW").status is CardStatus.ACTIVE
        today = date(2026, 10, 15)
        overdue = col.overdue_cards("sample-city", today, 10)
        assert [(c.number, c.name, c.due_on) for c in overdue] == [
            ("C-4", "person 2", date(2026, 9, 1)),
            ("C-3", "person 3", date(2026, 10, 1)),
        ]
        assert [c.number for c in col.overdue_cards("sample-city", today, 1)] == ["C-4"]
        assert col.overdue_cards("sample-city", date(2026, 9, 1), 10) == []
        assert col.overdue_cards("other-town", today, 10) == []
    with pytest.raises(DuplicateError):
        in_one_unit(
            stores, lambda uow: uow.collection.add_import("again.txt", "f" * 64, None, "clerk", 0)
        )
    with pytest.raises(DuplicateError):  # one account a person-year
        in_one_unit(
            stores,
            lambda uow: uow.collection.add_accounts(
                [collection_account("99012027000035", "P2", 1)]
            ),
        )


def console_world(open_unit: Factory) -> list[int]:
    """P1's two settlements (settle_two), a claim, an overdue card, a submitted class
    list, premiums paid on two days and serious-illness payments; the settlements' ids."""
    ids = settle_two(open_unit)
    with open_unit() as uow:
        reg = uow.registry
        reg.add_person(person(3))
        reg.add_region("other-town", "别镇", "Other Town", "110102")
        reg.add_person(person(4, "other-town"))
        year = (date(2027, 1, 1), date(2027, 12, 31))
        for pid, day, personal in (("P2", 20, "400"), ("P3", 20, "380.50"), ("P4", 21, "400")):
            reg.add_enrolment(
                Enrolment(
                    pid,
                    2027,
                    Scheme.RESIDENT,
                    "active",
                    *year,
                    personal=Decimal(personal),
                    subsidy=Decimal("600"),
                    paid_on=date(2026, 10, day),
                )
            )
        reg.add_card(
            Card(
                "C-9",
                "P2",
                CardStatus.ORDERED,
                ordered_on=date(2026, 9, 1),
                due_on=date(2026, 10, 1),
            )
        )
        uow.claims.add(claim("P1", 3))
        uow.ledger.lock_person_year("P3", 2026)  # a person-year with no enrolment
        uow.schools.add_school("S1", "sample-city", "First school")
        batch = uow.schools.add_batch({**class_list("S1", 2027), "status": "submitted"})
        uow.schools.update_batch(batch, submitted_at=datetime(2026, 10, 2, tzinfo=UTC))
        uow.schools.add_rows(batch, [pupil(1), pupil(2)])
        uow.schools.set_status(batch, [2], "submitted")
        for pid, scheme, fen in (
            ("P1", "resident", 5000),
            ("P2", "resident", 7000),
            ("P3", "employee", 0),
        ):
            uow.yearly.put(
                {
                    "person_id": pid,
                    "year": 2026,
                    "region": "sample-city",
                    "scheme": scheme,
                    "base_fen": fen,
                    "payment_fen": fen,
                    "explanation": "[]",
                }
            )
        uow.commit()
    return ids


def test_the_consoles_search_queues_and_dashboard(stores: Factory) -> None:  # noqa: F811
    console_world(stores)
    with stores() as uow:
        con = uow.console
        assert [r.code for r in con.regions(None)] == ["other-town", "sample-city"]
        assert [r.code for r in con.regions("other-town")] == ["other-town"]
        found = con.search_persons("person", "sample-city", 2026, 10)
        assert [r["id"] for r in found] == ["P1", "P2", "P3"]
        first = found[0]
        assert (first["scheme"], first["status"], first["birth_date"]) == (
            "resident",
            "active",
            date(1980, 1, 1),
        )
        assert first["card"] == {"number": "C-OLD", "status": "active"}
        assert (found[1]["scheme"], found[1]["card"]) == (
            None,
            {"number": "C-9", "status": "ordered"},
        )
        assert found[2]["card"] is None
        assert [r["id"] for r in con.search_persons("person", None, 2026, 2)] == ["P1", "P2"]
        assert [r["id"] for r in con.search_persons("C-OLD", None, 2026, 10)] == ["P1"]
        assert [r["id"] for r in con.search_persons("P2", None, 2026, 10)] == ["P2"]
        assert [r["id"] for r in con.search_persons(person(4).id_number, None, 2027, 10)] == ["P4"]
        assert con.search_persons(person(4).id_number, "sample-city", 2027, 10) == []
        assert con.current_cards([]) == {}
        assert [c.total_fen for c in con.claims_of("P1")] == [300]
        (batch,) = con.submitted_batches(None)
        assert (batch.school_name, batch.region, batch.rows, batch.waiting) == (
            "First school",
            "sample-city",
            3,
            1,
        )
        assert con.submitted_batches("other-town") == []
        today = date(2026, 10, 15)
        assert con.queue_counts(None, today) == {
            "schools": 1,
            "approvals": 0,
            "claims": 1,
            "cards": 1,
        }
        assert con.queue_counts("other-town", today) == {
            "schools": 0,
            "approvals": 0,
            "claims": 0,
            "cards": 0,
        }
        totals = con.ledger_totals("sample-city", 2026)
        assert {(r.scheme, r.month) for r in totals} == {("resident", "2026-03")}
        paid = sum(r.basic_fen + r.assistance_fen for r in uow.ledger.settlements_of("P1", 2026))
        assert sum(r.amount_fen for r in totals) == paid
        assert con.ledger_totals("sample-city", 2025) == []
        assert (con.ledger_years("sample-city"), con.ledger_years("other-town")) == ([2026], [])
        (chunk,) = con.person_year_states("sample-city", 2026)
        assert [(r.person_id, r.scheme) for r in chunk] == [("P1", "resident")]
        state = YearAccumulators.from_dict(json.loads(chunk[0].state))
        assert state == uow.ledger.read_person_year("P1", 2026)
        assert [len(c) for c in con.person_year_states("sample-city", 2026, chunk=1)] == [1]
        assert [
            (r.scheme, r.persons, r.payment_fen) for r in con.serious_illness("sample-city", 2026)
        ] == [("resident", 2, 12000)]
        assert con.serious_illness_at_least("sample-city", 2026, 6000) == 1
        assert con.serious_illness_at_least("sample-city", 2026, 0) == 3
        by_day = con.premiums_by_day("sample-city", 2027)
        assert [(r.paid_on, r.personal_fen, r.subsidy_fen, r.assistance_fen) for r in by_day] == [
            (date(2026, 10, 20), 78050, 120000, 0)
        ]
        assert con.institution_names(["H1", "H9"]) == {"H1": "hospital 1"}
        con.correct_person("P2", "person two", "13900000002", True)
        uow.commit()
    with stores() as uow:
        corrected = uow.registry.person("P2")
        assert (corrected.name, corrected.phone, corrected.assistance) == (
            "person two",
            "13900000002",
            True,
        )


def test_certificates_approvals_filings_referrals_and_the_pilot(stores: Factory) -> None:  # noqa: F811
    with stores() as uow:
        registry_world(uow)
        reg, cert = uow.registry, uow.certificates
        reg.add_region("other-town", "别镇", "Other Town", "110102")
        reg.add_person(person(4, "other-town"))
        reg.add_institution(
            Institution("H2", "sample-city", "clinic b", 1, InstitutionKind.CLINIC, True)
        )
        cert.lock_person("P1")
        applied = cert.add_approval(
            {
                "person_id": "P1",
                "disease": "diabetes",
                "hospital_id": "H1",
                "status": "applied",
                "certificate_ref": "X-1",
                "applied_on": date(2026, 3, 2),
                "applied_by": "p1",
            }
        )
        other = cert.add_approval(
            {
                "person_id": "P4",
                "disease": "hypertension",
                "hospital_id": "H1",
                "status": "applied",
                "applied_on": date(2026, 3, 1),
                "applied_by": "clerk",
            }
        )
        reg.add_approval("P1", Approval("asthma", "H1", date(2026, 1, 1), date(2026, 12, 31)))
        filed = cert.add_filing(
            {
                "person_id": "P1",
                "region": "other-town",
                "valid_from": date(2026, 5, 1),
                "valid_to": date(2026, 8, 31),
                "channel": "online",
                "created_by": "p1",
            }
        )
        reg.add_filing("P1", Filing("other-town", date(2026, 1, 1), date(2026, 2, 28)))
        referral = {
            "issued_by": "H1",
            "to_region": "other-town",
            "valid_from": date(2026, 3, 1),
            "valid_to": date(2026, 3, 31),
            "diagnosis": "C50",
            "created_by": "h1",
        }
        first = cert.add_referral({**referral, "person_id": "P1"})
        second = cert.add_referral({**referral, "person_id": "P4", "issued_by": "H2"})
        cert.add_pilot_hospital("sample-city", 2026, "H2", "clerk")
        cert.add_pilot_hospital("sample-city", 2026, "H1", "clerk")
        registered = cert.add_registration(
            {
                "person_id": "P2",
                "year": 2026,
                "disease": "C91",
                "hospital_id": "H1",
                "admission_date": date(2026, 4, 1),
                "scheme": "resident",
                "limited_cost_fen": 8000000,
                "registered_by": "h1",
            }
        )
        uow.commit()
    with stores() as uow:
        reg, cert = uow.registry, uow.certificates
        row = cert.approval(applied)
        assert (row.status, row.certificate_ref, row.decided_by) == ("applied", "X-1", None)
        assert columns(row) == {c.name for c in approvals.columns}
        assert cert.approval(999) is None
        assert cert.open_application("P1", "diabetes").id == applied
        assert cert.open_application("P1", "asthma") is None  # approved, not waiting
        assert [a.disease for a in cert.approvals_of("P1")] == ["diabetes", "asthma"]
        queue = cert.approvals_by_status("applied", None)
        assert [(a.id, a.region, a.person_name) for a in queue] == [
            (other, "other-town", "person 4"),
            (applied, "sample-city", "person 1"),
        ]
        assert [a.id for a in cert.approvals_by_status("applied", "sample-city")] == [applied]
        assert [a.id for a in cert.approvals_by_status("applied", None, limit=1)] == [other]
        assert len(cert.approvals_by_status(None, None)) == 3
        assert reg.approvals("P1") == (
            Approval("asthma", "H1", date(2026, 1, 1), date(2026, 12, 31)),
        )
        cert.update_approval(
            applied,
            status="approved",
            valid_from=date(2026, 3, 5),
            valid_to=date(2027, 3, 4),
            decided_by="clerk",
            decided_at=datetime(2026, 3, 5, tzinfo=UTC),
        )
        assert cert.filing(filed).channel == "online"
        assert columns(cert.filing(filed)) == {c.name for c in filings.columns}
        assert [f.valid_from for f in cert.filings_of("P1")] == [date(2026, 1, 1), date(2026, 5, 1)]
        assert [
            f.id for f in cert.overlapping_filings("P1", date(2026, 8, 1), date(2026, 9, 1))
        ] == [filed]
        assert cert.overlapping_filings("P1", date(2026, 3, 1), date(2026, 4, 1)) == []
        assert reg.filings("P1") == (
            Filing("other-town", date(2026, 5, 1), date(2026, 8, 31)),
            Filing("other-town", date(2026, 1, 1), date(2026, 2, 28)),
        )
        assert cert.referral(first).diagnosis == "C50"
        assert columns(cert.referral(first)) == {c.name for c in referrals.columns}
        assert [r.id for r in cert.referrals_of("P1")] == [first]
        assert [r.id for r in cert.referrals_by("H1", None)] == [first]
        assert [r.id for r in cert.referrals_by(None, "other-town")] == [second]
        assert [r.id for r in cert.referrals_by(None, None)] == [second, first]
        assert [r.id for r in cert.referrals_by(None, None, limit=1)] == [second]
        assert reg.referrals("P1") == (
            Referral("P1", "H1", "other-town", date(2026, 3, 1), date(2026, 3, 31)),
        )
        assert cert.is_pilot_hospital("H1", "sample-city", 2026)
        assert not cert.is_pilot_hospital("H1", "sample-city", 2027)
        assert cert.pilot_hospital("sample-city", 2026, "H1").added_by == "clerk"
        assert cert.pilot_hospital("sample-city", 2027, "H1") is None
        listed = cert.pilot_hospitals("sample-city", 2026)
        assert [(r.institution_id, r.name, r.level, r.kind, r.designated) for r in listed] == [
            ("H1", "hospital 1", 2, "hospital", True),
            ("H2", "clinic b", 1, "clinic", True),
        ]
        cert.remove_pilot_hospital("sample-city", 2026, "H2")
        assert cert.count_registrations_at("H1", 2026) == 1
        assert cert.count_registrations_at("H1", 2027) == 0
        assert cert.registration("P2", "C91", 2026).id == registered
        assert cert.registration("P2", "C91", 2027) is None
        found = cert.registration_by_id(registered)
        assert (found.limited_cost_fen, found.scheme) == (8000000, "resident")
        assert columns(found) == {c.name for c in pilot_registrations.columns}
        assert [r.id for r in cert.registrations_of("P2")] == [registered]
        assert [r.id for r in cert.registrations_by("H1", None, None)] == [registered]
        assert [r.id for r in cert.registrations_by(None, "sample-city", 2026)] == [registered]
        assert cert.registrations_by(None, "other-town", None) == []
        uow.commit()
    with stores() as uow:
        assert [a.disease for a in uow.registry.approvals("P1")] == ["diabetes", "asthma"]
        assert [
            r.institution_id for r in uow.certificates.pilot_hospitals("sample-city", 2026)
        ] == ["H1"]
    again = {
        "person_id": "P2",
        "year": 2026,
        "disease": "C91",
        "hospital_id": "H1",
        "admission_date": date(2026, 5, 1),
        "scheme": "resident",
        "limited_cost_fen": 1,
        "registered_by": "h1",
    }
    with pytest.raises(DuplicateError):  # one registration a disease and year
        in_one_unit(stores, lambda uow: uow.certificates.add_registration(again))


def test_the_catalogue_mappings_are_listed_and_cancelled(stores: Factory) -> None:  # noqa: F811
    with stores() as uow:
        registry_world(uow)
        cat = uow.catalogue
        late = cat.add_mapping("H1", "OWN-2", None, "A1", date(2026, 1, 1), None)
        later = cat.add_mapping(
            "H1", "OWN-1", "own one", "F1", date(2026, 2, 1), date(2026, 12, 31)
        )
        early = cat.add_mapping("H1", "OWN-1", "own one", "A1", date(2026, 1, 1), date(2026, 1, 31))
        uow.commit()
    with stores() as uow:
        cat = uow.catalogue
        listed = cat.mappings("H1")
        assert [m.id for m in listed] == [early, later, late]
        assert columns(listed[0]) == {c.name for c in catalogue_mappings.columns}
        assert (listed[0].status, listed[0].cancelled_at, listed[2].own_name) == (
            "active",
            None,
            None,
        )
        assert cat.mappings("H9") == []
        assert cat.cancel_mapping("H1", "OWN-1") == 2
        assert cat.cancel_mapping("H1", "OWN-1") == 0
        uow.commit()
    with stores() as uow:
        cat = uow.catalogue
        assert [m.status for m in cat.mappings("H1")] == ["cancelled", "cancelled", "active"]
        assert cat.mappings("H1")[0].cancelled_at is not None
        assert cat.mapped("H1", ["OWN-1", "OWN-2"], date(2026, 3, 1)) == {"OWN-2": "A1"}


def test_the_audit_log_of_a_region(stores: Factory) -> None:  # noqa: F811
    staff = Principal("clerk-s", Role.CLERK, region="sample-city")
    elsewhere = Principal("clerk-o", Role.CLERK, region="other-town")
    member = Principal("p1", Role.INSURED, person_id="P1")
    place = Principal("h1", Role.INSTITUTION, institution_id="H1")
    school = Principal("s1", Role.SCHOOL, school_id="S1")
    with stores() as uow:
        registry_world(uow)
        uow.registry.add_region("other-town", "别镇", "Other Town", "110102")
        uow.schools.add_school("S1", "sample-city", "First school")
        for who in (staff, elsewhere, member, place, school):
            uow.accounts.add(
                {
                    "id": who.account,
                    "role": who.role.value,
                    "name": who.account,
                    "region": who.region,
                    "person_id": who.person_id,
                    "institution_id": who.institution_id,
                    "school_id": who.school_id,
                }
            )
        for n, who in enumerate((staff, elsewhere, member, place, school, OPERATOR)):
            uow.audit.record(who, "thing.do", "thing", str(n), None, {"n": n})
        uow.commit()
    with stores() as uow:
        mine = uow.audit.entries(region="sample-city")
        assert [e["actor"] for e in mine] == ["s1", "h1", "p1", "clerk-s"]
        assert mine[0]["after"] == {"n": 4}
        assert [e["actor"] for e in uow.audit.entries(region="other-town")] == ["clerk-o"]
        assert [e["actor"] for e in uow.audit.entries(region="sample-city", limit=1)] == ["s1"]
        assert len(uow.audit.entries()) == 6
