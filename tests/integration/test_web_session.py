"""The web session: CSRF on every form, cookie flags, sign-out that really signs out, no
redirect to another site, and the lock-out through the sign-in form."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from integration.auth import account
from yibao.domain.access import Role
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.web.session import CSRF_COOKIE, SESSION_COOKIE
from yibao.service.services import Services
from yibao.service.throttle import FREE_FAILURES


def browser(services: Services, base_url: str = "http://testserver") -> TestClient:
    return TestClient(create_app(services), base_url=base_url, follow_redirects=False)


def form_token(page: Any) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "the form carries a CSRF token"
    return found.group(1)


def set_cookies(answer: Any) -> dict[str, str]:
    """name -> the whole Set-Cookie header of that cookie."""
    return {h.split("=", 1)[0]: h for h in answer.headers.get_list("set-cookie")}


def test_a_form_without_its_csrf_token_does_nothing(services: Services) -> None:
    account(services, Role.CLERK, account_id="qian", password="right-password")
    web = browser(services)
    page = web.get("/sign-in")
    cookie = set_cookies(page)[CSRF_COOKIE]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    token = form_token(page)
    cookie_value = web.cookies.get(CSRF_COOKIE)
    assert cookie_value
    assert cookie_value != token  # the form's token is derived, not a copy of the cookie
    for sent in ({}, {"csrf": "forged"}, {"csrf": cookie_value}):
        answer = web.post(
            "/sign-in", data={"account": "qian", "password": "right-password", **sent}
        )
        assert answer.status_code == 400
        assert SESSION_COOKIE not in set_cookies(answer)
    signed = web.post(
        "/sign-in", data={"account": "qian", "password": "right-password", "csrf": token}
    )
    assert signed.status_code == 303
    session = set_cookies(signed)[SESSION_COOKIE]
    assert "HttpOnly" in session
    assert "SameSite=lax" in session
    assert "Secure" not in session  # plain HTTP here: a Secure cookie would never come back


def test_over_https_the_session_cookie_is_secure(services: Services) -> None:
    account(services, Role.CLERK, account_id="sun", password="right-password")
    web = browser(services, "https://testserver")
    token = form_token(web.get("/sign-in"))
    signed = web.post(
        "/sign-in", data={"account": "sun", "password": "right-password", "csrf": token}
    )
    assert "Secure" in set_cookies(signed)[SESSION_COOKIE]


def test_signing_out_revokes_the_session(services: Services) -> None:
    account(services, Role.CLERK, account_id="zhou", password="right-password")
    web = browser(services)
    token = form_token(web.get("/sign-in"))
    web.post("/sign-in", data={"account": "zhou", "password": "right-password", "csrf": token})
    session = web.cookies.get(SESSION_COOKIE)
    assert session
    assert web.get("/console").status_code == 200
    # The token from before signing in is void now: the session changed.
    assert web.post("/sign-out", data={"csrf": token}).status_code == 400
    out = web.post("/sign-out", data={"csrf": form_token(web.get("/console"))})
    assert out.status_code == 303
    # The old cookie's token is dead, even if someone kept a copy.
    api = TestClient(create_app(services))
    assert api.get("/v1/me", headers={"Authorization": f"Bearer {session}"}).status_code == 401
    web.cookies.set(SESSION_COOKIE, session)
    assert web.get("/console").status_code == 303  # to sign in again


def test_sign_in_never_sends_you_to_another_site(services: Services) -> None:
    account(services, Role.CLERK, account_id="wu", password="right-password")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        web = browser(services)
        token = form_token(web.get("/sign-in"))
        signed = web.post(
            "/sign-in",
            data={"account": "wu", "password": "right-password", "csrf": token, "next": target},
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == "/console", target


def test_the_sign_in_form_slows_down_repeated_failures(services: Services) -> None:
    account(services, Role.CLERK, account_id="zheng", password="right-password")
    web = browser(services)
    token = form_token(web.get("/sign-in"))
    for _ in range(FREE_FAILURES):
        wrong = web.post(
            "/sign-in", data={"account": "zheng", "password": "nope-nope", "csrf": token}
        )
        assert wrong.status_code == 422
        assert "账号或密码错误" in wrong.text
    delayed = web.post(
        "/sign-in", data={"account": "zheng", "password": "right-password", "csrf": token}
    )
    assert delayed.status_code == 422
    assert "秒后再试" in delayed.text
    assert SESSION_COOKIE not in set_cookies(delayed)


def test_a_form_posted_from_another_site_is_refused(services: Services) -> None:
    account(services, Role.CLERK, account_id="feng", password="right-password")
    web = browser(services)
    token = form_token(web.get("/sign-in"))
    good = {"account": "feng", "password": "right-password", "csrf": token}
    for origin in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "http://evil.example/x"},
    ):
        refused = web.post("/sign-in", data=good, headers=origin)
        assert refused.status_code == 400, origin
        assert SESSION_COOKIE not in set_cookies(refused)
    same = web.post("/sign-in", data=good, headers={"Origin": "http://testserver"})
    assert same.status_code == 303


def test_every_page_and_answer_carries_the_security_headers(services: Services) -> None:
    web = browser(services)
    for path in (
        "/sign-in",
        "/v1/me",
        "/no-such-page",
        "/docs",
        "/openapi.json",
        "/static/app.css",
    ):
        answer = web.get(path)
        csp = answer.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, path
        assert "'unsafe-inline'" not in csp, path
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["x-frame-options"] == "DENY", path
        assert answer.headers["referrer-policy"] == "same-origin", path
        assert "strict-transport-security" not in answer.headers, path  # plain http
    secure = browser(services, "https://testserver").get("/sign-in")
    assert "max-age=" in secure.headers["strict-transport-security"]


def test_the_pages_and_the_api_docs_have_no_inline_script_and_load_nothing_from_elsewhere(
    services: Services,
) -> None:
    web = browser(services)
    for path in ("/sign-in", "/docs", "/"):
        text = web.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path  # inline script
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", text), path
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path
    for asset in (
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
        "/static/api-docs.js",
    ):
        assert web.get(asset).status_code == 200, asset


def test_an_unexpected_failure_carries_the_security_headers_too(services: Services) -> None:
    """Starlette answers an unexpected exception from its outermost layer, past the
    headers' middleware: the 500 handler adds them itself, to the page and to the API."""
    app = create_app(services)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    app.add_api_route("/v1/broken", broken)
    for base in ("http://testserver", "https://testserver"):
        web = TestClient(app, base_url=base, raise_server_exceptions=False)
        for path in ("/broken", "/v1/broken"):
            answer = web.get(path)
            assert answer.status_code == 500, path
            assert "a bug" not in answer.text
            assert "Traceback" not in answer.text
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], path
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert answer.headers["x-frame-options"] == "DENY", path
            https = base.startswith("https")
            assert ("strict-transport-security" in answer.headers) == https, path
