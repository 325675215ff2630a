"""The console's clearing pages through Chromium: hill-county's clerk clears March, opens
the statement, confirms it and records the payment; every page shot at both widths and
checked by axe-core."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy.engine import Engine

from integration.auth import account
from integration.browser.conftest import Opener, shoot
from integration.browser.test_console import PASSWORD, sign_in
from integration.clearing_world import CITIZEN, CITY3, COUNTRYMAN, COUNTY, COUNTY2, build, stay
from integration.conftest import FakeClock
from yibao.domain.access import Role
from yibao.domain.model import Kind
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine


def _settle(
    services: Services, institution: str, body: dict[str, str | list[dict[str, str]]]
) -> None:
    lines = tuple(
        BillLine(ln["code"], Decimal(ln["quantity"]), Decimal(ln["unit_price"]))
        for ln in body["lines"]  # type: ignore[union-attr]
    )
    day = date.fromisoformat(str(body["date"]))
    services.settlements.settle(
        Bill(institution, str(body["card_number"]), Kind.INPATIENT, day, lines)
    )


def test_a_county_clerk_clears_confirms_and_pays(
    open_page: Opener, services: Services, engine: Engine, clock: FakeClock
) -> None:
    build(engine)
    _settle(services, CITY3, stay(COUNTRYMAN, "2026-03-02", 10, "60.00", "1000.00"))
    _settle(services, COUNTY2, stay(CITIZEN, "2026-03-05", 30, "60.00", "1000.00"))
    clock.today = date(2026, 4, 10)
    account(services, Role.CLERK, region=COUNTY, account_id="hc-clerk-web", password=PASSWORD)
    page = sign_in(open_page, "hc-clerk-web", "/console/clearing", width="desktop")
    page.fill("#f-month", "2026-03")
    page.click("[data-testid=clearing-run] button[type=submit]")
    row = page.locator("[data-testid=clearings] tbody tr")
    expect(row).to_have_count(1)
    assert "305.00" in row.inner_text()
    shoot(page, "console-clearings")
    page.click("[data-testid=clearings] a.button")
    assert "305.00" in page.locator("[data-testid=net]").inner_text()
    expect(page.locator("[data-testid=lines] tbody tr")).to_have_count(2)
    shoot(page, "console-clearing")
    page.click("[data-testid=confirm] button[type=submit]")
    page.fill("#f-reference", "BANK-20260410-1")
    shoot(page, "console-clearing-confirmed")
    page.click("[data-testid=pay] button[type=submit]")
    assert "BANK-20260410-1" in page.locator("[data-testid=status]").inner_text()
