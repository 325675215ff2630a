"""Browser tests: the real server (uvicorn, in a thread) on a test database, driven by
Debian's chromium through Playwright. Never a downloaded browser: ./test installs
chromium with apt-get when it is missing, and a missing browser fails these tests.

Screenshots of every page a test visits, at a phone's width and a desktop's, go to
var/screenshots/<run>/ (the path is printed at the end of the run). Every page shot is
also checked with axe-core (the script axe-playwright-python ships) at both widths: a
violation of serious or critical impact fails the test, naming the rule and the element.

These tests run on the SQLite database of the main job; every service they call is
tested on PostgreSQL by the integration tests beside them.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import axe_playwright_python
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy.engine import Engine

from yibao.adapters.db.engine import make_engine
from yibao.entrypoints.api.app import create_app
from yibao.service.services import Services

# A click that submits a form returns once the next page's navigation has begun, not
# once it is drawn: the tests assert with `expect`, which waits for what it asserts, and
# waits as long as a page may take here (the suite's other process shares the cores).
expect.set_options(timeout=15_000)

CHROMIUM = os.environ.get("YIBAO_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "var" / "screenshots" / datetime.now().strftime("%Y%m%d-%H%M%S")  # noqa: DTZ005
WIDTHS = {"mobile": (390, 844), "desktop": (1440, 900)}
AXE_JS = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


@pytest.fixture
def engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """The main job's database: SQLite (overrides the two-database fixture here)."""
    path = tmp_path / "yibao.sqlite3"
    shutil.copy(sqlite_template, path)
    db = make_engine(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is needed for the browser tests (./test installs chromium)")
    with sync_playwright() as pw:
        found = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield found
        found.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(services: Services) -> Iterator[str]:
    """The whole application (API and pages) served on a free port; its base URL."""
    port = _free_port()
    config = uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        if time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


Opener = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser, server: str) -> Iterator[Opener]:
    """A new browser (its own cookies) at a width and in a language, at a path."""
    contexts: list[Any] = []

    def opener(path: str = "/", *, width: str = "mobile", lang: str = "zh") -> Page:
        w, h = WIDTHS[width]
        context = browser.new_context(
            viewport={"width": w, "height": h},
            locale="zh-CN" if lang == "zh" else "en-GB",
            base_url=server,
        )
        contexts.append(context)
        # A page that is not there fails within seconds; 15, not 5, because the suite's
        # other process and the server share the machine's cores with the browser.
        context.set_default_timeout(15000)
        page = context.new_page()
        page.goto(path)
        return page

    yield opener
    for context in contexts:
        context.close()


def serious_violations(page: Page) -> list[str]:
    """axe-core's violations of serious or critical impact on the page as it is: one line
    each, the rule, its help and the first elements."""
    page.evaluate(AXE_JS)
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in found["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def shoot(page: Page, name: str) -> None:
    """Screenshots of the page as it is, at a phone's width and at a desktop's, each
    checked with axe-core (no serious or critical violation) and for a page wider than
    the screen (a layout that does not hold)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    problems: list[str] = []
    for label, (w, h) in WIDTHS.items():
        page.set_viewport_size({"width": w, "height": h})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        problems += [f"{label}: {v}" for v in serious_violations(page)]
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide > w:
            problems.append(f"{label}: the page is {wide} px wide on a {w} px screen")
    if before:
        page.set_viewport_size(before)
    assert not problems, f"{name}:\n" + "\n".join(problems)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With pytest-xdist's --dist loadgroup, every browser test runs in one process (one
    Chromium at a time), beside the database tests in the other."""
    for item in items:
        if "/browser/" in str(item.path):
            item.add_marker(pytest.mark.xdist_group("browser"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SHOTS.exists():
        terminalreporter.write_line(f"browser screenshots: {SHOTS}")
