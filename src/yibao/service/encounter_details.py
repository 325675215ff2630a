"""What a bill says about its encounter besides its lines, as issue 14's decision tables
read it: the cause (an accidental injury), a childbirth stay's delivery, and the earlier
stay of the same episode it was referred from. One service-layer input for the card API,
quotes, manual claims and the national interface; and the hospital's type and province
class from the registry.

A stay's key in the year's accumulators (the stays of a referral chain) is its place in
the person's year, `YEAR/SEQ` (the settlement's `seq`): known before the settlement's id
is drawn, and the same when the year is settled again (a reversal, `yibao verify`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from yibao.domain.conditions import DOMAINS
from yibao.domain.frozen import fast_init
from yibao.domain.model import Kind
from yibao.domain.parameters import RegionPolicy
from yibao.domain.registry import Institution
from yibao.service.errors import ServiceError
from yibao.service.ports import PolicySource, UnitOfWork

CAUSES = DOMAINS["cause"]
DELIVERIES = tuple(d for d in DOMAINS["delivery"] if d != "none")
TYPES = DOMAINS["type"]
PROVINCE_CLASSES = DOMAINS["province"]


def stay_key(year: int, seq: int) -> str:
    return f"{year}/{seq}"


@fast_init
@dataclass(frozen=True)
class EncounterDetails:
    cause: str = "ordinary"  # ordinary | accident (no liable third party)
    delivery: str | None = None  # a childbirth stay: natural | caesarean
    referred_from: int | None = None  # the settlement of the stay it was referred from

    def check(self, kind: Kind) -> None:
        """Clear errors for what no rule could read."""
        if self.cause == "ordinary" and self.delivery is None and self.referred_from is None:
            return  # most bills: nothing given, nothing to check
        if self.cause not in CAUSES:
            raise ServiceError(
                "invalid_cause",
                f"cause: {self.cause!r} is not one of {', '.join(CAUSES)}",
                field="cause",
            )
        if self.delivery is not None and self.delivery not in DELIVERIES:
            raise ServiceError(
                "invalid_delivery",
                f"delivery: {self.delivery!r} is not one of {', '.join(DELIVERIES)}",
                field="delivery",
            )
        for name, given in (("delivery", self.delivery), ("referred_from", self.referred_from)):
            if given is not None and kind is not Kind.INPATIENT:
                raise ServiceError(
                    f"invalid_{name}",
                    f"{name}: only an inpatient stay has one (this bill is {kind.value})",
                    field=name,
                )

    def data(self) -> dict[str, Any]:
        """The details a bill gave (none for a bill without them: its fingerprint is as it
        was before they existed)."""
        given = {
            "cause": self.cause,
            "delivery": self.delivery,
            "referred_from": self.referred_from,
        }
        return {k: v for k, v in given.items() if v is not None and v != "ordinary"}


def origin_key(uow: UnitOfWork, person_id: str, details: EncounterDetails, day: date) -> str | None:
    """The stay key of the settlement a stay was referred from: one of the person's,
    settled on or before the stay's day (a stay of another year starts its own episode)."""
    if details.referred_from is None:
        return None
    row = uow.ledger.settlement(details.referred_from)
    if row is None or row.person_id != person_id:
        raise ServiceError(
            "unknown_origin",
            f"referred_from: settlement {details.referred_from} is not one of this person's",
            field="referred_from",
        )
    if row.encounter_date > day:
        raise ServiceError(
            "invalid_referred_from",
            f"referred_from: settlement {details.referred_from} is of "
            f"{row.encounter_date.isoformat()}, after this stay",
            field="referred_from",
        )
    return stay_key(int(row.year), int(row.seq))


def province_class(policies: PolicySource, policy: RegionPolicy, inst: Institution) -> str:
    """`same` or `other`: the institution's province (as registered, else its region's)
    against the insured region's. An institution of a region yibao does not know and
    with no province registered is taken to be in the same province."""
    if inst.region == policy.code:
        return "same"
    theirs = inst.province
    if theirs is None:
        try:
            theirs = policies(inst.region).admdvs[:2]
        except ValueError:
            return "same"
    return "same" if theirs == policy.admdvs[:2] else "other"
