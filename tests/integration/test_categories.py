"""A person's category in the registry (dated, with the audit log), and the settlement
reading it: river-county's low-income person is paid 5 points more from the day the
category is in force (the scenario rc-category-points-dated.yaml, through the API)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from integration.auth import account, clerk
from integration.world import bill_json, register
from yibao.adapters.db import tables as t
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import search_path
from yibao.adapters.scenario_files import load_scenario
from yibao.domain.access import Principal, Role
from yibao.domain.model import CategorySpan, Kind
from yibao.entrypoints.web.session import SESSION_COOKIE
from yibao.service.errors import ConflictError, ServiceError
from yibao.service.services import Services

TESTS = Path(__file__).resolve().parent.parent
SCENARIO = TESTS / "scenarios" / "river-county" / "rc-category-points-dated.yaml"
CLERK = Principal(account="river-clerk", role=Role.CLERK, region="river-county")


@pytest.fixture
def world(engine: Engine) -> str:
    scenario = load_scenario(SCENARIO)
    # The person without the scenario's category: the tests record it in the registry.
    scenario = replace(scenario, person=replace(scenario.person, categories=()))
    with UnitOfWork(engine) as uow:
        who = register(uow, scenario, search_path())
        uow.commit()
    return who.person_id


def test_a_recorded_category_is_settled_from_its_first_day(
    world: str, services: Services, client: TestClient, engine: Engine
) -> None:
    view = services.categories.record(CLERK, world, "low_income", date(2026, 7, 1), None)
    assert view == {
        "person_id": world,
        "category": "low_income",
        "valid_from": "2026-07-01",
        "valid_to": None,
    }
    assert services.categories.of(CLERK, world) == [
        {"category": "low_income", "valid_from": "2026-07-01", "valid_to": None}
    ]
    with UnitOfWork(engine) as uow:
        assert uow.registry.categories(world) == (
            CategorySpan("low_income", date(2026, 7, 1), None),
        )
    with engine.connect() as conn:
        audit = conn.execute(
            select(t.audit_log).where(t.audit_log.c.action == "category.record")
        ).all()
    assert len(audit) == 1
    scenario = load_scenario(SCENARIO)
    card = f"CARD-{world}"
    paid = []
    for enc in scenario.encounters:
        answer = client.post(
            "/v1/settlements",
            json=bill_json(card, enc),
            headers={"X-Institution": enc.hospital.id},
        )
        assert answer.status_code == 201, answer.text
        paid.append(answer.json()["basic"])
    assert paid == ["850.00", "900.00", "6500.00"]  # 85%, then 90% and 65% from 1 July


def test_overlapping_and_unknown_categories_are_refused(world: str, services: Services) -> None:
    services.categories.record(
        CLERK, world, "special_hardship", date(2026, 1, 1), date(2026, 6, 30)
    )
    with pytest.raises(ConflictError, match="already special_hardship"):
        services.categories.record(CLERK, world, "low_income", date(2026, 6, 30), None)
    with pytest.raises(ServiceError, match="not one of low_income"):
        services.categories.record(CLERK, world, "rich", None, None)
    with pytest.raises(ServiceError, match="is before valid_from"):
        services.categories.record(CLERK, world, "low_income", date(2026, 9, 1), date(2026, 8, 1))
    services.categories.record(CLERK, world, "low_income", date(2026, 7, 1), None)
    assert [c["category"] for c in services.categories.of(CLERK, world)] == [
        "special_hardship",
        "low_income",
    ]


def test_1101_sends_the_categories_in_idetinfo(
    world: str, services: Services, client: TestClient, engine: Engine
) -> None:
    from integration.test_fsi import His, cert, insured

    services.categories.record(CLERK, world, "poverty_registered", date(2026, 3, 1), None)
    with UnitOfWork(engine) as uow:
        me = insured(uow, world, f"CARD-{world}")
    his = His(client, "H0")
    his.day = date(2026, 6, 1)
    his.sign_in()
    info = his.ok("1101", {"data": cert(me, by_card=True)})
    assert info["idetinfo"] == [
        {
            "psn_idet_type": "2304",
            "psn_type_lv": "",
            "memo": "建档立卡贫困人口",
            "begntime": "2026-03-01",
            "endtime": None,
        }
    ]


def test_the_member_app_estimates_and_shows_the_year_with_the_category(
    world: str, services: Services, client: TestClient
) -> None:
    services.categories.record(CLERK, world, "low_income", date(2026, 7, 1), None)
    me = Principal(account="member", role=Role.INSURED, person_id=world)
    before = services.member.estimate(
        me, world, Kind.INPATIENT, 0, Decimal(1200), date(2026, 6, 30)
    )
    after = services.member.estimate(me, world, Kind.INPATIENT, 0, Decimal(1200), date(2026, 7, 1))
    assert (before["basic"], after["basic"]) == ("850.00", "900.00")
    card = f"CARD-{world}"
    scenario = load_scenario(SCENARIO)
    enc = scenario.encounters[2]
    answer = client.post(
        "/v1/settlements", json=bill_json(card, enc), headers={"X-Institution": enc.hospital.id}
    )
    assert answer.status_code == 201, answer.text
    year = services.member.year(me, world, 2026)  # river-county's rate is a decision table
    names = [bar["name"] for bar in year["bars"]]
    assert "serious_illness_deductible" in names
    deductible = next(b for b in year["bars"] if b["name"] == "serious_illness_deductible")
    assert deductible["limit"] == "7500.00"  # halved for the category


def test_the_api_records_lists_and_ends_a_category(
    world: str, services: Services, client: TestClient, engine: Engine
) -> None:
    """POST /v1/persons/{id}/categories, .../categories/end and GET, as a clerk of the
    region (the person reads their own); the settlement follows the span: 90% on the last
    day of the category, 60% (general, level 3) the day after it ended."""
    staff = clerk(services, "river-county")
    me = account(services, Role.INSURED, person_id=world)
    url = f"/v1/persons/{world}/categories"
    made = client.post(
        url, json={"category": "low_income", "valid_from": "2026-07-01"}, headers=staff
    )
    assert made.status_code == 201, made.text
    assert made.json() == {
        "person_id": world,
        "category": "low_income",
        "valid_from": "2026-07-01",
        "valid_to": None,
    }
    refused = client.post(url, json={"category": "low_income"}, headers=me)
    assert refused.status_code == 403, refused.text
    early = client.post(f"{url}/end", json={"valid_to": "2026-06-30"}, headers=staff)
    assert (early.status_code, early.json()["code"]) == (422, "invalid_period")
    ended = client.post(f"{url}/end", json={"valid_to": "2026-07-01"}, headers=staff)
    assert ended.status_code == 200, ended.text
    assert ended.json()["valid_to"] == "2026-07-01"
    again = client.post(f"{url}/end", json={"valid_to": "2026-08-01"}, headers=staff)
    assert (again.status_code, again.json()["code"]) == (409, "no_open_category")
    listed = client.get(url, headers=me)
    assert listed.status_code == 200, listed.text
    assert listed.json() == [
        {"category": "low_income", "valid_from": "2026-07-01", "valid_to": "2026-07-01"}
    ]
    with engine.connect() as conn:
        audit = (
            conn.execute(select(t.audit_log.c.action).where(t.audit_log.c.object_id == world))
            .scalars()
            .all()
        )
    assert sorted(audit) == ["category.end", "category.record"]
    scenario = load_scenario(SCENARIO)
    paid = []
    for enc in scenario.encounters:
        answer = client.post(
            "/v1/settlements",
            json=bill_json(f"CARD-{world}", enc),
            headers={"X-Institution": enc.hospital.id},
        )
        assert answer.status_code == 201, answer.text
        paid.append(answer.json()["basic"])
    assert paid == ["850.00", "900.00", "6000.00"]  # the category ended on 1 July


def test_the_member_estimate_reads_the_cause(
    engine: Engine, services: Services, client: TestClient
) -> None:
    """river-county caps accidental injury at 3,000 a year: after an accident stay paid
    2,380, an accident stay that would be paid 850 is estimated at 620; an ordinary one at
    850. The same through the card API's `cause`."""
    scenario = load_scenario(TESTS / "scenarios" / "river-county" / "rc-accident-yearly-cap.yaml")
    with UnitOfWork(engine) as uow:
        who = register(uow, scenario, search_path())
        uow.commit()
    first = scenario.encounters[0]
    answer = client.post(
        "/v1/settlements",
        json=bill_json(who.card_number, first),
        headers={"X-Institution": first.hospital.id},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["basic"] == "2380.00"
    me = Principal(account="member", role=Role.INSURED, person_id=who.person_id)
    day, stay = date(2026, 3, 1), Kind.INPATIENT
    accident = services.member.estimate(me, who.person_id, stay, 0, Decimal(1200), day, "accident")
    ordinary = services.member.estimate(me, who.person_id, stay, 0, Decimal(1200), day)
    assert (accident["basic"], ordinary["basic"]) == ("620.00", "850.00")
    with pytest.raises(ServiceError, match="cause: 'fall' is not one of ordinary, accident"):
        services.member.estimate(me, who.person_id, stay, 0, Decimal(1200), day, "fall")


def test_the_estimate_form_takes_the_cause_and_the_delivery(
    engine: Engine, services: Services, client: TestClient
) -> None:
    """The member app's estimate page (/app/estimate) as a family fills it in: after an
    accident stay paid 2,380, river-county's 3,000 yearly cap leaves 620 for another
    accident stay that an illness would have 850 of; a natural delivery is paid its fixed
    1,100, a caesarean 1,500. A delivery on an outpatient visit is refused next to the
    field."""
    scenario = load_scenario(TESTS / "scenarios" / "river-county" / "rc-accident-yearly-cap.yaml")
    with UnitOfWork(engine) as uow:
        who = register(uow, scenario, search_path())
        uow.commit()
    first = scenario.encounters[0]
    answer = client.post(
        "/v1/settlements",
        json=bill_json(who.card_number, first),
        headers={"X-Institution": first.hospital.id},
    )
    assert answer.status_code == 201, answer.text
    member = account(services, Role.INSURED, person_id=who.person_id)
    pages = TestClient(client.app, follow_redirects=False)
    pages.cookies.set(SESSION_COOKIE, member["Authorization"].split()[1])
    shown = pages.get("/app/estimate", params={"lang": "en"})
    assert shown.status_code == 200, shown.text
    assert "An accidental injury (no one else is liable)" in shown.text  # names, not codes
    assert "Childbirth, caesarean section" in shown.text
    token = re.search(r'name="csrf" value="([^"]+)"', shown.text)
    assert token is not None

    def fund(amount: str, kind: str = "inpatient", **details: str) -> str:
        form = {"csrf": token.group(1), "person": who.person_id, "amount": amount}
        form |= {"level": "0", "kind": kind, "day": "2026-03-01", **details}
        page = pages.post("/app/estimate", params={"lang": "en"}, data=form)
        assert page.status_code == 200, page.text
        found = re.search(r'data-testid="estimate-fund">([^<]+)<', page.text)
        assert found is not None, page.text
        return found.group(1)

    assert fund("1200", cause="accident") == "620.00 yuan"
    assert fund("1200", cause="ordinary") == "850.00 yuan"
    assert fund("1200") == "850.00 yuan"  # no cause given: an illness
    assert fund("3000", delivery="natural") == "1,100.00 yuan"
    assert fund("3000", delivery="caesarean") == "1,500.00 yuan"
    form = {"csrf": token.group(1), "person": who.person_id, "amount": "100", "level": "0"}
    form |= {"kind": "outpatient", "day": "2026-03-01", "delivery": "natural"}
    refused = pages.post("/app/estimate", params={"lang": "zh"}, data=form)
    assert refused.status_code == 422, refused.text
    assert "分娩按住院估算，请选择住院。" in refused.text
    assert 'data-testid="estimate-answer"' not in refused.text
    bad = pages.post("/app/estimate", data=form | {"kind": "inpatient", "cause": "fall"})
    assert bad.status_code == 422, bad.text
    assert 'id="e-cause"' in bad.text
