"""The school flow as use cases on the in-memory stores (no database): a class list
uploaded, declared by the guardian whose phone it names, submitted and accepted by the
agency, the child registered, linked and enrolled pending their premium; a list with a
bad row, or a pupil already on another open list, stores nothing."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from fakes import FakeDatabase
from fast.stores import policies
from yibao.domain.access import Principal, Role
from yibao.domain.ids import make_resident_id
from yibao.domain.model import Scheme
from yibao.service.access import OPERATOR
from yibao.service.enrolment import NewPerson
from yibao.service.errors import NotFoundError
from yibao.service.services import Services

REGION = "sample-city"
YEAR = 2027
MUM_PHONE = "13900001111"
CHILD = make_resident_id("990100", date(2015, 3, 1), 12)
OTHER_CHILD = make_resident_id("990100", date(2016, 7, 9), 31)
SCHOOL = Principal("school-s1", Role.SCHOOL, school_id="S1")
HEADER = ["身份证号", "姓名", "班级", "监护人", "监护人电话", "困难家庭"]


def class_list(*rows: list[str]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def child_row(number: str, name: str, phone: str, assistance: str = "否") -> list[str]:
    return [number, name, "三年级二班", "王芳", phone, assistance]


def world() -> tuple[FakeDatabase, Services, Principal]:
    """A region, a school, and a mother registered with her phone, signed in as guardian."""
    db = FakeDatabase()
    services = Services.build(db.unit_of_work, policies(), lambda: date(2026, 10, 15))
    with db.unit_of_work() as uow:
        uow.registry.add_region(REGION, "样本市", "Sample City", "990100")
        uow.commit()
    services.schools.add_school(OPERATOR, "S1", "第一小学", REGION)
    mum_number = make_resident_id("990100", date(1986, 5, 4), 22)
    mum = services.enrolment.register_person(
        OPERATOR, NewPerson(mum_number, "王芳", REGION, phone=MUM_PHONE)
    )
    with db.unit_of_work() as uow:
        uow.accounts.add({"id": "mum", "role": "guardian", "name": "王芳", "person_id": mum["id"]})
        uow.commit()
    return db, services, Principal("mum", Role.GUARDIAN, person_id=mum["id"])


def test_a_class_list_from_upload_to_the_agencys_acceptance() -> None:
    db, services, mum = world()
    rows = [
        child_row(CHILD, "李小明", MUM_PHONE, "是"),
        child_row(OTHER_CHILD, "张三", "13900002222"),
    ]
    uploaded = services.schools.upload(SCHOOL, "S1", YEAR, "三年级二班.csv", class_list(*rows))
    assert (uploaded["ok"], uploaded["rows"], uploaded["errors"]) == (True, 2, [])
    batch = uploaded["batch"]["id"]

    # The guardian sees and declares only the row that names her phone.
    assert [(r["row"], r["school_id"]) for r in services.schools.my_rows(mum)] == [(2, "S1")]
    assert services.schools.declare(mum, batch, 2)["status"] == "declared"
    with pytest.raises(NotFoundError) as unknown:
        services.schools.declare(mum, batch, 3)
    assert unknown.value.code == "unknown_row"

    submitted = services.schools.submit(SCHOOL, batch)
    assert (submitted["submitted"], submitted["not_declared"]) == ([2], [3])
    reviewed = services.schools.review(OPERATOR, batch, accept_all=True)
    ((accepted),) = reviewed["accepted"]
    assert accepted["row"] == 2
    assert reviewed["batch"]["status"] == "reviewed"

    with db.unit_of_work() as uow:
        child = uow.registry.person(accepted["person_id"])
        assert (child.id_number, child.name, child.region, child.assistance) == (
            CHILD,
            "李小明",
            REGION,
            True,
        )
        enrolment = uow.registry.enrolment(child.id, YEAR)
        assert (enrolment.scheme, enrolment.status) == (Scheme.STUDENT, "pending")
        assert uow.registry.guardians_of(child.id) == [mum.person_id]
        assert uow.schools.row(batch, 2).person_id == child.id
        assert uow.schools.row(batch, 3).status == "imported"  # awaits its guardian
        actions = [e["action"] for e in uow.audit.entries(object_type="school_batch")]
        assert actions == ["batch.submit", "batch.upload"]
        (accept,) = uow.audit.entries(object_type="school_batch_row", object_id=f"{batch}/2")[:1]
        assert (accept["action"], accept["after"]["person_id"]) == ("row.accept", child.id)
        (created,) = uow.audit.entries(object_type="person", object_id=child.id)
        assert created["action"] == "person.create"


def test_a_list_with_a_bad_row_or_a_pupil_on_another_open_list_stores_nothing() -> None:
    db, services, _ = world()
    first = services.schools.upload(
        SCHOOL, "S1", YEAR, "a.csv", class_list(child_row(CHILD, "李小明", MUM_PHONE))
    )
    assert first["ok"]
    commits = db.commits
    again = services.schools.upload(
        SCHOOL,
        "S1",
        YEAR,
        "b.csv",
        class_list(child_row(CHILD, "李小明", MUM_PHONE), child_row("12345", "张三", MUM_PHONE)),
    )
    assert (again["ok"], again["bad_rows"]) == (False, 2)
    codes = {(e["row"], e["code"]) for e in again["errors"]}
    assert (2, "on_another_list") in codes
    assert any(row == 3 for row, _ in codes)
    assert db.commits == commits
    with db.unit_of_work() as uow:
        assert [b.id for b in uow.schools.batches_of("S1")] == [first["batch"]["id"]]
