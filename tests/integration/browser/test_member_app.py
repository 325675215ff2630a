"""The member app ("smart medical insurance", /app) through the browser, in Chinese and in
English (each page shot at 390 px and 1440 px and checked with axe-core): real-name
sign-up, coverage with the voucher, a child's reimbursement and its explanation, an
estimate, a remote-treatment filing, a lost card, a manual claim with a receipt photo."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.engine import Engine

from integration.auth import account
from integration.browser.conftest import Opener, shoot
from integration.roles_world import build_registry
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Role
from yibao.domain.ids import make_resident_id
from yibao.domain.model import Kind
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine

PASSWORD = "correct-horse"
G1_NUMBER = make_resident_id("990100", date(1985, 7, 8), 11)
PHONE = "13800138000"
# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
LANGS = pytest.mark.parametrize("lang", ["zh", "en"])
# What the pages say, in each language.
WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "birth_mismatch": "出生日期与身份证号码不一致。",
        "no_match": "姓名、身份证号码和出生日期与参保人员记录不符。",
        "coverage": "我的参保",
        "has_account": "您已有账号，请直接登录。",
        "reimbursements": "报销记录",
        "you_pay_step": "个人支付",
        "summary": "本次费用合计300.00元",
        "estimate": "费用估算",
        "bad_amount": "请填写金额（元），例如 1200.50。",
        "you_pay": "您需支付",
        "accident": "意外伤害（无第三方责任）",
        "not_inpatient": "分娩按住院估算，请选择住院。",
        "filing": "山县，2026-11-01 – 2026-12-31",
        "report_lost": "挂失",
        "reported_lost": "已挂失",
        "no_photo": "请上传每张票据的照片。",
        "no_item": "请填写票据上这一金额对应的项目。",
        "submitted": "已提交，待审核",
    },
    "en": {
        "birth_mismatch": "The birth date does not match the ID number.",
        "no_match": "The name, ID number and birth date do not match an insured person's record.",
        "coverage": "My coverage",
        "has_account": "You already have an account: sign in instead.",
        "reimbursements": "Reimbursements",
        "you_pay_step": "You pay",
        "summary": "The bill was 300.00 yuan",
        "estimate": "Estimate",
        "bad_amount": "Enter an amount in yuan, such as 1200.50.",
        "you_pay": "You pay",
        "accident": "An accidental injury (no one else is liable)",
        "not_inpatient": "A childbirth is estimated as an inpatient stay.",
        "filing": "Hill County, 2026-11-01 – 2026-12-31",
        "report_lost": "Report lost",
        "reported_lost": "Reported lost",
        "no_photo": "Attach a photo of each receipt.",
        "no_item": "Write what the receipt says for this amount.",
        "submitted": "Submitted, waiting for review",
    },
}


def yuan(shown: str) -> Decimal:
    """An amount as a page shows it ("12,000.00元", "1,234.50 yuan")."""
    return Decimal(shown.replace(",", "").removesuffix("元").removesuffix(" yuan"))


def world(engine: Engine, services: Services) -> None:
    """sample-city 2026: guardian G1 with child C1 (settled once at I1), cards CARD-*."""
    build_registry(engine)
    services.settlements.settle(
        Bill(
            "I1",
            "CARD-C1",
            Kind.OUTPATIENT,
            date(2026, 6, 1),
            (BillLine("TEST-A", Decimal(1), Decimal("300.00")),),
        )
    )


def signed_in(
    open_page: Opener, services: Services, *, lang: str = "zh", width: str = "mobile"
) -> Page:
    account(services, Role.GUARDIAN, person_id="G1", account_id="g1", password=PASSWORD)
    page = open_page(f"/sign-in?next=/app&lang={lang}", lang=lang, width=width)
    page.fill("#f-account", "g1")
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    assert page.url.endswith("/app")
    return page


@LANGS
def test_sign_up_fails_the_real_name_check_then_succeeds(
    open_page: Opener, services: Services, engine: Engine, lang: str
) -> None:
    world(engine, services)
    words = WORDS[lang]
    page = open_page(f"/app/sign-up?lang={lang}", lang=lang)
    shoot(page, f"member-sign-up-{lang}")
    page.fill("#f-name", "person G1")
    page.fill("#f-id_number", G1_NUMBER)
    page.fill("#f-birth_date", "1985-07-09")  # not the birth date in the number
    page.fill("#f-phone", "1380013")  # too short
    page.fill("#f-password", PASSWORD)
    page.fill("#f-password2", PASSWORD)
    page.click("main button[type=submit]")
    # Every mistake at once, each next to its field.
    assert page.locator("#e-birth_date").inner_text() == words["birth_mismatch"]
    expect(page.locator("#e-phone")).to_be_visible()
    page.fill("#f-phone", PHONE)
    page.fill("#f-password", PASSWORD)
    page.fill("#f-password2", PASSWORD)
    page.click("main button[type=submit]")
    assert page.locator("#e-birth_date").inner_text() == words["birth_mismatch"]
    expect(page.locator("#e-phone")).to_have_count(0)
    assert page.input_value("#f-name") == "person G1"  # what was typed stays
    assert page.input_value("#f-password") == ""
    # A consistent birth date but a name that is not the record's: one message that does
    # not say which part differs.
    page.fill("#f-name", "张三")
    page.fill("#f-birth_date", "1985-07-08")
    page.fill("#f-password", PASSWORD)
    page.fill("#f-password2", PASSWORD)
    page.click("main button[type=submit]")
    assert page.locator(".form-error").inner_text() == words["no_match"]
    shoot(page, f"member-sign-up-refused-{lang}")
    page.fill("#f-name", "person G1")
    page.fill("#f-password", PASSWORD)
    page.fill("#f-password2", PASSWORD)
    page.click("main button[type=submit]")
    assert page.url.endswith("/app")
    assert page.locator("h1").inner_text() == words["coverage"]
    # The account is named by the ID number: the header masks it.
    assert page.locator(".who").inner_text() == G1_NUMBER[:4] + "*" * 10 + G1_NUMBER[-4:]
    assert G1_NUMBER not in page.content()
    expect(page.locator("[data-testid=person-C1]")).to_have_count(1)  # the linked child
    expect(page.locator("[data-testid=person-G1] [data-testid=voucher] svg")).to_have_count(1)
    shoot(page, f"member-coverage-{lang}")
    # Signing up again is refused, pointing to sign-in.
    again = open_page(f"/app/sign-up?lang={lang}", lang=lang)
    for name, value in (
        ("name", "person G1"),
        ("id_number", G1_NUMBER),
        ("birth_date", "1985-07-08"),
        ("phone", PHONE),
        ("password", PASSWORD),
        ("password2", PASSWORD),
    ):
        again.fill(f"#f-{name}", value)
    again.click("main button[type=submit]")
    assert again.locator(".form-error").inner_text() == words["has_account"]


@LANGS
def test_a_guardian_sees_a_childs_reimbursement_and_its_explanation(
    open_page: Opener, services: Services, engine: Engine, lang: str
) -> None:
    world(engine, services)
    words = WORDS[lang]
    page = signed_in(open_page, services, lang=lang)
    page.click(f"[data-testid=person-C1] a:has-text('{words['reimbursements']}')")
    assert page.url.endswith("/app/persons/C1/years/2026")
    settlement = page.locator("[data-testid^=settlement-]")
    expect(settlement).to_have_count(1)
    assert "hospital I1" in settlement.inner_text()
    expect(page.locator("[data-testid=limits] .bar").first).to_be_attached()
    expect(page.locator("[data-testid=explanation] ol")).not_to_be_visible()
    page.click("[data-testid=explanation] summary")
    steps = page.locator("[data-testid=explanation] li")
    expect(steps.first).to_be_visible()
    text = page.locator("[data-testid=explanation] ol").inner_text()
    assert words["you_pay_step"] in text
    assert ".yaml" not in text  # the family reads sentences, not the policy files' keys
    assert "(student)" not in text  # nor a scheme's code
    summary = settlement.locator("[data-testid=summary]").inner_text()
    assert summary.startswith(words["summary"])
    shoot(page, f"member-child-year-{lang}")


@LANGS
def test_an_estimate(open_page: Opener, services: Services, engine: Engine, lang: str) -> None:
    world(engine, services)
    words = WORDS[lang]
    page = signed_in(open_page, services, lang=lang)
    page.click(f"nav.tabs a:has-text('{words['estimate']}')")
    page.fill("#f-amount", "abc")
    page.click("main button[type=submit]")
    assert page.locator("#e-amount").inner_text() == words["bad_amount"]
    assert page.input_value("#f-amount") == "abc"
    page.fill("#f-amount", "12000")
    page.select_option("#f-level", "3")
    page.select_option("#f-kind", "outpatient")
    page.select_option("#f-delivery", "natural")  # a delivery is a stay: refused
    page.click("main button[type=submit]")
    assert page.locator("#e-delivery").inner_text() == words["not_inpatient"]
    page.select_option("#f-kind", "inpatient")
    page.select_option("#f-delivery", "")
    page.select_option("#f-cause", label=words["accident"])  # the family reads names
    page.click("main button[type=submit]")
    assert page.locator("#f-cause").input_value() == "accident"  # what was chosen stays
    answer = page.locator("[data-testid=estimate-answer]")
    personal = yuan(page.locator("[data-testid=estimate-personal]").inner_text())
    fund = yuan(page.locator("[data-testid=estimate-fund]").inner_text())
    assert personal + fund == Decimal("12000.00")
    assert fund > 0
    shown = page.locator("[data-testid=estimate-personal]").inner_text()
    assert shown.endswith("元" if lang == "zh" else " yuan")
    assert words["you_pay"] in answer.locator("[data-testid=summary]").inner_text()
    answer.locator("details summary").click()
    assert words["you_pay_step"] in answer.locator("details ol").inner_text()
    shoot(page, f"member-estimate-{lang}")


@LANGS
def test_an_online_filing_then_visible(
    open_page: Opener, services: Services, engine: Engine, lang: str
) -> None:
    world(engine, services)
    page = signed_in(open_page, services, lang=lang)
    page.goto("/app/filings/new")
    page.select_option("#f-region", "hill-county")  # their own region is not offered
    page.fill("#f-valid_from", "2026-11-01")
    page.fill("#f-valid_to", "2026-10-01")  # before the start: refused
    page.click("main button[type=submit]")
    assert page.locator("#e-valid_to").count() + page.locator("#e-region").count() >= 1
    page.fill("#f-valid_to", "2026-12-31")
    page.click("main button[type=submit]")
    assert page.url.endswith("/app/services?done=filed")
    assert WORDS[lang]["filing"] in page.locator("[data-testid=filing]").inner_text()
    shoot(page, f"member-services-{lang}")


@LANGS
def test_report_a_card_lost(
    open_page: Opener, services: Services, engine: Engine, lang: str
) -> None:
    world(engine, services)
    words = WORDS[lang]
    page = signed_in(open_page, services, lang=lang)
    page.goto("/app/cards")
    page.click(f"[data-testid=card-CARD-C1] a:has-text('{words['report_lost']}')")
    shoot(page, f"member-card-lost-confirm-{lang}")
    page.click("[data-testid=confirm-lost]")
    assert page.url.endswith("/app/cards?done=lost")
    assert words["reported_lost"] in page.locator("[data-testid=card-CARD-C1]").inner_text()
    with UnitOfWork(engine) as uow:
        card = uow.registry.card("CARD-C1")
    assert card is not None
    assert card.status.value == "lost"
    shoot(page, f"member-cards-{lang}")


@LANGS
def test_submit_a_claim_with_a_receipt_photo(
    open_page: Opener, services: Services, engine: Engine, lang: str
) -> None:
    world(engine, services)
    words = WORDS[lang]
    page = signed_in(open_page, services, lang=lang)
    page.goto("/app/claims/new")
    page.fill("#f-day", "2026-07-02")
    page.fill("#f-hospital_name", "外地人民医院")
    page.select_option("#f-region", "hill-county")
    # The receipt as the hospital printed it: no class to choose.
    page.fill("#f-item_1", "急诊诊查费")
    page.fill("#f-amount_1", "20.00")
    page.fill("#f-amount_2", "780.00")  # an amount without its words
    page.click("main button[type=submit]")  # and no receipt photo yet
    assert page.locator("#e-receipts").inner_text() == words["no_photo"]
    assert page.locator("#e-item_2").inner_text() == words["no_item"]
    assert page.input_value("#f-item_1") == "急诊诊查费"
    shoot(page, f"member-claim-form-errors-{lang}")
    page.fill("#f-item_2", "头孢克肟片")

    def send() -> None:
        page.set_input_files(
            "#f-receipts", {"name": "receipt.png", "mimeType": "image/png", "buffer": PNG}
        )
        page.click("main button[type=submit]")

    send()
    assert page.url.endswith("/app/claims?done=submitted"), page.locator(".error").all_inner_texts()
    status = page.locator("[data-testid=claim-status]")
    assert status.inner_text() == words["submitted"]
    shoot(page, f"member-claims-{lang}")
    # The same bill again: a warning, and a box to tick if it is really another bill.
    page.goto("/app/claims/new")
    page.fill("#f-day", "2026-07-02")
    page.fill("#f-hospital_name", "外地人民医院")
    page.select_option("#f-region", "hill-county")
    page.fill("#f-item_1", "急诊诊查费及药费")
    page.fill("#f-amount_1", "800.00")
    send()
    expect(page.get_by_test_id("duplicate")).to_be_visible()
    shoot(page, f"member-claim-duplicate-{lang}")
    page.check("input[name=confirm_duplicate]")
    send()
    assert page.url.endswith("/app/claims?done=submitted")
    expect(page.locator("[data-testid=claim-status]")).to_have_count(2)
    stored = list(services.upload_dir.joinpath("G1").glob("*.png"))
    assert any(p.read_bytes() == PNG for p in stored)


def test_the_coverage_page_in_english(
    open_page: Opener, services: Services, engine: Engine
) -> None:
    world(engine, services)
    page = signed_in(open_page, services, lang="en", width="desktop")
    assert page.locator("h1").inner_text() == "My coverage"
    assert "Electronic insurance voucher" in page.locator("[data-testid=person-G1]").inner_text()
    shoot(page, "member-coverage-en")


def test_anonymous_goes_to_sign_in_and_a_clerk_gets_403(
    open_page: Opener, services: Services
) -> None:
    page = open_page("/app")
    assert "/sign-in?next=/app" in page.url
    account(services, Role.CLERK, region="sample-city", account_id="clerk9", password=PASSWORD)
    page.fill("#f-account", "clerk9")
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    assert page.locator("h1").inner_text() == "您的账号无权访问此页面"
    response = page.goto("/app/estimate")
    assert response is not None
    assert response.status == 403
    shoot(page, "member-forbidden")
