"""School batch enrolment on SQLite and PostgreSQL: uploads with a row-by-row report that
store nothing when a row is bad, guardians' declarations, submission, the agency's review,
and who may see what."""

from __future__ import annotations

import csv
import io
import random
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from integration.auth import account, clerk
from yibao.adapters.db.tables_schools import school_batch_rows, school_batches
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Role
from yibao.domain.ids import make_resident_id
from yibao.domain.registry import Institution, InstitutionKind
from yibao.service.access import OPERATOR
from yibao.service.enrolment import NewPerson
from yibao.service.services import Services

HEADER = ["身份证号", "姓名", "班级", "监护人", "监护人电话", "困难家庭"]
YEAR = 2027


def pupil_id(n: int, born: date | None = None) -> str:
    born = born or date(2012 + n % 8, 1 + n % 12, 1 + n % 28)
    return make_resident_id("990100", born, n % 1000)


def row(n: int, **change: str) -> list[str]:
    values = {
        "id_number": pupil_id(n),
        "name": f"学生{n}",
        "class_name": f"{1 + n % 6}年级{1 + n % 4}班",
        "guardian_name": f"家长{n}",
        "guardian_phone": f"139{n:08d}",
        "assistance": "否",
    }
    values.update(change)
    return list(values.values())


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def distinct_ids(count: int) -> list[int]:
    """Pupil numbers whose generated ID numbers differ (birth date and sequence vary)."""
    seen: dict[str, int] = {}
    n = 0
    while len(seen) < count:
        seen.setdefault(pupil_id(n), n)
        n += 1
    return list(seen.values())


@pytest.fixture
def world(engine: Engine, services: Services) -> dict[str, Any]:
    with UnitOfWork(engine) as uow:
        uow.registry.add_region("sample-city", "样本市", "Sample City", "990100")
        uow.registry.add_region("hill-county", "山县", "Hill County", "990200")
        uow.commit()
    services.schools.add_school(OPERATOR, "S1", "第一小学", "sample-city")
    services.schools.add_school(OPERATOR, "S2", "第二小学", "sample-city")
    return {
        "s1": account(services, Role.SCHOOL, school_id="S1"),
        "s2": account(services, Role.SCHOOL, school_id="S2"),
        "clerk": clerk(services),
    }


def upload(
    client: TestClient,
    who: dict[str, str],
    content: bytes,
    name: str = "list.csv",
    school: str = "S1",
) -> Any:
    return client.post(
        f"/v1/schools/{school}/batches",
        headers=who,
        files={"file": (name, content)},
        data={"year": str(YEAR)},
    )


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        batches = conn.execute(select(func.count()).select_from(school_batches)).scalar_one()
        rows = conn.execute(select(func.count()).select_from(school_batch_rows)).scalar_one()
    return int(batches), int(rows)


def test_a_csv_list_is_stored_and_the_school_reads_it(
    client: TestClient, services: Services, world: dict[str, Any], engine: Engine
) -> None:
    answer = upload(client, world["s1"], csv_bytes([row(1), row(2, assistance="是"), row(3)]))
    assert answer.status_code == 201, answer.text
    report = answer.json()
    assert report["ok"] is True
    assert report["rows"] == 3
    assert report["errors"] == []
    batch = report["batch"]
    assert batch["status"] == "open"
    assert batch["counts"]["imported"] == 3
    rows = client.get(f"/v1/school-batches/{batch['id']}/rows", headers=world["s1"]).json()["rows"]
    assert [r["row"] for r in rows] == [2, 3, 4]  # the sheet's rows, the header being 1
    assert rows[1]["assistance"] is True
    assert rows[0]["assistance"] is False
    assert rows[0]["birth_date"] == "2013-02-02"
    assert rows[0]["sex"] == "M"
    listed = client.get("/v1/schools/S1/batches", headers=world["s1"]).json()
    assert [b["id"] for b in listed] == [batch["id"]]
    with UnitOfWork(engine) as uow:
        audit = uow.audit.entries(object_type="school_batch", object_id=str(batch["id"]))
    assert [(a["action"], a["after"]["rows"]) for a in audit] == [("batch.upload", 3)]


def test_an_xlsx_list_with_number_cells_is_read(client: TestClient, world: dict[str, Any]) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["id_number", "name", "class", "guardian_phone", "assistance", "学号"])
    sheet.append([pupil_id(5), "王五", "一年级1班", 13900000005, 1, "A-17"])
    sheet.append([pupil_id(6), "赵六", "一年级1班", "139 0000 0006", "否", "A-18"])
    out = io.BytesIO()
    book.save(out)
    answer = upload(client, world["s1"], out.getvalue(), name="名单.xlsx")
    assert answer.status_code == 201, answer.text
    batch = answer.json()["batch"]
    rows = client.get(f"/v1/school-batches/{batch['id']}/rows", headers=world["s1"]).json()["rows"]
    assert [(r["guardian_phone"], r["assistance"]) for r in rows] == [
        ("13900000005", True),
        ("13900000006", False),
    ]
    assert batch["file_name"] == "名单.xlsx"


def test_every_reason_is_reported_by_row_and_nothing_is_stored(
    client: TestClient, services: Services, world: dict[str, Any], engine: Engine
) -> None:
    # Already enrolled for the year at the agency; on another school's open list;
    # registered in another region; registered under another name.
    enrolled, listed, elsewhere, renamed = (
        pupil_id(101),
        pupil_id(102),
        pupil_id(103),
        pupil_id(104),
    )
    services.enrolment.enrol_household(OPERATOR, NewPerson(enrolled, "已参保", "sample-city"), YEAR)
    assert upload(client, world["s2"], csv_bytes([row(102)]), school="S2").status_code == 201
    services.enrolment.register_person(OPERATOR, NewPerson(elsewhere, "外地", "hill-county"))
    services.enrolment.register_person(OPERATOR, NewPerson(renamed, "李四", "sample-city"))
    before = counts(engine)
    good = pupil_id(1)
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    rows = [
        row(1),  # row 2: fine
        row(2, id_number=bad_check),  # 3
        row(3, id_number="99010020121301001X"),  # 4: month 13
        row(4, id_number=make_resident_id("990100", date(2008, 6, 1), 4)),  # 5: 18 on 2027-01-01
        row(5, id_number=good),  # 6: the number of row 2 again
        row(6, id_number=enrolled, name="已参保"),  # 7
        row(7, id_number=listed),  # 8
        row(8, guardian_phone=""),  # 9
        row(9, guardian_phone="1390000000"),  # 10: 10 digits
        row(10, name=" "),  # 11
        row(11, id_number=make_resident_id("990100", date(2026, 12, 1), 11)),  # 12: not born yet
        row(12, id_number=elsewhere, name="外地"),  # 13
        row(13, id_number=renamed, name="李思"),  # 14
        row(14, assistance="maybe"),  # 15
        row(15, name="示例 Example"),  # 16: the template's example row
        row(16, id_number="12345"),  # 17
    ]
    answer = upload(client, world["s1"], csv_bytes(rows))
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_rows"
    assert answer.json()["message"].startswith("15 of 16 rows have errors; nothing was imported")
    report = answer.json()["details"]
    assert report["ok"] is False
    assert report["batch"] is None
    found = [(e["row"], e["field"], e["code"]) for e in report["errors"]]
    assert found == [
        (3, "id_number", "invalid_id_number"),
        (4, "id_number", "invalid_id_number"),
        (5, "id_number", "too_old"),
        (6, "id_number", "duplicate_in_file"),
        (7, "id_number", "already_enrolled"),
        (8, "id_number", "on_another_list"),
        (9, "guardian_phone", "missing_guardian_phone"),
        (10, "guardian_phone", "invalid_guardian_phone"),
        (11, "name", "empty_name"),
        (12, "id_number", "implausible_birth_date"),
        (13, "id_number", "registered_elsewhere"),
        (14, "name", "name_differs"),
        (15, "assistance", "invalid_assistance"),
        (16, "name", "example_row"),
        (17, "id_number", "invalid_id_number"),
    ]
    assert report["rows"] == 16
    assert report["bad_rows"] == 15
    reasons = {e["row"]: e["reason"] for e in report["errors"]}
    assert "row 2" in reasons[6]
    assert "13 is not a date" not in reasons[4]
    assert "20121301" in reasons[4]
    assert "18 on 2027-01-01" in reasons[5]
    assert "under 18" in reasons[5]
    assert "S2" in reasons[8]
    assert reasons[7] == "already enrolled for 2027"
    assert "李四" in reasons[14]
    assert "hill-county" in reasons[13]
    assert counts(engine) == before  # not the batch, not a row


def test_ten_thousand_rows_with_37_bad_report_exactly_those_then_import_when_fixed(
    services: Services, world: dict[str, Any], engine: Engine
) -> None:
    school = services.access.authenticate(world["s1"]["Authorization"].split()[1])
    assert school is not None
    numbers = distinct_ids(10_000)
    rows = [row(n) for n in numbers]
    rng = random.Random(37)
    bad_at = sorted(rng.sample(range(1, 10_000), 37))  # indexes into rows (row number = i + 2)
    kinds = ["checksum", "phone", "no_phone", "name", "too_old", "duplicate"]
    expected: dict[int, str] = {}
    for k, i in enumerate(bad_at):
        kind = kinds[k % len(kinds)]
        n = numbers[i]
        if kind == "checksum":
            good = rows[i][0]
            rows[i] = row(n, id_number=good[:17] + ("0" if good[17] != "0" else "1"))
            expected[i + 2] = "invalid_id_number"
        elif kind == "phone":
            rows[i] = row(n, guardian_phone="2390000000")
            expected[i + 2] = "invalid_guardian_phone"
        elif kind == "no_phone":
            rows[i] = row(n, guardian_phone="")
            expected[i + 2] = "missing_guardian_phone"
        elif kind == "name":
            rows[i] = row(n, name="")
            expected[i + 2] = "empty_name"
        elif kind == "too_old":
            rows[i] = row(n, id_number=make_resident_id("990100", date(2005, 1, 1), i % 1000))
            expected[i + 2] = "too_old"
        else:
            rows[i] = row(n, id_number=rows[0][0])  # the first row's number again
            expected[i + 2] = "duplicate_in_file"
    content = csv_bytes(rows)

    report = services.schools.upload(school, "S1", YEAR, "10000.csv", content)
    assert report["ok"] is False
    assert report["rows"] == 10_000
    assert report["bad_rows"] == 37
    assert {e["row"]: e["code"] for e in report["errors"]} == expected
    assert len(report["errors"]) == 37
    duplicate = next(e for e in report["errors"] if e["code"] == "duplicate_in_file")
    assert duplicate["reason"] == "the ID number is also on row 2 of this file"
    assert counts(engine) == (0, 0)

    for i in bad_at:
        rows[i] = row(numbers[i])
    report = services.schools.upload(school, "S1", YEAR, "10000.csv", csv_bytes(rows))
    assert report["ok"] is True, report["errors"][:3]
    assert report["batch"]["counts"]["imported"] == 10_000
    assert counts(engine) == (1, 10_000)


def guardian(services: Services, n: int, phone: str) -> dict[str, str]:
    """A registered adult with this phone, and their guardian account."""
    number = make_resident_id("990100", date(1985, 1, 1 + n), 100 + n)
    person = services.enrolment.register_person(
        OPERATOR, NewPerson(number, f"家长{n}", "sample-city", phone=phone)
    )
    return account(services, Role.GUARDIAN, person_id=person["id"])


def test_guardians_declare_the_school_submits_the_agency_accepts_and_returns(
    client: TestClient, services: Services, world: dict[str, Any], engine: Engine
) -> None:
    s1, clerk_h = world["s1"], world["clerk"]
    # Rows 2 and 3: two children of one guardian (row 3 a low-income family); row 4:
    # another guardian's; row 5: nobody declares it.
    rows = [
        row(1, guardian_phone="13911110000"),
        row(2, guardian_phone="13911110000", assistance="是"),
        row(3, guardian_phone="13922220000"),
        row(4, guardian_phone="13933330000"),
    ]
    batch_id = upload(client, s1, csv_bytes(rows)).json()["batch"]["id"]
    mum = guardian(services, 1, "13911110000")
    dad = guardian(services, 2, "13922220000")

    mine = client.get("/v1/school-rows", headers=mum).json()
    assert [(r["row"], r["school_name"], r["year"]) for r in mine] == [
        (2, "第一小学", YEAR),
        (3, "第一小学", YEAR),
    ]
    declare = f"/v1/school-batches/{batch_id}/rows/{{}}/declaration"
    # A guardian cannot declare a row that gives another phone: it is not theirs to see.
    refused = client.post(declare.format(2), headers=dad)
    assert refused.status_code == 404
    assert refused.json()["code"] == "unknown_row"
    for n, who in ((2, mum), (3, mum), (4, dad)):
        answer = client.post(declare.format(n), headers=who)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "declared"
    assert client.post(declare.format(2), headers=mum).status_code == 409

    submitted = client.post(f"/v1/school-batches/{batch_id}/submission", headers=s1)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["submitted"] == [2, 3, 4]
    assert submitted.json()["not_declared"] == [5]
    assert submitted.json()["batch"]["status"] == "submitted"

    review = client.post(
        f"/v1/school-batches/{batch_id}/review",
        headers=clerk_h,
        json={"accept": [2, 3], "return": [{"row": 4, "reason": "班级填写错误"}]},
    )
    assert review.status_code == 200, review.text
    body = review.json()
    assert body["returned"] == [4]
    assert body["batch"]["status"] == "reviewed"
    accepted = {a["row"]: a["person_id"] for a in body["accepted"]}
    assert set(accepted) == {2, 3}

    # The accepted children are registered, enrolled pending through the school, with
    # the premium's parts; the low-income family pays nothing, assistance pays 400.
    child = client.get(f"/v1/persons/{accepted[3]}", headers=mum)
    with UnitOfWork(engine) as uow:
        plain = uow.registry.enrolment(accepted[2], YEAR)
        exempt = uow.registry.enrolment(accepted[3], YEAR)
        linked = [uow.registry.guardians_of(accepted[n]) for n in (2, 3)]
        person = uow.registry.person(accepted[3])
    assert plain is not None
    assert exempt is not None
    assert person is not None
    assert (plain.status, plain.channel, plain.school_id) == ("pending", "school", "S1")
    assert (str(plain.personal), str(plain.subsidy), str(plain.assistance)) == (
        "400.00",
        "640.00",
        "0.00",
    )
    assert (str(exempt.personal), str(exempt.subsidy), str(exempt.assistance)) == (
        "0.00",
        "640.00",
        "400.00",
    )
    assert person.assistance is True
    assert person.phone == "13911110000"
    mum_id = make_resident_id("990100", date(1985, 1, 2), 101)
    assert linked == [[f"P{mum_id}"], [f"P{mum_id}"]]
    # The guardian and the school see the enrolled child; another school does not.
    assert child.status_code == 200, child.text
    assert child.json()["enrolments"][0]["channel"] == "school"
    assert client.get(f"/v1/persons/{accepted[3]}", headers=s1).status_code == 200
    assert client.get(f"/v1/persons/{accepted[3]}", headers=world["s2"]).status_code == 404

    # The returned row: the school sees the reason, corrects it, the guardian declares
    # again, the school submits again, and the agency accepts the rest.
    rows_out = client.get(
        f"/v1/school-batches/{batch_id}/rows", headers=s1, params={"status": "returned"}
    ).json()["rows"]
    assert [(r["row"], r["return_reason"]) for r in rows_out] == [(4, "班级填写错误")]
    fixed = client.put(
        f"/v1/school-batches/{batch_id}/rows/4",
        headers=s1,
        json={
            "id_number": pupil_id(3),
            "name": "学生3",
            "class_name": "四年级4班",
            "guardian_phone": "13922220000",
        },
    )
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["status"], fixed.json()["class_name"]) == ("imported", "四年级4班")
    bad_fix = client.put(
        f"/v1/school-batches/{batch_id}/rows/4",
        headers=s1,
        json={"id_number": pupil_id(3), "name": "学生3", "guardian_phone": "123"},
    )
    assert bad_fix.status_code == 422
    assert bad_fix.json()["code"] == "invalid_guardian_phone"
    assert client.post(declare.format(4), headers=dad).status_code == 200
    assert client.post(f"/v1/school-batches/{batch_id}/submission", headers=s1).json()[
        "submitted"
    ] == [4]
    review = client.post(
        f"/v1/school-batches/{batch_id}/review", headers=clerk_h, json={"accept_all": True}
    )
    assert review.status_code == 200, review.text
    assert [a["row"] for a in review.json()["accepted"]] == [4]
    assert review.json()["batch"]["counts"] == {
        "imported": 1,
        "declared": 0,
        "submitted": 0,
        "accepted": 3,
        "returned": 0,
    }

    with UnitOfWork(engine) as uow:
        actions = sorted(
            (a["action"], a["object_id"])
            for a in uow.audit.entries(limit=1000)
            if a["object_type"] in ("school_batch", "school_batch_row")
        )
    b = str(batch_id)
    assert actions == sorted(
        [
            ("batch.upload", b),
            *[("row.declare", f"{b}/{n}") for n in (2, 3, 4, 4)],
            ("batch.submit", b),
            ("batch.submit", b),
            ("row.accept", f"{b}/2"),
            ("row.accept", f"{b}/3"),
            ("row.return", f"{b}/4"),
            ("row.correct", f"{b}/4"),
            ("row.accept", f"{b}/4"),
        ]
    )


def test_a_review_that_fails_on_one_row_stores_nothing(
    client: TestClient, services: Services, world: dict[str, Any], engine: Engine
) -> None:
    s1 = world["s1"]
    batch_id = upload(client, s1, csv_bytes([row(1), row(2)])).json()["batch"]["id"]
    for n in (2, 3):
        client.post(f"/v1/school-batches/{batch_id}/rows/{n}/declaration", headers=world["clerk"])
    client.post(f"/v1/school-batches/{batch_id}/submission", headers=s1)
    # Meanwhile the second pupil was enrolled at the agency.
    services.enrolment.enrol_household(
        OPERATOR, NewPerson(pupil_id(2), "学生2", "sample-city"), YEAR
    )
    answer = client.post(
        f"/v1/school-batches/{batch_id}/review", headers=world["clerk"], json={"accept_all": True}
    )
    assert answer.status_code == 409
    assert answer.json()["code"] == "already_enrolled"
    assert answer.json()["message"].startswith("row 3: ")
    with UnitOfWork(engine) as uow:
        assert uow.registry.person_by_id_number(pupil_id(1)) is None
        assert uow.schools.row_counts(batch_id) == {"submitted": 2}


def test_each_account_sees_only_what_is_its_own(
    client: TestClient, services: Services, world: dict[str, Any], engine: Engine
) -> None:
    batch_id = upload(client, world["s1"], csv_bytes([row(1)])).json()["batch"]["id"]
    s2 = world["s2"]
    for method, path in (
        ("GET", f"/v1/school-batches/{batch_id}"),
        ("GET", f"/v1/school-batches/{batch_id}/rows"),
        ("POST", f"/v1/school-batches/{batch_id}/submission"),
        ("GET", "/v1/schools/S1/batches"),
        ("GET", "/v1/schools/S1"),
    ):
        answer = client.request(method, path, headers=s2)
        assert answer.status_code == 404, (path, answer.text)
        assert "学生" not in answer.text
    assert upload(client, s2, csv_bytes([row(9)]), school="S1").status_code == 404
    assert [s["id"] for s in client.get("/v1/schools", headers=s2).json()] == ["S2"]

    hill_clerk = clerk(services, region="hill-county")
    assert client.get(f"/v1/school-batches/{batch_id}", headers=hill_clerk).status_code == 404
    assert client.get("/v1/schools", headers=hill_clerk).json() == []

    with_phone = guardian(services, 3, "13700000000")
    assert client.get(f"/v1/school-batches/{batch_id}/rows", headers=with_phone).status_code == 403
    assert client.get("/v1/school-rows", headers=with_phone).json() == []
    insured = account(
        services,
        Role.INSURED,
        person_id=services.enrolment.register_person(
            OPERATOR,
            NewPerson(make_resident_id("990100", date(1990, 5, 5), 7), "某人", "sample-city"),
        )["id"],
    )
    institution_id = "H1"
    with UnitOfWork(engine) as uow:
        uow.registry.add_institution(
            Institution(institution_id, "sample-city", "医院", 3, InstitutionKind.HOSPITAL, True)
        )
        uow.commit()
    hospital = account(services, Role.INSTITUTION, institution_id=institution_id)
    for who in (insured, hospital, with_phone):
        refused = upload(client, who, csv_bytes([row(8)]))
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
    assert (
        client.post(
            "/v1/schools",
            headers=world["s1"],
            json={"id": "S9", "name": "x", "region": "sample-city"},
        ).status_code
        == 403
    )
    review = client.post(
        f"/v1/school-batches/{batch_id}/review", headers=world["s1"], json={"accept_all": True}
    )
    assert review.status_code == 403
    assert upload(client, {"X-Test-As": "anonymous"}, csv_bytes([row(8)])).status_code == 401


def test_an_upload_outside_the_window_is_refused_with_its_dates(
    client: TestClient, world: dict[str, Any], clock: Any, engine: Engine
) -> None:
    clock.today = date(2026, 12, 1)
    answer = upload(client, world["s1"], csv_bytes([row(1)]))
    assert answer.status_code == 422
    error = answer.json()
    assert error["code"] == "outside_enrolment_window"
    assert "2026-09-01" in error["message"]
    assert "2026-11-30" in error["message"]
    assert error["details"] == {"opens": "2026-09-01", "closes": "2026-11-30"}
    assert counts(engine) == (0, 0)


def test_the_templates_download_and_read_back(
    client: TestClient, world: dict[str, Any], engine: Engine
) -> None:
    as_csv = client.get("/v1/schools/template.csv", headers=world["s1"])
    assert as_csv.status_code == 200
    assert as_csv.content.startswith(b"\xef\xbb\xbf")
    header = as_csv.content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("身份证号 (id_number),姓名 (name)")
    as_xlsx = client.get("/v1/schools/template.xlsx", headers=world["clerk"])
    assert as_xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet["A1"].value == "身份证号 (id_number)"
    assert sheet["A2"].number_format == "@"
    # Uploaded unchanged, the template's example row is refused by name.
    for name, content in (("t.csv", as_csv.content), ("t.xlsx", as_xlsx.content)):
        answer = upload(client, world["s1"], content, name=name)
        assert answer.status_code == 422
        assert [e["code"] for e in answer.json()["details"]["errors"]] == ["example_row"]
    assert (
        client.get("/v1/schools/template.csv", headers={"X-Test-As": "anonymous"}).status_code
        == 401
    )
    assert counts(engine) == (0, 0)


def test_a_file_that_is_not_a_class_list_is_one_clear_error(
    client: TestClient, world: dict[str, Any]
) -> None:
    no_phone = csv_bytes([["x", "y"]], header=["身份证号", "姓名"])
    answer = upload(client, world["s1"], no_phone)
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_header"
    assert "guardian_phone" in answer.json()["message"]
    broken = upload(client, world["s1"], b"PK\x03\x04 not really a workbook", name="a.xlsx")
    assert broken.status_code == 422
    assert broken.json()["code"] == "unreadable_class_list"
    empty = upload(client, world["s1"], csv_bytes([]))
    assert empty.status_code == 422
    assert empty.json()["code"] == "empty_class_list"


def test_the_school_commands(
    services: Services,
    world: dict[str, Any],
    engine: Engine,
    clock: Any,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from yibao.entrypoints import cli_common
    from yibao.entrypoints.cli import app

    # The commands' services, on this test's database and clock.
    monkeypatch.setattr(
        cli_common, "services", lambda e, p, *_: Services.build(lambda: UnitOfWork(e), p, clock)
    )
    monkeypatch.setenv("YIBAO_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["school", *args])

    out = tmp_path / "t.xlsx"
    assert run("template", "--format", "xlsx", "--out", str(out)).exit_code == 0
    assert load_workbook(out).active["B1"].value == "姓名 (name)"
    assert run("template", "--format", "pdf", "--out", str(out)).exit_code == 2

    added = run("add", "--id", "S3", "--name", "第三中学", "--region", "sample-city")
    assert added.exit_code == 0, added.output
    assert "school S3 (第三中学) in sample-city" in added.output
    again = run("add", "--id", "S3", "--name", "第三中学", "--region", "sample-city")
    assert again.exit_code == 2
    assert "error: school 'S3' already exists" in again.output

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([row(1), row(2, guardian_phone="12"), row(3, name="")]))
    failed = run("import", str(bad), "--school", "S3", "--year", str(YEAR))
    assert failed.exit_code == 2
    assert "row 3: guardian_phone: '12' is not an 11-digit mainland mobile number" in failed.output
    assert "row 4: name: the name is empty" in failed.output
    assert "error: 2 of 3 rows have errors; nothing was imported" in failed.output
    assert counts(engine) == (0, 0)

    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([row(1), row(2)]))
    as_other = run("import", str(good), "--school", "S3", "--year", str(YEAR), "--as", "nobody")
    assert as_other.exit_code == 2
    assert "no active account 'nobody'" in as_other.output
    s2 = services.access.authenticate(world["s2"]["Authorization"].split()[1])
    assert s2 is not None
    refused = run("import", str(good), "--school", "S3", "--year", str(YEAR), "--as", s2.account)
    assert refused.exit_code == 2
    assert "school 'S3' is not known" in refused.output
    imported = run("import", str(good), "--school", "S3", "--year", str(YEAR))
    assert imported.exit_code == 0, imported.output
    batch_id = int(imported.output.split()[1].rstrip(":"))
    assert f"batch {batch_id}: 2 rows of good.csv imported for S3, 2027" in imported.output

    nothing = run("review", str(batch_id), "--accept-all")
    assert nothing.exit_code == 2
    assert "no submitted rows" in nothing.output
    s3 = services.access.create_account(OPERATOR, "school-s3", Role.SCHOOL, "s3", school_id="S3")
    assert s3["id"] == "school-s3"
    for n in ("2", "3"):  # declarations made on paper at the agency
        declared = run("declare", str(batch_id), n)
        assert declared.exit_code == 0, declared.output
        assert f"batch {batch_id} row {n}: declared" in declared.output
    not_the_school = run("submit", str(batch_id))  # the operator is not the school
    assert not_the_school.exit_code == 2
    submitted = run("submit", str(batch_id), "--as", "school-s3")
    assert submitted.exit_code == 0, submitted.output
    assert f"batch {batch_id}: 2 rows submitted; 0 not declared yet" in submitted.output
    bad_return = run("review", str(batch_id), "--return", "3")
    assert bad_return.exit_code == 2
    reviewed = run("review", str(batch_id), "--accept", "2", "--return", "3=班级填写错误")
    assert reviewed.exit_code == 0, reviewed.output
    assert f"batch {batch_id}: 1 rows accepted and enrolled, 1 returned" in reviewed.output
    rows = services.schools.rows(OPERATOR, batch_id)
    returned = [r for r in rows["rows"] if r["status"] == "returned"]
    assert [(r["row"], r["return_reason"]) for r in returned] == [(3, "班级填写错误")]
    corrected = run(
        "correct", str(batch_id), "3", "--id-number", pupil_id(2), "--name", "学生2",
        "--guardian-phone", "13900000002", "--class", "三年级一班", "--as", "school-s3",
    )  # fmt: skip
    assert corrected.exit_code == 0, corrected.output
    assert f"batch {batch_id} row 3: corrected, imported" in corrected.output
    bad = run(
        "correct", str(batch_id), "3", "--id-number", pupil_id(2), "--name", "学生2",
        "--guardian-phone", "12", "--as", "school-s3",
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "guardian_phone" in bad.output
    with UnitOfWork(engine) as uow:
        enrolment = uow.registry.enrolment(f"P{pupil_id(1)}", YEAR)
    assert enrolment is not None
    assert (enrolment.channel, enrolment.school_id) == ("school", "S3")
