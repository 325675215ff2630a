"""A person's running totals for one settlement year: the state the engine carries.

It goes into each settlement and a new one comes out, so a service can store it
between bills and settle one bill at a time with the same result as the whole year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from yibao.domain.frozen import fast_init
from yibao.domain.money import ZERO


def _frozen(mapping: Mapping[str, Decimal]) -> Mapping[str, Decimal]:
    return MappingProxyType(dict(mapping))


# Read-only, so one empty mapping serves every year that has nothing under a counter.
_NONE: Mapping[str, Any] = MappingProxyType({})


def _amounts(stored: Mapping[str, str] | None) -> Mapping[str, Decimal]:
    """A stored counter's amounts, read-only (the shared empty one when it has none)."""
    return MappingProxyType({k: Decimal(v) for k, v in stored.items()}) if stored else _NONE


@fast_init
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
    # What the fund paid for each cause with a yearly cap ("accident", ...).
    cause_paid: Mapping[str, Decimal] = field(default_factory=lambda: _frozen({}))
    # Stays of a referral chain (where thresholds are continued): each stay's id, its
    # institution level, and the thresholds charged in its episode up to and with it.
    stays: Mapping[str, tuple[int, Decimal]] = field(default_factory=lambda: MappingProxyType({}))
    # Personal payment on eligible cost of the bills of each diagnosis group settled apart
    # by the serious-illness layer (also counted in `personal_on_eligible`).
    si_groups: Mapping[str, Decimal] = field(default_factory=lambda: _frozen({}))

    def but(self, **changes: Any) -> YearAccumulators:
        """A copy with `changes` (dataclasses.replace without its per-field checks, which
        cost more than the engine's arithmetic: every bill makes two or three copies).
        Changes name fields only; the fields have no __post_init__ to run."""
        assert changes.keys() <= FIELDS, changes.keys() - FIELDS
        new = object.__new__(YearAccumulators)
        new.__dict__.update(self.__dict__, **changes)
        return new

    def threshold_charged(self, key: str) -> Decimal:
        return self.thresholds.get(key, ZERO)

    def with_threshold(self, key: str, charged: Decimal) -> YearAccumulators:
        if not charged:
            return self
        updated = dict(self.thresholds)  # a copy of its own: wrapped without another
        updated[key] = updated.get(key, ZERO) + charged
        return self.but(thresholds=MappingProxyType(updated))

    def with_amount(self, name: str, key: str, amount: Decimal) -> YearAccumulators:
        """`cause_paid` or `si_groups` with `amount` added under `key`."""
        if not amount:
            return self
        updated = dict(self.cause_paid if name == "cause_paid" else self.si_groups)
        updated[key] = updated.get(key, ZERO) + amount
        if name == "cause_paid":
            return self.but(cause_paid=MappingProxyType(updated))
        return self.but(si_groups=MappingProxyType(updated))

    def with_stay(self, stay: str, level: int, chain: Decimal) -> YearAccumulators:
        updated = dict(self.stays)
        updated[stay] = (level, chain)
        return self.but(stays=MappingProxyType(updated))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: amounts as exact strings (never rounded: sub-fen slices matter).
        The counters of the later rules (cause caps, referral chains, diagnosis groups)
        only where they hold something."""
        out: dict[str, Any] = {
            "year": self.year,
            "pooled_cost": str(self.pooled_cost),
            "inpatient_fund_paid": str(self.inpatient_fund_paid),
            "outpatient_fund_paid": str(self.outpatient_fund_paid),
            "thresholds": {k: str(v) for k, v in sorted(self.thresholds.items())},
            "personal_on_eligible": str(self.personal_on_eligible),
            "personal": str(self.personal),
        }
        if self.cause_paid:
            out["cause_paid"] = {k: str(v) for k, v in sorted(self.cause_paid.items())}
        if self.stays:
            out["stays"] = {k: [lv, str(c)] for k, (lv, c) in sorted(self.stays.items())}
        if self.si_groups:
            out["si_groups"] = {k: str(v) for k, v in sorted(self.si_groups.items())}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> YearAccumulators:
        """As to_dict wrote it. Every bill reads one: the counters it has not (stored
        before their rules existed, or empty) share one empty mapping."""
        stays = data.get("stays")
        return cls(
            year=int(data["year"]),
            pooled_cost=Decimal(data["pooled_cost"]),
            inpatient_fund_paid=Decimal(data["inpatient_fund_paid"]),
            outpatient_fund_paid=Decimal(data["outpatient_fund_paid"]),
            thresholds=_amounts(data["thresholds"]),
            personal_on_eligible=Decimal(data["personal_on_eligible"]),
            personal=Decimal(data["personal"]),
            cause_paid=_amounts(data.get("cause_paid")),
            stays=MappingProxyType({k: (int(lv), Decimal(c)) for k, (lv, c) in stays.items()})
            if stays
            else _NONE,
            si_groups=_amounts(data.get("si_groups")),
        )


FIELDS = YearAccumulators.__dataclass_fields__.keys()
