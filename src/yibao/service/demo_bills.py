"""A year already under way for the demo region: bills settled through the settlement
service (so the ledger, the accumulators and the explanations are the real thing), for
the member app's reimbursements and the console's dashboard to show something.

Deterministic: the same persons, days and lines for the same region, year and count."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from yibao.domain.model import Kind
from yibao.service.demo import DEMO_REGIONS, catalogue, region_prefix
from yibao.service.errors import ServiceError
from yibao.service.ports import PolicySource, UowFactory
from yibao.service.settlement import Bill, BillLine, SettlementService

OUTPATIENT_PLACES = ("C1-001", "C1-002", "H1-001", "H2-001")
INPATIENT_PLACES = ("H2-001", "H3-001", "H3-003")


@dataclass(frozen=True)
class DemoBills:
    settled: int
    refused: int


def _price(name: str) -> tuple[str, Decimal]:
    item = next(i for i in catalogue() if i.name == name)
    return item.code, item.unit_price if item.unit_price is not None else Decimal("12.50")


def settle_demo_bills(
    uow_factory: UowFactory,
    policies: PolicySource,
    *,
    region: str = "sample-city",
    year: int = 2026,
    count: int = 400,
    until: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DemoBills:
    """Settle `count` bills of the year (outpatient visits, and one in eight a stay) for
    persons with an active card, children of the demo guardian first, on days up to
    `until` (default: the year's 31 October)."""
    last = until or date(year, 10, 31)
    with uow_factory() as uow:
        rows = uow.registry.active_cards(region, year)
        guardian = uow.accounts.get("guardian")
        children = set(uow.registry.children_of(guardian.person_id)) if guardian else set()
    cards = [number for number, _ in sorted(rows, key=lambda r: (r[1] not in children, r[1]))]
    rng = random.Random(f"{region}:{year}:{count}")
    blood, amoxicillin = _price("血常规"), _price("阿莫西林胶囊(0.25g×24粒)")
    bed, ceftriaxone = _price("普通病房床位费(三人间)"), _price("注射用头孢曲松钠(1.0g)")
    service = SettlementService(uow_factory, policies)
    settled = refused = 0
    span = (last - date(year, 1, 1)).days
    for n in range(min(count, len(cards) * 3)):
        card = cards[n % len(cards)]
        day = date(year, 1, 1) + timedelta(days=rng.randint(0, span))
        if n % 8 == 7:
            nights = rng.randint(2, 12)
            bill = Bill(
                rng.choice(INPATIENT_PLACES),
                card,
                Kind.INPATIENT,
                day,
                (
                    BillLine(bed[0], Decimal(nights), bed[1]),
                    BillLine(ceftriaxone[0], Decimal(nights * 2), Decimal("38.50")),
                ),
                diagnosis="J18.9",
            )
        else:
            bill = Bill(
                rng.choice(OUTPATIENT_PLACES),
                card,
                Kind.OUTPATIENT,
                day,
                (
                    BillLine(blood[0], Decimal(1), blood[1]),
                    BillLine(amoxicillin[0], Decimal(rng.randint(1, 3)), amoxicillin[1]),
                ),
            )
        try:
            service.settle(bill, idempotency_key=f"demo:{region}:{year}:{n}")
            settled += 1
        except ServiceError:
            refused += 1  # a demo bill the rules refuse (the person's scheme, a date)
        if progress is not None:
            progress(n + 1, count)
    return DemoBills(settled, refused)


def settle_elsewhere_bills(
    uow_factory: UowFactory,
    policies: PolicySource,
    *,
    region: str = "sample-city",
    year: int = 2026,
    count: int = 24,
) -> DemoBills:
    """Stays across the demo's regions (reference §9), for the clearing to have something
    to clear: half the neighbour's residents in the region's hospitals, half the region's
    in the neighbour's county hospital, on days from January to October."""
    places: dict[str, tuple[str, ...]] = {region: INPATIENT_PLACES}
    with uow_factory() as uow:
        holders: dict[str, list[str]] = {}
        for code in DEMO_REGIONS:
            holders[code] = [number for number, _ in uow.registry.active_cards(code, limit=count)]
            if code != region:
                places[code] = (f"{region_prefix(code)}-H2-001",)
    pairs = [(r, where) for r in holders for where in places if r != where and holders[r]]
    bed, ceftriaxone = _price("普通病房床位费(三人间)"), _price("注射用头孢曲松钠(1.0g)")
    service = SettlementService(uow_factory, policies)
    rng = random.Random(f"elsewhere:{region}:{year}:{count}")
    settled = refused = 0
    for n in range(count if pairs else 0):
        insured, where = pairs[n % len(pairs)]
        nights = rng.randint(3, 10)
        bill = Bill(
            rng.choice(places[where]),
            holders[insured][n // len(pairs) % len(holders[insured])],
            Kind.INPATIENT,
            date(year, 1, 1) + timedelta(days=rng.randint(0, 300)),
            (
                BillLine(bed[0], Decimal(nights), bed[1]),
                BillLine(ceftriaxone[0], Decimal(nights * 2), Decimal("38.50")),
            ),
            diagnosis="J18.9",
        )
        try:
            service.settle(bill, idempotency_key=f"demo-elsewhere:{region}:{year}:{n}")
            settled += 1
        except ServiceError:
            refused += 1
    return DemoBills(settled, refused)
