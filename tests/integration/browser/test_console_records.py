"""The clerk's records through Chromium, in both languages (each page shot at 390 px and
1440 px and checked with axe-core): from a person's year to a settlement with its lines
and cited steps, its reversal with a reason, the audit log filtered to it, and the fund's
income, spending and balance by month."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine

from integration.browser.conftest import Opener, shoot
from integration.browser.test_console import sign_in, staff  # noqa: F401  (the fixture)
from integration.roles_world import C1
from integration.test_console import settle
from integration.test_console_records import payers
from yibao.domain.model import Kind
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
    assert page.get_by_test_id("citation").count() >= 1
    assert w["parameter"] in page.get_by_test_id("citation").first.inner_text()
    shoot(page, f"console-settlement-{lang}")
    page.click("[data-testid=reverse] button")  # no reason: refused next to the field
    assert page.locator("#e-reason").is_visible()
    page.fill("#f-reason", "billed twice")
    page.click("[data-testid=reverse] button")
    assert page.get_by_test_id("done").is_visible()
    assert "billed twice" in page.get_by_test_id("reversal-reason").inner_text()
    assert w["reversed"] in page.get_by_test_id("reversed").inner_text()
    shoot(page, f"console-settlement-reversed-{lang}")
    page.goto(f"/console/audit?lang={lang}")
    page.select_option("#f-object_type", "settlement")
    page.click("[data-testid=audit-filter] button")
    entries = page.get_by_test_id("audit-entry")
    assert entries.count() == 1
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
    assert page.get_by_test_id("month-2025-11").is_visible()
    assert WORDS[lang]["balance"] in page.locator("main").inner_text()
    shoot(page, f"console-fund-{lang}")
