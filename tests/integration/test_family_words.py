"""What a family reads: every member page, in both languages, for a guardian whose child
was settled at a hospital and has a filing for another region. The page's text must not
show a policy file's key, a region's or an institution's code, or a whole ID number."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.roles_world import C1, CITY, COUNTY, I1, I2, build
from integration.test_pages import PAGES, QUERIES, VALUES
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Role
from yibao.domain.model import Kind
from yibao.domain.registry import Institution, InstitutionKind
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.web import i18n
from yibao.entrypoints.web.session import SESSION_COOKIE
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine

ID_NUMBER = re.compile(r"\d{17}[\dX]")
POLICY_KEY = re.compile(r"\.yaml|\[text\]|\[set\]")


def readable(html: str) -> str:
    """What a person reads or hears: the text, and the labels given to assistive
    technology (aria-label, alt, title)."""
    labels = " ".join(re.findall(r'(?:aria-label|alt|title)="([^"]*)"', html))
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html) + " " + labels


def leaks(text: str, names: list[str]) -> list[str]:
    found = [m.group(0) for m in POLICY_KEY.finditer(text)]
    found += [m.group(0) for m in ID_NUMBER.finditer(text)]
    found += [code for code in (CITY, COUNTY) if code in text]
    found += re.findall(r"\((?:student|resident|employee)\)", text)  # a scheme's code
    found += re.findall(r"\b(?:sample|hill|other)-(?:city|county)\b", text)  # any region's code
    for name in names:  # an institution's name may contain its code ("hospital I1")
        text = text.replace(name, " ")
    found += [code for code in (I1, I2) if re.search(rf"\b{code}\b", text)]
    return found


def test_no_family_page_shows_codes_keys_or_whole_id_numbers(
    engine: Engine, client: TestClient, services: Services
) -> None:
    world = build(engine, services, client)
    guardian = services.access.authenticate(world.accounts["guardian"]["Authorization"].split()[1])
    assert guardian is not None
    services.certificates.file_remote_treatment(
        guardian, C1, COUNTY, date(2026, 7, 1), date(2026, 9, 30)
    )
    with UnitOfWork(engine) as uow:  # a stay there: its explanation names the region
        uow.registry.add_institution(
            Institution("HC", COUNTY, "county hospital", 2, InstitutionKind.HOSPITAL, True)
        )
        uow.commit()
    there = Bill(
        "HC",
        "CARD-C1",
        Kind.OUTPATIENT,
        date(2026, 8, 3),
        (BillLine("TEST-A", Decimal(1), Decimal("80.00")),),
    )
    services.settlements.settle(there)
    with UnitOfWork(engine) as uow:
        names = [f"hospital {I1}", f"hospital {I2}"]
        assert uow.registry.institution(I1) is not None
    pages = TestClient(create_app(services), follow_redirects=False)
    pages.cookies.set(SESSION_COOKIE, world.accounts["guardian"]["Authorization"].split()[1])
    problems: list[str] = []
    seen = 0
    for path, allowed in PAGES.items():
        if allowed == "public" or Role.GUARDIAN not in allowed or "receipts" in path:
            continue
        for lang in i18n.LANGS:
            answer = pages.get(
                path.format(**VALUES), params={**QUERIES.get(path, {}), "lang": lang}
            )
            if answer.status_code != 200:
                continue
            seen += 1
            found = leaks(readable(answer.text), names)
            if found:
                problems.append(f"{path} [{lang}]: {sorted(set(found))}")
    assert seen >= 16, "the walk read the family's pages"
    assert not problems, "\n".join(problems)


def test_the_check_finds_what_it_looks_for() -> None:
    """The check itself: each kind of leak is caught (a check that finds nothing proves
    nothing)."""
    assert leaks("[sample-city/student.yaml: inpatient.rate [text]]", [])
    assert leaks("hospital I2 and I1", ["hospital I2"]) == ["I1"]
    assert leaks("990100201405010215", [])
    assert leaks("filed for hill-county", [])
    assert leaks("Basic fund (student) pays 150.00", [])
    assert not leaks("hospital I1 · 9901**********0215", ["hospital I1"])
