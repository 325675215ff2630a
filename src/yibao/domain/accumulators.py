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


def _amounts(stored: Mapping[str, str]) -> Mapping[str, Decimal]:
    """A stored counter's amounts, read-only (the caller passes the empty one by)."""
    return MappingProxyType({k: Decimal(v) for k, v in stored.items()})


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
        only where they hold something. Every bill writes one: the ZERO that "0" reads as
        (from_dict) is written "0" without str() (a call through the context's machinery),
        and no thresholds without sorting none."""
        thresholds = self.thresholds
        pooled, inpatient, outpatient = (
            self.pooled_cost,
            self.inpatient_fund_paid,
            self.outpatient_fund_paid,
        )
        on_eligible, personal = self.personal_on_eligible, self.personal
        out: dict[str, Any] = {
            "year": self.year,
            "pooled_cost": "0" if pooled is ZERO else str(pooled),
            "inpatient_fund_paid": "0" if inpatient is ZERO else str(inpatient),
            "outpatient_fund_paid": "0" if outpatient is ZERO else str(outpatient),
            "thresholds": {k: str(v) for k, v in sorted(thresholds.items())} if thresholds else {},
            "personal_on_eligible": "0" if on_eligible is ZERO else str(on_eligible),
            "personal": "0" if personal is ZERO else str(personal),
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
        before their rules existed, or empty) share one empty mapping, and an amount
        stored as "0" (a year's first bill has five) is the one ZERO, not a Decimal made
        from text (each some 1,500 instructions). The instance is filled as fast_init
        fills one, from a dict made at once (keywords cost twice as much)."""
        thresholds = data["thresholds"]
        cause_paid = data.get("cause_paid")
        stays = data.get("stays")
        si_groups = data.get("si_groups")
        pooled, inpatient, outpatient = (
            data["pooled_cost"],
            data["inpatient_fund_paid"],
            data["outpatient_fund_paid"],
        )
        on_eligible, personal = data["personal_on_eligible"], data["personal"]
        new = object.__new__(cls)
        new.__dict__.update(
            {
                "year": int(data["year"]),
                "pooled_cost": ZERO if pooled == "0" else Decimal(pooled),
                "inpatient_fund_paid": ZERO if inpatient == "0" else Decimal(inpatient),
                "outpatient_fund_paid": ZERO if outpatient == "0" else Decimal(outpatient),
                "thresholds": _amounts(thresholds) if thresholds else _NONE,
                "personal_on_eligible": ZERO if on_eligible == "0" else Decimal(on_eligible),
                "personal": ZERO if personal == "0" else Decimal(personal),
                "cause_paid": _amounts(cause_paid) if cause_paid else _NONE,
                "stays": MappingProxyType(
                    {k: (int(lv), Decimal(c)) for k, (lv, c) in stays.items()}
                )
                if stays
                else _NONE,
                "si_groups": _amounts(si_groups) if si_groups else _NONE,
            }
        )
        return new

    def draft(self) -> Draft:
        """A copy of its own for one settlement to change in place (see Draft)."""
        new = object.__new__(Draft)
        new.__dict__.update(self.__dict__)
        return new


class Draft(YearAccumulators):
    """The accumulators while one bill is settled (engine/settle.py settle_encounter):
    a copy of the year's, changed in place by `but` and the `with_` methods, which
    return it, and made a YearAccumulators by `done()` before anyone else sees it. A
    bill changes the counters three to five times: each frozen copy of the ten fields
    cost some 9,000 instructions, a change in place a tenth of that. The rules read the
    counters only through the latest value they were handed, as they did the frozen
    copies, so the two settle alike (tests/unit/test_accumulators.py)."""

    def but(self, **changes: Any) -> YearAccumulators:
        held = self.__dict__
        held.update(changes)
        # A name not a field's would have added a key: found after the update, by the
        # count (the subset test before it cost a third of the call).
        assert len(held) == _COUNT, changes.keys() - FIELDS
        return self


def done(acc: YearAccumulators) -> YearAccumulators:
    """The accumulators after a bill: a draft becomes a YearAccumulators (the same
    object: equal to one made field by field, and its `but` copies again); any other
    is returned as it is."""
    if type(acc) is Draft:
        object.__setattr__(acc, "__class__", YearAccumulators)
    return acc


FIELDS = YearAccumulators.__dataclass_fields__.keys()
_COUNT = len(FIELDS)
