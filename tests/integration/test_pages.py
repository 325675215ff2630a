"""Every web page, for every role and in both languages: the right role sees it, the
wrong one gets the 403 page, nobody signed in is sent to sign in; a Chinese page shows
no English string of the catalogues, an English page no Chinese one.

The table below names every page; a page the app serves without a row fails the test,
so a new page must say who may see it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.roles_world import C1, build
from yibao.domain.access import Role
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.web import i18n
from yibao.entrypoints.web.session import SESSION_COOKIE
from yibao.service.services import Services

PUBLIC = "public"
MEMBERS = frozenset({Role.INSURED, Role.GUARDIAN})
STAFF = frozenset({Role.CLERK, Role.APPROVER})

PAGES: dict[str, Any] = {
    "/": PUBLIC,
    "/sign-in": PUBLIC,
    "/app/sign-up": PUBLIC,
    "/app": MEMBERS,
    "/app/years/{year}": MEMBERS,
    "/app/persons/{person_id}/years/{year}": MEMBERS,
    "/app/estimate": MEMBERS,
    "/app/services": MEMBERS,
    "/app/filings/new": MEMBERS,
    "/app/cards": MEMBERS,
    "/app/cards/{number}/lost": MEMBERS,
    "/app/claims": MEMBERS,
    "/app/claims/new": MEMBERS,
    "/app/claims/{claim_id}/receipts/{n}": MEMBERS,
    "/app/institutions": MEMBERS,
    "/app/catalogue": MEMBERS,
    "/app/notices": MEMBERS,
    "/app/family": MEMBERS,
    "/console": STAFF,
    "/console/persons": STAFF,
    "/console/persons/{person_id}": STAFF,
    "/console/persons/new": frozenset({Role.CLERK}),
    "/console/persons/{person_id}/work": frozenset({Role.CLERK}),
    "/console/queues/schools": STAFF,
    "/console/queues/schools/{batch_id}": STAFF,
    "/console/queues/approvals": STAFF,
    "/console/queues/approvals/{approval_id}": STAFF,
    "/console/queues/claims": STAFF,
    "/console/queues/claims/{claim_id}": STAFF,
    "/console/queues/claims/{claim_id}/receipts/{n}": STAFF,
    "/console/queues/cards": STAFF,
    "/console/dashboard": STAFF,
    "/console/dashboard.csv": STAFF,
    "/console/settlements/{settlement_id}": STAFF,
    "/console/audit": STAFF,
    "/console/fund": STAFF,
    "/console/clearing": STAFF,
    "/console/clearing/{clearing_id}": STAFF,
    "/console/clearing/{clearing_id}/export.{kind}": STAFF,
}
VALUES = {
    "year": "2026",
    "person_id": C1,
    "number": "CARD-C1",
    "batch_id": "999999",
    "approval_id": "999999",
    "claim_id": "999999",
    "clearing_id": "999999",
    "kind": "csv",
    "settlement_id": "1",
    "n": "1",
}
QUERIES = {
    "/console/persons": {"q": "C1"},
    "/app/institutions": {"q": "hospital"},
    "/app/catalogue": {"q": "test"},
    "/console/dashboard.csv": {"region": "sample-city", "year": "2026"},
}
HAN = re.compile(r"[\u4e00-\u9fff]")


def page_routes(routes: list[Any], prefix: str = "") -> Iterator[str]:
    """GET paths of the web pages (not the API, not the national interface)."""
    for route in routes:
        if isinstance(route, APIRoute):
            path = prefix + route.path
            page = not path.startswith(("/v1", "/fsi")) and path != "/healthz"
            if page and "GET" in (route.methods or set()):
                yield path
        elif hasattr(route, "original_router"):
            inner = prefix + (getattr(route.include_context, "prefix", "") or "")
            yield from page_routes(route.original_router.routes, inner)


def test_every_page_has_a_row(services: Services) -> None:
    served = set(page_routes(list(create_app(services).routes)))
    assert len(served) > 20, "the walk found the pages"
    assert served == PAGES.keys()


def _visible_text(html: str) -> str:
    """The page as a person reads it: tags, scripts and styles removed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def _english_left(text: str) -> list[str]:
    """Catalogue strings of a few words that appear untranslated in a Chinese page."""
    return sorted(
        msgid
        for msgid in i18n.catalogue("zh")
        if len(msgid.split()) >= 3 and "{" not in msgid and msgid in text
    )


def test_each_page_for_each_role_in_each_language(
    engine: Engine, client: TestClient, services: Services
) -> None:
    world = build(engine, services, client)
    pages = TestClient(create_app(services), follow_redirects=False)
    problems: list[str] = []
    for role in [None, *Role]:
        if role is None:
            pages.cookies.clear()
        else:
            token = world.accounts[role.value]["Authorization"].split()[1]
            pages.cookies.set(SESSION_COOKIE, token)
        for path, allowed in PAGES.items():
            url = path.format(**VALUES)
            for lang in i18n.LANGS:
                params = {**QUERIES.get(path, {}), "lang": lang}
                answer = pages.get(url, params=params)
                who = role.value if role else "anonymous"
                cell = f"{who} GET {url} [{lang}] -> {answer.status_code}"
                if allowed == PUBLIC or (role is not None and role in allowed):
                    if answer.status_code not in (200, 303, 404):
                        problems.append(f"{cell}: expected the page")
                        continue
                elif role is None:
                    if answer.status_code != 303 or not answer.headers["location"].startswith(
                        "/sign-in?next="
                    ):
                        problems.append(f"{cell}: expected a redirect to sign in")
                    continue
                elif answer.status_code != 403:
                    problems.append(f"{cell}: expected the 403 page")
                    continue
                if not answer.headers.get("content-type", "").startswith("text/html"):
                    continue  # the CSV export
                text = _visible_text(answer.text)
                if lang == "zh":
                    left = _english_left(text)
                    if left:
                        problems.append(f"{cell}: untranslated {left[:3]}")
                elif HAN.search(text.replace("中文", "")):
                    chinese = HAN.findall(text.replace("中文", ""))
                    names = {"样", "本", "市", "山", "县"}  # region names are data
                    if set(chinese) - names:
                        problems.append(
                            f"{cell}: Chinese in the English page: {''.join(chinese)[:20]}"
                        )
    assert not problems, "\n".join(problems)
