"""Signing in through the browser, in both languages."""

from __future__ import annotations

from playwright.sync_api import expect

from integration.auth import account
from integration.browser.conftest import Opener, shoot
from yibao.domain.access import Role
from yibao.service.services import Services


def test_sign_in_refuses_a_wrong_password_next_to_the_form_and_keeps_the_account(
    open_page: Opener, services: Services
) -> None:
    account(
        services, Role.CLERK, region="sample-city", account_id="clerk1", password="correct-horse"
    )
    page = open_page("/sign-in")
    assert page.locator("h1").inner_text() == "登录"
    shoot(page, "sign-in-zh")
    page.fill("#f-account", "clerk1")
    page.fill("#f-password", "wrong-password")
    page.click("button[type=submit]")
    assert page.locator(".form-error").inner_text() == "账号或密码错误。"
    assert page.input_value("#f-account") == "clerk1"  # what was typed stays
    assert page.input_value("#f-password") == ""  # a password is never sent back
    page.fill("#f-password", "")
    page.click("button[type=submit]")
    assert page.locator("#e-password").inner_text() == "请输入密码。"


def test_the_sign_in_page_in_english(open_page: Opener) -> None:
    page = open_page("/sign-in?lang=en", lang="en")
    assert page.locator("h1").inner_text() == "Sign in"
    page.click("text=中文")
    assert page.locator("h1").inner_text() == "登录"
    shoot(page, "sign-in-en")


def test_a_signed_in_clerk_goes_to_the_console_and_signs_out(
    open_page: Opener, services: Services
) -> None:
    account(
        services, Role.CLERK, region="sample-city", account_id="clerk2", password="correct-horse"
    )
    page = open_page("/sign-in?next=/console")
    page.fill("#f-account", "clerk2")
    page.fill("#f-password", "correct-horse")
    page.click("button[type=submit]")
    assert page.url.endswith("/console")
    assert page.locator(".who").inner_text() == "clerk2"
    page.click("header button:has-text('退出登录')")
    assert page.url.endswith("/")
    expect(page.locator(".who")).to_have_count(0)
