"""A family files treatment in another region in the member app, and the next bill there
is settled at the local rates (reference §6, §9): the filing page offers the regions the
deployment knows but the family's own; before the filing a stay in hill-county is halved
(sample-city's rule for treatment elsewhere with neither filing nor referral), after it
the same stay pays what it pays at home."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.engine import Engine

from integration.browser.conftest import Opener, shoot
from integration.browser.test_member_app import signed_in
from integration.roles_world import G1, build_registry
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.model import Kind
from yibao.domain.registry import Institution, InstitutionKind
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine

COUNTY_HOSPITAL = "HC-H2"


def test_a_filing_in_the_app_then_the_bill_there_at_local_rates(
    open_page: Opener, services: Services, engine: Engine
) -> None:
    build_registry(engine)
    with UnitOfWork(engine) as uow:
        uow.registry.add_institution(
            Institution(
                COUNTY_HOSPITAL, "hill-county", "山县人民医院", 2, InstitutionKind.HOSPITAL, True
            )
        )
        uow.commit()

    def stay(where: str) -> Bill:
        line = BillLine("TEST-A", Decimal(1), Decimal("3000.00"))
        return Bill(where, "CARD-G1", Kind.INPATIENT, date(2026, 9, 14), (line,))

    at_home = services.settlements.quote(stay("I1"))  # sample-city's level-2 hospital
    unfiled = services.settlements.quote(stay(COUNTY_HOSPITAL))
    assert Decimal(unfiled["basic"]) * 2 == Decimal(at_home["basic"]) > 0

    page = signed_in(open_page, services)
    page.goto("/app/filings/new")
    offered = page.locator("#f-region option").evaluate_all("els => els.map(e => e.value)")
    assert "hill-county" in offered
    assert "sample-city" not in offered  # the family's own region is not offered
    page.select_option("#f-person", G1)
    page.select_option("#f-region", "hill-county")
    page.fill("#f-valid_from", "2026-09-01")
    page.fill("#f-valid_to", "2026-12-31")
    shoot(page, "member-filing-elsewhere")
    page.click("main button[type=submit]")
    assert page.url.endswith("/app/services?done=filed")
    assert "山县" in page.locator("[data-testid=filing]").inner_text()

    _, settled = services.settlements.settle(stay(COUNTY_HOSPITAL))
    assert settled["basic"] == at_home["basic"]  # filed: the local rates
    with UnitOfWork(engine) as uow:  # and the county advanced it for the city
        assert uow.regions.moved(int(settled["id"]))
