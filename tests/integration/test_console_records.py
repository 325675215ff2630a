"""The clerk's records on both databases: a settlement with its lines, explanation and
parameters, reversed through the console page (clerks only, with a reason, in the audit
log); the audit log with filters; the fund's income, spending and balance by month."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.roles_world import CITY, build
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Principal, Role
from yibao.domain.ids import make_resident_id, parse_resident_id
from yibao.domain.model import Scheme
from yibao.domain.registry import Enrolment, PersonRecord
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.web.session import SESSION_COOKIE
from yibao.service.errors import ServiceError
from yibao.service.services import Services

CLERK = Principal("clerk", Role.CLERK, region=CITY)


def payers(engine: Engine) -> None:
    """Two residents of 2026: one paid 400 in November 2025 (subsidy 640), one of an
    assistance family exempted in December 2025 (assistance 400, subsidy 640)."""
    with UnitOfWork(engine) as uow:
        for seq, pid, paid, personal, assistance in (
            (51, "R1", date(2025, 11, 20), "400", "0"),
            (61, "R2", date(2025, 12, 1), "0", "400"),
        ):
            number = make_resident_id("990100", date(1970, 1, 1), seq)
            uow.registry.add_person(
                PersonRecord(
                    pid,
                    number,
                    f"resident {pid}",
                    date(1970, 1, 1),
                    parse_resident_id(number).sex,
                    CITY,
                )
            )
            uow.registry.add_enrolment(
                Enrolment(
                    pid,
                    2026,
                    Scheme.RESIDENT,
                    "active",
                    date(2026, 1, 1),
                    date(2026, 12, 31),
                    personal=Decimal(personal),
                    subsidy=Decimal(640),
                    assistance=Decimal(assistance),
                    paid_on=paid,
                )
            )
        uow.commit()


def test_a_settlement_for_the_clerk(engine: Engine, client: TestClient, services: Services) -> None:
    world = build(engine, services, client)
    found = services.console.records.settlement(CLERK, world.settlement)
    assert found["person_name"] == "person C1"
    assert found["institution_name"] == "hospital I1"
    assert [ln["code"] for ln in found["lines"]] == ["TEST-A"]
    cited = [s["parameter"] for s in found["explanation"] if s["parameter"]]
    assert all(c["source"] for c in cited)
    assert any(c["file"].endswith(".yaml") for c in cited)
    assert found["reversal"] is None
    other = Principal("clerk-x", Role.CLERK, region="hill-county")
    with pytest.raises(ServiceError) as refused:
        services.console.records.settlement(other, world.settlement)
    assert refused.value.status == 404


def _csrf(pages: TestClient, path: str) -> str:
    shown = pages.get(path)
    assert shown.status_code == 200, shown.text
    found = re.search(r'name="csrf" value="([^"]+)"', shown.text)
    assert found is not None
    return found.group(1)


def test_reversal_through_the_console_page(
    engine: Engine, client: TestClient, services: Services
) -> None:
    world = build(engine, services, client)
    path = f"/console/settlements/{world.settlement}"
    app = create_app(services)
    approver = TestClient(app, follow_redirects=False)
    approver.cookies.set(SESSION_COOKIE, world.accounts["approver"]["Authorization"].split()[1])
    assert approver.post(path + "/reversal", data={"reason": "x"}).status_code == 403
    pages = TestClient(app, follow_redirects=False)
    pages.cookies.set(SESSION_COOKIE, world.accounts["clerk"]["Authorization"].split()[1])
    token = _csrf(pages, path)
    empty = pages.post(path + "/reversal", data={"csrf": token, "reason": ""})
    assert empty.status_code == 422
    assert 'id="e-reason"' in empty.text
    assert services.console.records.settlement(CLERK, world.settlement)["status"] == "settled"
    done = pages.post(path + "/reversal", data={"csrf": token, "reason": "billed twice"})
    assert done.status_code == 303
    after = services.console.records.settlement(CLERK, world.settlement)
    assert after["status"] == "reversed"
    assert after["reversal"]["reason"] == "billed twice"
    again = pages.post(path + "/reversal", data={"csrf": token, "reason": "again"})
    assert again.status_code == 422  # already reversed: said on the form, nothing done
    log = services.enrolment.audit(CLERK, object_type="settlement", object_id=str(world.settlement))
    assert [e["action"] for e in log] == ["settlement.reverse"]
    shown = pages.get("/console/audit", params={"object_type": "settlement", "lang": "en"})
    assert "settlement reversed" in shown.text


def test_income_spending_and_balance_by_month(
    engine: Engine, client: TestClient, services: Services
) -> None:
    build(engine, services, client)
    payers(engine)
    found = services.console.records.fund_months(CLERK, CITY, 2026)
    months = {m["month"]: m for m in found["months"]}
    assert months["2025-11"]["income"] == {
        "personal": "400.00",
        "subsidy": "640.00",
        "assistance": "0.00",
    }
    assert months["2025-12"]["income_total"] == "1040.00"
    assert months["2025-12"]["balance"] == "2080.00"
    assert found["income"] == {"personal": "400.00", "subsidy": "1280.00", "assistance": "400.00"}
    spent = Decimal(found["spending"])
    assert spent > 0  # C1's settlement in June
    assert months["2026-06"]["spending"] == found["spending"]
    assert Decimal(found["balance"]) == Decimal("2080.00") - spent
    assert found["months"][-1]["balance"] == found["balance"]
    with pytest.raises(ServiceError) as refused:
        services.console.records.fund_months(
            Principal("clerk-x", Role.CLERK, region="hill-county"), CITY, 2026
        )
    assert refused.value.code == "forbidden"


def test_a_clerk_corrects_a_person_in_the_audit_log(
    engine: Engine, client: TestClient, services: Services
) -> None:
    world = build(engine, services, client)
    clerk = services.access.authenticate(world.accounts["clerk"]["Authorization"].split()[1])
    assert clerk is not None
    records = services.console.records
    after = records.correct_person(clerk, "G1", "  张  伟 ", "13900000001", True)
    assert (after["name"], after["phone"], after["assistance"]) == ("张 伟", "13900000001", True)
    with UnitOfWork(engine) as uow:
        stored = uow.registry.person("G1")
        assert stored is not None
        assert (stored.name, stored.phone, stored.assistance) == ("张 伟", "13900000001", True)
    [entry] = services.enrolment.audit(clerk, object_type="person", object_id="G1")
    assert entry["action"] == "person.update"
    assert entry["before"]["name"] == "person G1"
    assert entry["after"]["name"] == "张 伟"
    for name, phone, code in (("", None, "invalid_name"), ("x", "12345", "invalid_phone")):
        with pytest.raises(ServiceError) as refused:
            records.correct_person(CLERK, "G1", name, phone, False)
        assert refused.value.code == code
    approver = Principal("approver", Role.APPROVER, region=CITY)
    with pytest.raises(ServiceError) as refused:
        records.correct_person(approver, "G1", "x", None, False)
    assert refused.value.code == "forbidden"
    with pytest.raises(ServiceError) as hidden:
        records.correct_person(
            Principal("c", Role.CLERK, region="hill-county"), "G1", "x", None, False
        )
    assert hidden.value.status == 404
