"""The clerk's records through Chromium, in both languages (each page shot at 390 px and
1440 px and checked with axe-core): from a person's year to a settlement with its lines
and cited steps, its reversal with a reason, the audit log filtered to it, and the fund's
income, spending and balance by month."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy.engine import Engine

from integration.browser.conftest import Opener, shoot
from integration.browser.test_console import CITY_CLERK, sign_in, staff  # noqa: F401  (the fixture)
from integration.roles_world import C1
from integration.test_console import claim, settle
from integration.test_console_records import payers
from yibao.domain.ids import make_resident_id
from yibao.domain.model import Kind
from yibao.service.claims import ClaimLine
from yibao.service.services import Services

WORDS = {
    "zh": {
        "reverse": "冲正此笔结算",
        "reversed": "已冲正",
        "logged": "结算已冲正",
        "place": "hospital I1",
        "parameter": "参数",
        "balance": "结余",
    },
    "en": {
        "reverse": "Reverse this settlement",
        "reversed": "reversed",
        "logged": "settlement reversed",
        "place": "hospital I1",
        "parameter": "Parameter",
        "balance": "Balance",
    },
}


@pytest.mark.usefixtures("staff")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_settlement_its_reversal_and_the_audit_log(
    open_page: Opener, services: Services, engine: Engine, lang: str
) -> None:
    settle(services, C1, Kind.OUTPATIENT, date(2026, 3, 5), "180.00")
    w = WORDS[lang]
    page = sign_in(open_page, "clerk-web", f"/console/persons/{C1}?lang={lang}", lang=lang)
    page.get_by_test_id("settlement-link").first.click()
    assert w["place"] in page.get_by_test_id("institution").inner_text()
    expect(page.get_by_test_id("citation").first).to_be_attached()
    assert w["parameter"] in page.get_by_test_id("citation").first.inner_text()
    shoot(page, f"console-settlement-{lang}")
    page.click("[data-testid=reverse] button")  # no reason: refused next to the field
    expect(page.locator("#e-reason")).to_be_visible()
    page.fill("#f-reason", "billed twice")
    page.click("[data-testid=reverse] button")
    expect(page.get_by_test_id("done")).to_be_visible()
    assert "billed twice" in page.get_by_test_id("reversal-reason").inner_text()
    assert w["reversed"] in page.get_by_test_id("reversed").inner_text()
    shoot(page, f"console-settlement-reversed-{lang}")
    page.goto(f"/console/audit?lang={lang}")
    page.select_option("#f-object_type", "settlement")
    page.click("[data-testid=audit-filter] button")
    entries = page.get_by_test_id("audit-entry")
    expect(entries).to_have_count(1)
    assert w["logged"] in entries.inner_text()
    shoot(page, f"console-audit-{lang}")


@pytest.mark.usefixtures("staff")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_funds_income_and_balance(
    open_page: Opener, services: Services, engine: Engine, lang: str
) -> None:
    payers(engine)
    settle(services, C1, Kind.OUTPATIENT, date(2026, 3, 5), "180.00")
    page = sign_in(open_page, "clerk-web", f"/console/fund?lang={lang}", lang=lang, width="desktop")
    assert page.get_by_test_id("income").inner_text().startswith("2,080.00")
    expect(page.get_by_test_id("month-2025-11")).to_be_visible()
    assert WORDS[lang]["balance"] in page.locator("main").inner_text()
    shoot(page, f"console-fund-{lang}")


@pytest.mark.usefixtures("staff")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_clerk_classes_a_receipt_as_printed(
    open_page: Opener, services: Services, engine: Engine, lang: str
) -> None:
    printed = replace(
        claim(),
        lines=(
            ClaimLine(Decimal("20.00"), name="急诊诊查费"),
            ClaimLine(Decimal("280.00"), name="头孢克肟片"),
        ),
    )
    made = services.claims.submit(CITY_CLERK, printed)
    assert made["unclassified"] == 2
    page = sign_in(
        open_page, "clerk-web", f"/console/queues/claims/{made['id']}?lang={lang}", lang=lang
    )
    expect(page.get_by_test_id("review-form")).to_have_count(0)  # not before the lines are classed
    page.select_option("#f-cls_1", "A")
    page.click("[data-testid=classify-form] button")  # line 2 has neither class nor code
    expect(page.locator("#e-cls_2")).to_be_visible()
    shoot(page, f"console-claim-classify-{lang}")
    page.select_option("#f-cls_1", "A")
    page.fill("#f-code_2", "TEST-B")
    page.click("[data-testid=classify-form] button")
    assert page.get_by_test_id("p-total").inner_text() == "300.00"
    page.click("[data-testid=review-form] button")
    assert services.claims.get(CITY_CLERK, made["id"])["status"] == "approved"


@pytest.mark.usefixtures("staff")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_clerk_registers_enrols_files_and_corrects(
    open_page: Opener, services: Services, engine: Engine, lang: str
) -> None:
    number = make_resident_id("990100", date(1980, 4, 5), 77)
    page = sign_in(open_page, "clerk-web", f"/console/persons?lang={lang}", lang=lang)
    page.get_by_test_id("register").click()
    page.fill("#f-id_number", number[:-1] + ("0" if number[-1] != "0" else "1"))  # wrong check
    page.fill("#f-name", "王芳")
    page.click("[data-testid=register-form] button")
    expect(page.locator("#e-id_number")).to_be_visible()
    shoot(page, f"console-register-{lang}")
    page.fill("#f-id_number", number)
    page.click("[data-testid=register-form] button")
    expect(page.get_by_test_id("done")).to_be_visible()
    assert page.input_value("[data-testid=enrol-form] #f-year") == "2027"  # the coming year
    page.click("[data-testid=enrol-form] button")
    expect(page.get_by_test_id("done")).to_be_visible()
    page.select_option("[data-testid=filing-form] #f-region", "hill-county")
    page.fill("[data-testid=filing-form] #f-valid_from", "2027-01-01")
    page.fill("[data-testid=filing-form] #f-valid_to", "2026-12-01")  # before the start
    page.click("[data-testid=filing-form] button")
    expect(page.locator("[data-testid=filing-form] .error")).to_have_count(1)
    page.fill("[data-testid=filing-form] #f-valid_to", "2027-06-30")
    page.click("[data-testid=filing-form] button")
    expect(page.get_by_test_id("done")).to_be_visible()
    page.fill("[data-testid=correct-form] #f-name", "王 芳")
    page.fill("[data-testid=correct-form] #f-phone", "13900000002")
    page.click("[data-testid=correct-form] button")
    expect(page.get_by_test_id("done")).to_be_visible()
    shoot(page, f"console-person-work-{lang}")
    person = services.enrolment.person(CITY_CLERK, f"P{number}")
    assert person["name"] == "王 芳"
    assert [e["year"] for e in person["enrolments"]] == [2027]
    assert [f["region"] for f in services.certificates.filings_of(CITY_CLERK, person["id"])] == [
        "hill-county"
    ]
