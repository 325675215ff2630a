"""The staff console through Chromium: the fund dashboard and its CSV, a clerk reviewing
manual reimbursements from the queue, an approver deciding an application, person search,
the console in English, and who may not come in."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.engine import Engine

from integration.auth import account
from integration.browser.conftest import Opener, shoot
from integration.roles_world import C1, C2, CITY, G1, G2, I1, card_of
from integration.test_console import YEAR, claim, settle, submitted_batch, world
from yibao.domain.access import Principal, Role
from yibao.domain.model import Kind
from yibao.service.access import OPERATOR
from yibao.service.services import Services

PASSWORD = "correct-horse"
CITY_CLERK = Principal("clerk-web", Role.CLERK, region=CITY)


@pytest.fixture
def staff(engine: Engine, services: Services) -> None:
    world(engine)
    account(services, Role.CLERK, region=CITY, account_id="clerk-web", password=PASSWORD)
    account(services, Role.APPROVER, region=CITY, account_id="approver-web", password=PASSWORD)
    account(services, Role.INSURED, person_id=C1, account_id="c1-web", password=PASSWORD)


def sign_in(open_page: Opener, who: str, path: str, **kwargs: str) -> Page:
    page = open_page(f"/sign-in?next={path}", **kwargs)
    page.fill("#f-account", who)
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    return page


def test_the_dashboard_shows_the_ledger_and_downloads_it_as_csv(
    open_page: Opener, services: Services, staff: None, tmp_path: Path
) -> None:
    settle(services, C1, Kind.OUTPATIENT, date(2026, 3, 5), "180.00")
    settle(services, G1, Kind.INPATIENT, date(2026, 3, 20), "12345.67")
    settle(services, G2, Kind.INPATIENT, date(2026, 8, 9), "4321.00")
    view = services.console.dashboard(CITY_CLERK, CITY, YEAR)
    assert view["total"] != "0.00"

    page = sign_in(open_page, "clerk-web", "/console/dashboard", width="desktop")
    assert page.locator("h1").inner_text() == "基金运行看板"
    assert page.get_by_test_id("total").inner_text() == view["total"]
    assert page.get_by_test_id("layer-basic").inner_text() == view["by_layer"]["basic"]
    # The charts: inline SVG with a title, a bar per scheme and layer, a column per month.
    chart = page.locator("svg#chart-scheme-layer")
    assert chart.locator("title").first.text_content() == "按险种和支付层次的基金支出"
    expect(chart.locator("g.bar-row")).to_have_count(len(view["by_scheme_layer"]))
    expect(page.locator("svg#chart-month g.column")).to_have_count(12)
    march = next(m for m in view["by_month"] if m["month"] == "2026-03")
    assert page.locator("svg#chart-month text.amount").nth(2).text_content() == march["amount"]
    shoot(page, "console-dashboard")

    with page.expect_download() as download:
        page.get_by_test_id("csv").click()
    saved = tmp_path / "fund.csv"
    download.value.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    # The Chinese console's CSV names things in Chinese (the English one keeps the codes).
    assert rows[0] == ["部分", "险种", "支付层次", "月份", "金额（元）", "人数"]
    assert ["合计", "", "", "", view["total"], ""] in rows
    assert not any(cell in ("student", "basic", "scheme_layer") for row in rows for cell in row)

    # A year that is not a number: the error next to the field, the typed value kept.
    page.fill("#f-year", "二〇二六")
    page.click("[data-testid=dashboard-form] button[type=submit]")
    assert page.locator("#e-year").inner_text() == "请输入 2000 至 2100 之间的年份。"
    assert page.input_value("#f-year") == "二〇二六"


def test_a_clerk_approves_a_manual_reimbursement_from_the_queue(
    open_page: Opener, services: Services, staff: None
) -> None:
    made = services.claims.submit(OPERATOR, claim(C1, "300.00"))
    proposal = services.claims.get(OPERATOR, made["id"])["proposal"]

    page = sign_in(open_page, "clerk-web", "/console", width="desktop")
    assert page.get_by_test_id("queue-claims").locator(".count").inner_text() == "1"
    shoot(page, "console-home")
    page.get_by_test_id("queue-claims").click()
    expect(page.locator(f"tr[data-claim='{made['id']}']")).to_have_count(1)
    shoot(page, "console-claims-queue")
    page.click(f"tr[data-claim='{made['id']}'] a.button")
    proposed = page.get_by_test_id("proposal")
    assert proposed.get_by_test_id("p-total").inner_text() == proposal["total"] == "300.00"
    assert proposed.get_by_test_id("p-basic").inner_text() == proposal["basic"]
    assert proposed.get_by_test_id("p-personal").inner_text() == proposal["personal"]
    shoot(page, "console-claim")
    page.check("#f-decision-approve")
    page.click("[data-testid=review-form] button[type=submit]")

    assert (
        page.get_by_test_id("done").inner_text()
        == f"报销申请 {made['id']} 已批准，基金支付部分已记账。"
    )
    expect(page.get_by_test_id("queue-empty")).to_be_visible()
    after = services.claims.get(OPERATOR, made["id"])
    assert after["status"] == "approved"
    assert after["reviewer"] == "clerk-web"
    settled = services.queries.settlement(after["settlement_id"], OPERATOR)
    assert settled["basic"] == proposal["basic"]


def test_rejecting_a_claim_needs_a_reason_and_keeps_the_choice(
    open_page: Opener, services: Services, staff: None
) -> None:
    made = services.claims.submit(OPERATOR, claim(C2, "120.00"))
    page = sign_in(open_page, "clerk-web", f"/console/queues/claims/{made['id']}")
    page.check("#f-decision-reject")
    page.click("[data-testid=review-form] button[type=submit]")
    assert page.locator("#e-reason").inner_text() == "请填写原因，申请人会看到。"
    assert page.is_checked("#f-decision-reject")  # what was chosen stays
    assert services.claims.get(OPERATOR, made["id"])["status"] == "submitted"
    shoot(page, "console-claim-reject-error")

    page.fill("#f-reason", "票据不是原件")
    page.click("[data-testid=review-form] button[type=submit]")
    assert page.get_by_test_id("done").inner_text() == f"报销申请 {made['id']} 已驳回。"
    after = services.claims.get(OPERATOR, made["id"])
    assert (after["status"], after["rejection_reason"]) == ("rejected", "票据不是原件")


def test_search_and_a_persons_page(open_page: Opener, services: Services, staff: None) -> None:
    settle(services, G1, Kind.INPATIENT, date(2026, 3, 20), "12345.67")
    year = services.queries.person_year(OPERATOR, G1, YEAR)
    page = sign_in(open_page, "clerk-web", "/console/persons", width="desktop")
    page.click("form.search button[type=submit]")
    assert page.locator("#e-q").inner_text() == "请输入姓名、身份证号或卡号。"

    page.fill("#f-q", card_of(G1))
    page.click("form.search button[type=submit]")
    results = page.get_by_test_id("results")
    expect(results.locator("tbody tr")).to_have_count(1)
    assert page.input_value("#f-q") == card_of(G1)
    shoot(page, "console-search")
    results.locator("a").first.click()

    assert page.get_by_test_id("person-name").inner_text() == "person G1"
    assert "居民" in page.get_by_test_id("enrolments").inner_text()
    assert card_of(G1) in page.get_by_test_id("cards").inner_text()
    settled = page.get_by_test_id("settlements").locator("tbody tr")
    expect(settled).to_have_count(1)
    assert year["settlements"][0]["basic"] in settled.first.inner_text()
    shoot(page, "console-person")

    page.goto(f"/console/persons/{G1}?year=1999")
    assert page.locator("#e-year").inner_text() == "请选择此人参保的年度。"
    page.goto("/console/persons/NOBODY")
    assert page.locator("h1").inner_text() == "未找到"


def test_an_approver_decides_an_application(
    open_page: Opener, services: Services, staff: None
) -> None:
    applied = services.certificates.apply_for_approval(OPERATOR, G1, "dialysis", "诊断-7", I1)
    page = sign_in(open_page, "approver-web", "/console/queues/approvals", width="desktop")
    expect(page.locator(f"tr[data-approval='{applied['id']}']")).to_have_count(1)
    shoot(page, "console-approvals")
    page.click(f"tr[data-approval='{applied['id']}'] a.button")
    page.check("#f-decision-approve")
    page.fill("#f-valid_from", "2026-10-15")
    page.click("[data-testid=decide-form] button[type=submit]")
    assert page.locator("#e-valid_to").inner_text() == "请填写日期。"
    assert page.input_value("#f-valid_from") == "2026-10-15"
    shoot(page, "console-approval-error")
    page.fill("#f-valid_to", "2026-12-31")
    page.click("[data-testid=decide-form] button[type=submit]")
    assert page.get_by_test_id("done").inner_text() == f"申请 {applied['id']} 已批准。"
    decided = services.certificates.approval(OPERATOR, applied["id"])
    assert (decided["status"], decided["valid_from"], decided["valid_to"]) == (
        "approved",
        "2026-10-15",
        "2026-12-31",
    )


def test_a_clerk_sees_applications_but_the_approvers_decide(
    open_page: Opener, services: Services, staff: None
) -> None:
    applied = services.certificates.apply_for_approval(OPERATOR, G1, "dialysis", "诊断-8", I1)
    page = sign_in(open_page, "clerk-web", f"/console/queues/approvals/{applied['id']}")
    assert page.get_by_test_id("approval-status").inner_text() == "待审批"
    expect(page.get_by_test_id("decide-form")).to_have_count(0)


def test_a_clerk_returns_a_row_with_a_reason_and_accepts_the_rest(
    open_page: Opener, services: Services, staff: None
) -> None:
    batch = submitted_batch(services, pupils=2)
    page = sign_in(open_page, "clerk-web", "/console/queues/schools", width="desktop")
    expect(page.locator(f"tr[data-batch='{batch}']")).to_have_count(1)
    shoot(page, "console-schools-queue")
    page.click(f"tr[data-batch='{batch}'] a.button")
    expect(page.get_by_test_id("rows").locator("tbody tr")).to_have_count(2)
    page.click("tr[data-row='3'] form.row-return button")
    assert page.locator("#e-reason-3").inner_text() == "请填写原因，学校据此更正这一行。"
    shoot(page, "console-batch-return-error")
    page.fill("#f-reason-3", "身份证号与户口簿不一致")
    page.click("tr[data-row='3'] form.row-return button")
    assert page.get_by_test_id("done").inner_text() == "第 3 行已退回学校。"
    expect(page.get_by_test_id("rows").locator("tbody tr")).to_have_count(1)
    page.click("[data-testid=accept-all] button")
    expect(page.get_by_test_id("queue-empty")).to_be_visible()
    rows = {r["row"]: r for r in services.schools.rows(OPERATOR, batch)["rows"]}
    assert (rows[2]["status"], rows[3]["status"]) == ("accepted", "returned")
    assert rows[3]["return_reason"] == "身份证号与户口簿不一致"


def test_the_console_in_english(open_page: Opener, services: Services, staff: None) -> None:
    page = sign_in(open_page, "clerk-web", "/console?lang=en", lang="en", width="desktop")
    assert page.locator("h1").inner_text() == "Console"
    assert page.get_by_test_id("queue-cards").inner_text().split() == [
        "1",
        "Cards",
        "past",
        "their",
        "due",
        "date",
    ]
    shoot(page, "console-home-en")
    page.click("text=Overdue cards")
    expect(page.locator("tr[data-card='NEW-G2']")).to_have_count(1)
    shoot(page, "console-cards-en")
    page.click("tr[data-card='NEW-G2'] button")
    assert page.get_by_test_id("done").inner_text() == "Card NEW-G2 issued."
    assert page.get_by_test_id("queue-empty").inner_text() == "No card is past its due date."
    page.click("text=Fund dashboard")
    assert page.locator("h1").inner_text() == "Fund dashboard"
    expect(page.get_by_test_id("no-payments")).to_be_visible()


def test_members_get_the_forbidden_page_and_strangers_the_sign_in(
    open_page: Opener, services: Services, staff: None
) -> None:
    page = sign_in(open_page, "c1-web", "/console/dashboard")
    assert page.locator("h1").inner_text() == "您的账号无权访问此页面"
    shoot(page, "console-forbidden")
    for path in ("/console/persons?q=person", f"/console/persons/{C1}", "/console/queues/claims"):
        assert page.goto(path).status == 403  # type: ignore[union-attr]
    stranger = open_page("/console/queues/claims")
    assert stranger.url.endswith("/sign-in?next=/console/queues/claims")
    assert stranger.request.get("/console/dashboard.csv", max_redirects=0).status == 303
