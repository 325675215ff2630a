"""A person's running totals for one settlement year: the state the engine carries.

It goes into each settlement and a new one comes out, so a service can store it
between bills and settle one bill at a time with the same result as the whole year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from yibao.domain.money import ZERO


def _frozen(mapping: Mapping[str, Decimal]) -> Mapping[str, Decimal]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class YearAccumulators:
    year: int
    # Pooled cost of inpatient stays and special-disease visits: drives the segments and
    # a top line on cost. It grows by the full pooled cost, whatever reduction applied.
    pooled_cost: Decimal = ZERO
    # What the basic fund actually paid on inpatient and special-disease bills (a top line
    # on payments counts this).
    inpatient_fund_paid: Decimal = ZERO
    # What the basic fund actually paid on outpatient-type bills (the yearly limit).
    outpatient_fund_paid: Decimal = ZERO
    # Threshold charged so far, per key ("outpatient", "special_outpatient:dialysis", ...),
    # for thresholds charged per year or per year and disease.
    thresholds: Mapping[str, Decimal] = field(default_factory=lambda: _frozen({}))
    # Personal payment on eligible cost (eligible − basic − assistance − institution):
    # the base of the yearly serious-illness layer.
    personal_on_eligible: Decimal = ZERO
    # Everything the person paid for the year's bills, before the serious-illness layer.
    personal: Decimal = ZERO

    def threshold_charged(self, key: str) -> Decimal:
        return self.thresholds.get(key, ZERO)

    def with_threshold(self, key: str, charged: Decimal) -> YearAccumulators:
        if not charged:
            return self
        updated = dict(self.thresholds)
        updated[key] = updated.get(key, ZERO) + charged
        return replace(self, thresholds=_frozen(updated))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: amounts as exact strings (never rounded: sub-fen slices matter)."""
        return {
            "year": self.year,
            "pooled_cost": str(self.pooled_cost),
            "inpatient_fund_paid": str(self.inpatient_fund_paid),
            "outpatient_fund_paid": str(self.outpatient_fund_paid),
            "thresholds": {k: str(v) for k, v in sorted(self.thresholds.items())},
            "personal_on_eligible": str(self.personal_on_eligible),
            "personal": str(self.personal),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> YearAccumulators:
        return cls(
            year=int(data["year"]),
            pooled_cost=Decimal(data["pooled_cost"]),
            inpatient_fund_paid=Decimal(data["inpatient_fund_paid"]),
            outpatient_fund_paid=Decimal(data["outpatient_fund_paid"]),
            thresholds=_frozen({k: Decimal(v) for k, v in data["thresholds"].items()}),
            personal_on_eligible=Decimal(data["personal_on_eligible"]),
            personal=Decimal(data["personal"]),
        )
