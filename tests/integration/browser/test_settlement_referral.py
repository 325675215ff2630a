"""A referral certificate seen from the settlement (issue 14), through Chromium in both
languages, each page shot at 390 px and 1440 px and checked with axe-core: the clerk's
referral form takes the stay the patient came from (a choice by hospital and date, never
an id), refuses a stay at another hospital next to the field, and records the rest; the
settlement's page in the console and the child's stays in the guardian's app then name
the certificate in words."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy.engine import Engine

from integration.browser.conftest import Opener, shoot
from integration.browser.test_console import CITY_CLERK, sign_in, staff  # noqa: F401  (the fixture)
from integration.browser.test_member_app import signed_in
from integration.roles_world import C1, COUNTY, I1, I2
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.model import Kind
from yibao.domain.registry import Institution, InstitutionKind
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine

COUNTY_HOSPITAL = "HC1"
WORDS = {
    "zh": {
        "refused": "不能选这次住院作为转出的住院：请选择在开具转诊证明的医院、"
        "不晚于转诊有效期最后一天开始的住院，或者不选。",
        "done": "转诊已登记",
        "issued": "hospital I1在本次住院期间开具转诊证明，转往County Hospital，"
        "有效期 2026-06-12 至 2026-08-31。",
        "covered": "本次住院在hospital I1开具的转往County Hospital的转诊证明范围内，"
        "有效期 2026-06-12 至 2026-08-31。",
    },
    "en": {
        "refused": "That stay cannot be the one the patient was referred from: choose a "
        "hospital stay at the hospital that issued the referral, begun by the referral's "
        "last day, or none.",
        "done": "The referral is recorded.",
        "issued": "hospital I1 referred the patient from this stay to County Hospital, on a "
        "certificate valid from 2026-06-12 to 2026-08-31.",
        "covered": "This stay is covered by the referral from hospital I1 to County Hospital, "
        "valid from 2026-06-12 to 2026-08-31.",
    },
}


def _stay(services: Services, at: str, day: date) -> int:
    _, stay = services.settlements.settle(
        Bill(at, "CARD-C1", Kind.INPATIENT, day, (BillLine("TEST-A", Decimal(1), Decimal("2500")),))
    )
    return int(stay["id"])


@pytest.mark.usefixtures("staff")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_settlement_names_its_referral_in_words(
    open_page: Opener, services: Services, engine: Engine, lang: str
) -> None:
    with UnitOfWork(engine) as uow:
        uow.registry.add_institution(
            Institution(
                COUNTY_HOSPITAL, COUNTY, "County Hospital", 2, InstitutionKind.HOSPITAL, True
            )
        )
        uow.commit()
    origin = _stay(services, I1, date(2026, 6, 10))
    other = _stay(services, I2, date(2026, 5, 2))
    there = _stay(services, COUNTY_HOSPITAL, date(2026, 6, 20))

    page = sign_in(open_page, "clerk-web", f"/console/persons/{C1}/work?lang={lang}", lang=lang)
    form = "[data-testid=referral-form]"
    choices = page.locator(f"{form} #f-referred_from option").all_inner_texts()
    assert choices[1:] == [
        "County Hospital · 2026-06-20",
        "hospital I1 · 2026-06-10",
        "hospital I2 · 2026-05-02",
    ]  # by hospital and date, newest first: no id on the page
    page.select_option(f"{form} #f-issued_by", I1)
    page.select_option(f"{form} #f-to_institution", COUNTY_HOSPITAL)
    page.fill(f"{form} #f-referral_from", "2026-06-12")
    page.fill(f"{form} #f-referral_to", "2026-08-31")
    page.fill(f"{form} #f-diagnosis", "C91.0")
    page.select_option(f"{form} #f-referred_from", str(other))  # a stay at another hospital
    page.click(f"{form} button")
    assert page.locator("#e-referred_from").inner_text() == WORDS[lang]["refused"]
    assert page.input_value(f"{form} #f-referred_from") == str(other)  # the choice is kept
    shoot(page, f"console-referral-stay-error-{lang}")
    page.select_option(f"{form} #f-referred_from", str(origin))
    page.click(f"{form} button")
    assert WORDS[lang]["done"] in page.get_by_test_id("done").inner_text()

    page.goto(f"/console/settlements/{origin}?lang={lang}")
    assert page.get_by_test_id("referral").inner_text() == WORDS[lang]["issued"]
    page.goto(f"/console/settlements/{there}?lang={lang}")
    assert page.get_by_test_id("referral").inner_text() == WORDS[lang]["covered"]
    shoot(page, f"console-settlement-referral-{lang}")

    app = signed_in(open_page, services, lang=lang)
    app.goto(f"/app/persons/{C1}/years/2026?lang={lang}")
    stay = app.get_by_test_id(f"settlement-{there}")
    assert stay.get_by_test_id("referral").inner_text() == WORDS[lang]["covered"]
    expect(app.get_by_test_id(f"settlement-{other}").get_by_test_id("referral")).to_have_count(0)
    shoot(app, f"member-stay-referral-{lang}")
