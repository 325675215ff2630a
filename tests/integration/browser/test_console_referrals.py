"""A clerk records a referral certificate through Chromium, in both languages (each page
shot at 390 px and 1440 px and checked with axe-core): the work page's referral form,
its error next to the date, the record on the person's page by names."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from integration.browser.conftest import Opener, shoot
from integration.browser.test_console import CITY_CLERK, sign_in, staff  # noqa: F401  (the fixture)
from integration.roles_world import C1, COUNTY, I2
from yibao.service.services import Services

WORDS = {
    "zh": {"done": "转诊已登记", "row": "转诊（hospital I2）", "region": "山县"},
    "en": {
        "done": "The referral is recorded.",
        "row": "Referral (hospital I2)",
        "region": "Hill County",
    },
}


@pytest.mark.usefixtures("staff")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_clerk_records_a_referral(open_page: Opener, services: Services, lang: str) -> None:
    before = services.certificates.referrals_of(CITY_CLERK, C1)
    page = sign_in(open_page, "clerk-web", f"/console/persons/{C1}/work?lang={lang}", lang=lang)
    form = "[data-testid=referral-form]"
    page.select_option(f"{form} #f-issued_by", I2)
    page.select_option(f"{form} #f-to_region", COUNTY)
    page.fill(f"{form} #f-referral_from", "2026-10-01")
    page.fill(f"{form} #f-referral_to", "2026-09-01")  # before the start
    page.fill(f"{form} #f-diagnosis", "C91.0")
    page.click(f"{form} button")
    expect(page.locator("#e-referral_to")).to_be_visible()
    assert page.input_value(f"{form} #f-issued_by") == I2  # the choices are kept
    shoot(page, f"console-referral-error-{lang}")
    page.fill(f"{form} #f-referral_to", "2026-12-31")
    page.click(f"{form} button")
    assert WORDS[lang]["done"] in page.get_by_test_id("done").inner_text()
    shoot(page, f"console-referral-done-{lang}")

    [made] = [r for r in services.certificates.referrals_of(CITY_CLERK, C1) if r not in before]
    assert (made["issued_by"], made["to_region"], made["diagnosis"]) == (I2, COUNTY, "C91.0")
    assert (made["valid_from"], made["valid_to"]) == ("2026-10-01", "2026-12-31")
    page.goto(f"/console/persons/{C1}?lang={lang}")
    row = page.locator("tr", has_text=WORDS[lang]["row"])
    expect(row).to_have_count(1)
    assert WORDS[lang]["region"] in row.inner_text()
    shoot(page, f"console-referral-person-{lang}")
