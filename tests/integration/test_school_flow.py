"""The whole school flow, as the issue's "done means" asks: a class list uploaded by the
school, declared by the guardian, submitted, accepted by the agency, the premium
collected through the bank, the card ordered and issued on the right working day, and
the child's first bill settled with it. Every step through the HTTP API, on SQLite and
on PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.auth import account, clerk, institution
from integration.conftest import FakeClock
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Role
from yibao.domain.ids import make_resident_id
from yibao.domain.model import LineClass
from yibao.domain.registry import CatalogueItem, Institution, InstitutionKind
from yibao.service.access import OPERATOR
from yibao.service.enrolment import NewPerson
from yibao.service.services import Services

REGION = "sample-city"
YEAR = 2027
CHILD_ID = make_resident_id("990100", date(2015, 3, 1), 12)
MUM_PHONE = "13900001111"


def test_from_the_class_list_to_a_settled_bill(
    engine: Engine, client: TestClient, services: Services, clock: FakeClock
) -> None:
    with UnitOfWork(engine) as uow:
        reg = uow.registry
        reg.add_region(REGION, "样本市", "Sample City", "990100")
        reg.add_catalogue_items(REGION, [CatalogueItem("TEST-A", "an A item", LineClass.A, None)])
        reg.add_institution(
            Institution("H1", REGION, "a level-1 hospital", 1, InstitutionKind.HOSPITAL, True)
        )
        uow.commit()
    services.schools.add_school(OPERATOR, "S1", "第一小学", REGION)
    school = account(services, Role.SCHOOL, school_id="S1")
    agency = clerk(services)
    mum_number = make_resident_id("990100", date(1986, 5, 4), 22)
    mum = services.enrolment.register_person(
        OPERATOR, NewPerson(mum_number, "王芳", REGION, phone=MUM_PHONE)
    )
    mum_h = account(services, Role.GUARDIAN, person_id=mum["id"])

    # 2026-10-15, inside the window for 2027: the school uploads its class list.
    lines = io.StringIO(newline="")
    writer = csv.writer(lines)
    writer.writerow(["身份证号", "姓名", "班级", "监护人", "监护人电话", "困难家庭"])
    writer.writerow([CHILD_ID, "李小明", "三年级二班", "王芳", MUM_PHONE, "否"])
    uploaded = client.post(
        "/v1/schools/S1/batches",
        headers=school,
        files={"file": ("三年级二班.csv", lines.getvalue().encode("utf-8-sig"))},
        data={"year": str(YEAR)},
    )
    assert uploaded.status_code == 201, uploaded.text
    batch = uploaded.json()["batch"]["id"]

    # The guardian confirms online; the school submits; the agency accepts.
    declared = client.post(f"/v1/school-batches/{batch}/rows/2/declaration", headers=mum_h)
    assert declared.status_code == 200, declared.text
    submitted = client.post(f"/v1/school-batches/{batch}/submission", headers=school)
    assert submitted.json()["submitted"] == [2], submitted.text
    reviewed = client.post(
        f"/v1/school-batches/{batch}/review", headers=agency, json={"accept_all": True}
    )
    assert reviewed.status_code == 200, reviewed.text
    child = reviewed.json()["accepted"][0]["person_id"]
    person = client.get(f"/v1/persons/{child}", headers=mum_h).json()
    assert person["enrolments"][0]["status"] == "pending"
    assert person["enrolments"][0]["premium"] == {
        "personal": "400.00",
        "subsidy": "640.00",
        "assistance": "0.00",
    }

    # The agency opens the collection account and sends it to the bank.
    opened = client.post(
        "/v1/collection/accounts", headers=agency, json={"region": REGION, "year": YEAR}
    )
    assert opened.status_code == 200, opened.text
    exported = client.get(
        "/v1/collection/accounts.csv", headers=agency, params={"region": REGION, "year": YEAR}
    )
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 1
    assert rows[0]["amount"] == "400.00"

    # The bank collected it on Tuesday 2026-10-20; its result file comes back.
    clock.today = date(2026, 10, 21)
    result = f"account,amount,date,status\n{rows[0]['account']},400.00,2026-10-20,success\n"
    imported = client.post(
        "/v1/collection/imports",
        headers=agency,
        files={"file": ("bank-2026-10-21.csv", result.encode())},
    )
    assert imported.status_code == 201, imported.text

    # Paid: the enrolment is active and a card ordered, due 20 working days after the
    # payment: 21-23 Oct (3), 26-30 Oct (8), 2-6 Nov (13), 9-13 Nov (18), 16-17 Nov (20).
    person = client.get(f"/v1/persons/{child}", headers=mum_h).json()
    assert person["enrolments"][0]["status"] == "active"
    assert person["enrolments"][0]["paid_on"] == "2026-10-20"
    (card,) = person["cards"]
    assert (card["status"], card["due_on"]) == ("ordered", "2026-11-17")

    bill = {
        "card_number": card["number"],
        "kind": "outpatient",
        "date": "2027-01-05",
        "lines": [{"code": "TEST-A", "quantity": "1", "unit_price": "200.00"}],
    }
    hospital = institution(services, "H1")
    not_yet = client.post("/v1/settlements", json=bill, headers=hospital)
    assert not_yet.status_code == 422
    assert not_yet.json()["code"] == "card_not_issued"
    assert "2026-11-17" in not_yet.json()["message"]

    # The card is issued on its due day; in January the child is seen at H1.
    clock.today = date(2026, 11, 17)
    issued = client.post(f"/v1/cards/{card['number']}/issue", headers=agency)
    assert issued.status_code == 200, issued.text
    assert issued.json()["issued_on"] == "2026-11-17"
    settled = client.post("/v1/settlements", json=bill, headers=hospital)
    assert settled.status_code == 201, settled.text
    view = settled.json()
    assert view["scheme"] == "student"
    assert view["total"] == "200.00"

    # The guardian sees the reimbursement with its explanation; the log has every step.
    year = client.get(f"/v1/persons/{child}/years/{YEAR}", headers=mum_h).json()
    (seen,) = year["settlements"]
    assert seen["id"] == view["id"]
    assert seen["explanation"]
    actions = {e["action"] for e in client.get("/v1/audit", headers=agency).json()}
    assert {
        "batch.upload",
        "row.declare",
        "batch.submit",
        "row.accept",
        "enrolment.create",
        "collection.open",
        "enrolment.activate",
        "card.order",
        "card.issue",
    } <= actions
