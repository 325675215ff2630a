"""A family's look-ups and reading through the browser, in both languages (every page shot
at 390 px and 1440 px and checked with axe-core): designated institutions, the catalogue,
a settlement's lines and plain summary, the styled 404 page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy.engine import Engine

from integration.auth import account
from integration.browser.conftest import Opener, shoot
from integration.browser.test_member_app import PASSWORD, signed_in, world
from integration.roles_world import C1, CITY
from integration.test_lookup import claim_for
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Principal, Role
from yibao.service.services import Services

WORDS = {
    "zh": {
        "services": "业务办理",
        "institutions": "定点医药机构",
        "catalogue": "医保目录",
        "class_a": "甲类",
        "found": "找到",
        "not_found": "未找到",
    },
    "en": {
        "services": "Services",
        "institutions": "Designated institutions",
        "catalogue": "The catalogue",
        "class_a": "Class A",
        "found": "Found",
        "not_found": "Not found",
    },
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_designated_institutions_and_the_catalogue(
    open_page: Opener, services: Services, engine: Engine, lang: str
) -> None:
    world(engine, services)
    w = WORDS[lang]
    page = signed_in(open_page, services, lang=lang)
    page.click(f"nav.tabs a:has-text('{w['services']}')")
    page.click(f"main a.button:has-text('{w['institutions']}')")
    found = page.locator("[data-testid=institution]")
    expect(found).to_have_count(2)  # the region's two designated hospitals
    page.fill("#f-q", "I2")
    page.click("[data-testid=institution-search] button")
    expect(found).to_have_count(1)
    assert "hospital I2" in found.inner_text()
    assert "I2" in page.url  # a search is an address: it can be shared or bookmarked
    shoot(page, f"family-institutions-{lang}")
    page.goto(f"/app/catalogue?lang={lang}")
    page.fill("#f-q", "t")
    page.click("[data-testid=catalogue-search] button")
    expect(page.locator("#e-q")).to_be_visible()  # one character is too little
    page.fill("#f-q", "test item")
    page.click("[data-testid=catalogue-search] button")
    items = page.locator("[data-testid=catalogue-item]")
    expect(items).to_have_count(3)
    assert w["class_a"] in items.first.inner_text()
    shoot(page, f"family-catalogue-{lang}")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_settlements_lines_and_summary_and_the_404_page(
    open_page: Opener, services: Services, engine: Engine, lang: str
) -> None:
    world(engine, services)
    page = signed_in(open_page, services, lang=lang, width="desktop")
    page.goto(f"/app/persons/C1/years/2026?lang={lang}")
    summary = page.locator("[data-testid=summary]").inner_text()
    assert ("300.00元" if lang == "zh" else "300.00 yuan") in summary
    page.click("[data-testid=lines] summary")
    lines = page.locator("[data-testid=line]")
    expect(lines).to_have_count(1)
    assert "test item A" in lines.inner_text()
    page.click("[data-testid=explanation] summary")
    assert ".yaml" not in page.locator("main").inner_text()
    shoot(page, f"family-year-lines-{lang}")
    answer = page.goto(f"/app/no-such-page?lang={lang}")
    assert answer is not None
    assert answer.status == 404
    assert page.locator("h1").inner_text() == WORDS[lang]["not_found"]
    expect(page.locator("a.skip")).to_have_count(1)
    shoot(page, f"not-found-{lang}")
    api = page.request.get("/v1/no-such-thing")
    assert api.status == 404
    assert api.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_notices_with_an_unread_count(
    open_page: Opener, services: Services, engine: Engine, lang: str
) -> None:
    world(engine, services)
    clerk = Principal("clerk-n", Role.CLERK, region=CITY)
    made = services.claims.submit(clerk, claim_for(C1))
    services.claims.approve(clerk, made["id"])
    page = signed_in(open_page, services, lang=lang)
    assert page.get_by_test_id("unread").inner_text().startswith("1")
    shoot(page, f"family-coverage-unread-{lang}")
    page.get_by_test_id("notices-tab").click()
    notice = page.get_by_test_id("notice")
    expect(notice).to_have_count(1)
    assert ("已审核通过" if lang == "zh" else "approved") in notice.inner_text()
    shoot(page, f"family-notices-{lang}")
    page.reload()
    expect(page.get_by_test_id("unread")).to_have_count(0)  # read now


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_binding_a_spouse_with_their_consent(
    open_page: Opener, services: Services, engine: Engine, lang: str
) -> None:
    world(engine, services)
    with UnitOfWork(engine) as uow:
        g2 = uow.registry.person("G2")
    assert g2 is not None
    page = signed_in(open_page, services, lang=lang)
    page.goto(f"/app/family?lang={lang}")
    page.fill("#f-name", "someone else")
    page.fill("#f-id_number", g2.id_number)
    page.click("[data-testid=bind-form] button")
    expect(page.locator("[data-testid=bind-form] .error, .form-error").first).to_be_attached()
    page.fill("#f-name", g2.name)
    page.click("[data-testid=bind-form] button")
    expect(page.get_by_test_id("done")).to_be_visible()
    shoot(page, f"family-bind-asked-{lang}")
    account(services, Role.GUARDIAN, person_id="G2", account_id="g2", password=PASSWORD)
    spouse = open_page(f"/sign-in?next=/app/family&lang={lang}", lang=lang)
    spouse.fill("#f-account", "g2")
    spouse.fill("#f-password", PASSWORD)
    spouse.click("main button[type=submit]")
    expect(spouse.get_by_test_id("asking")).to_be_visible()
    shoot(spouse, f"family-bind-asking-{lang}")
    spouse.click("[data-testid=asking] button[value=accept]")
    expect(spouse.get_by_test_id("done")).to_be_visible()
    page.goto(f"/app?lang={lang}")
    expect(page.get_by_test_id("person-G2")).to_be_visible()


def test_the_family_pages_hold_at_320_px(
    open_page: Opener, services: Services, engine: Engine
) -> None:
    """The narrowest phone: no page of the family is wider than the screen, in English
    (the longer words) and in Chinese."""
    world(engine, services)
    page = signed_in(open_page, services, lang="en")
    page.set_viewport_size({"width": 320, "height": 700})
    for lang in ("en", "zh"):
        for path in (
            "/app",
            "/app/years/2026",
            "/app/persons/C1/years/2026",
            "/app/estimate",
            "/app/services",
            "/app/claims/new",
            "/app/institutions",
            "/app/catalogue?q=test",
            "/app/notices",
            "/app/family",
            "/app/cards",
        ):
            page.goto(f"{path}{'&' if '?' in path else '?'}lang={lang}")
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 320, f"{path} [{lang}] is {wide} px wide"


def test_an_estimate_and_a_claim_in_english(
    open_page: Opener, services: Services, engine: Engine
) -> None:
    world(engine, services)
    page = signed_in(open_page, services, lang="en", width="desktop")
    page.goto("/app/estimate?lang=en")
    page.fill("#f-amount", "12000")
    page.select_option("#f-level", "3")
    page.select_option("#f-kind", "inpatient")
    page.click("main button[type=submit]")
    summary = page.get_by_test_id("summary").inner_text()
    assert "12,000.00" in summary
    assert page.get_by_test_id("estimate-personal").inner_text().endswith(" yuan")
    shoot(page, "family-estimate-en")
    page.goto("/app/claims/new?lang=en")
    page.fill("#f-day", "2026-07-02")
    page.fill("#f-hospital_name", "County People's Hospital")
    page.select_option("#f-region", "hill-county")
    page.fill("#f-amount_1", "80.00")
    page.click("main button[type=submit]")
    assert page.locator("#e-item_1").inner_text() == "Write what the receipt says for this amount."
    shoot(page, "family-claim-form-en")
