"""A manual claim along a referral chain (issue 14): the family paid at the hospital a
patient was referred to, and the claim names the stay it was referred from — a card
settlement, or an earlier claim once approved (its settlement). The claim then settles
with the same stay keys as the counter (service/encounter_details.py), its settlement
keeps `referred_from`, and a re-settlement of the year (a reversal, `yibao verify`)
continues or waives the threshold as the first time.

The origin is checked more strictly than the counter's (which lets an unusable origin
start an episode of its own): a family choosing from its stays should hear why a choice
cannot continue a chain rather than be paid as if it had named none."""

from __future__ import annotations

from datetime import date
from typing import Any

from yibao.domain.model import Kind
from yibao.domain.money import fmt, from_fen
from yibao.service.encounter_details import stay_key
from yibao.service.errors import ServiceError
from yibao.service.ports import UnitOfWork

FIELD = "referred_from"
# A chain shown in words stops here: an episode is a few stays, never this many.
MAX_CHAIN = 20


def _refuse(code: str, message: str, field: str = FIELD) -> ServiceError:
    return ServiceError(code, f"{field}: {message}", field=field)


def claim_origin(
    uow: UnitOfWork,
    person_id: str,
    stay: tuple[Kind, date],
    settlement_id: int | None,
    claim_id: int | None,
) -> int | None:
    """The settlement a claimed stay was referred from, named by its id or by the earlier
    claim booked as it; None when the claim names none. Refused when it is not one of the
    person's, not approved yet, reversed, not an inpatient stay, of another year, or after
    the stay (a claim that is no stay itself is refused by EncounterDetails.check)."""
    kind, day = stay
    if settlement_id is not None and claim_id is not None:
        raise _refuse(
            "invalid_referred_from", "name the earlier stay once (a settlement or a claim)"
        )
    if claim_id is not None and kind is not Kind.INPATIENT:
        raise _refuse(
            "invalid_referred_from",
            f"only an inpatient stay has one (this claim is {kind.value})",
            "referred_from_claim",
        )
    if claim_id is not None:
        settlement_id = _claim_settlement(uow, person_id, claim_id)
    if settlement_id is None:
        return None
    row = uow.ledger.settlement(settlement_id)
    if row is None or row.person_id != person_id:
        raise _refuse("unknown_origin", f"settlement {settlement_id} is not one of this person's")
    problem = _unusable(row, day)
    if problem is not None:
        raise _refuse("invalid_referred_from", f"settlement {settlement_id} {problem}")
    return int(settlement_id)


def _claim_settlement(uow: UnitOfWork, person_id: str, claim_id: int) -> int:
    field = "referred_from_claim"
    row = uow.claims.get(claim_id)
    if row is None or row.person_id != person_id:
        raise _refuse("unknown_origin", f"claim {claim_id} is not one of this person's", field)
    if row.settlement_id is None:
        raise _refuse(
            "invalid_referred_from",
            f"claim {claim_id} is {row.status}: only an approved claim is a settled stay",
            field,
        )
    return int(row.settlement_id)


def _unusable(row: Any, day: date) -> str | None:
    """Why a settlement cannot be the stay a claimed stay was referred from, if it cannot."""
    if row.status != "settled":
        return f"is {row.status}: a reversed stay starts no chain"
    if row.kind != Kind.INPATIENT.value:
        return f"is a {row.kind} bill, not an inpatient stay"
    if int(row.year) != day.year:
        return f"is of {row.year}: a chain is within one year ({day.year} here)"
    if row.encounter_date > day:
        return f"is of {row.encounter_date.isoformat()}, after this stay"
    return None


def origin_stay_key(uow: UnitOfWork, settlement_id: int | None) -> str | None:
    """The stay key the engine continues from (checked when the claim was submitted; a
    stay reversed since is a key in no stay of the year: the claim starts its own)."""
    if settlement_id is None:
        return None
    row = uow.ledger.settlement(settlement_id)
    return None if row is None else stay_key(int(row.year), int(row.seq))


def chain_view(uow: UnitOfWork, person_id: str, settlement_id: int | None) -> list[dict[str, Any]]:
    """The stays a claim was referred along, nearest first: each one's date, hospital (by
    name), level and type, the threshold it charged as it stands now, and its status."""
    out: list[dict[str, Any]] = []
    claimed: dict[int, str] | None = None
    seen: set[int] = set()
    while settlement_id is not None and settlement_id not in seen and len(out) < MAX_CHAIN:
        seen.add(settlement_id)
        row = uow.ledger.settlement(settlement_id)
        if row is None or row.person_id != person_id:
            break
        if claimed is None:  # read once, and only for a claim that names a chain
            claimed = _claimed_places(uow, person_id)
        adjusted = uow.history.latest_adjustments([int(row.id)]).get(row.id)
        threshold = row.threshold_fen
        if adjusted is not None and adjusted.threshold_fen is not None:
            threshold = adjusted.threshold_fen
        out.append(
            {
                "settlement_id": int(row.id),
                "date": row.encounter_date.isoformat(),
                "hospital": _hospital_name(uow, row, claimed),
                "level": int(row.hospital_level),
                "type": row.hospital_type or "general",
                "channel": row.channel,
                "status": row.status,
                "threshold": fmt(from_fen(int(threshold))),
            }
        )
        settlement_id = None if row.referred_from is None else int(row.referred_from)
    return out


def _claimed_places(uow: UnitOfWork, person_id: str) -> dict[int, str]:
    """The places of the person's approved claims as the family wrote them, by settlement."""
    return {
        int(c.settlement_id): c.hospital_name
        for c in uow.member.claims_of([person_id])
        if c.settlement_id is not None
    }


def _hospital_name(uow: UnitOfWork, row: Any, claimed: dict[int, str]) -> str:
    """A stay's place by name: a claim's as the family wrote it, else the registry's."""
    if int(row.id) in claimed:
        return claimed[int(row.id)]
    inst = uow.registry.institution(row.institution_id)
    return row.institution_id if inst is None else inst.name


def stays_of(uow: UnitOfWork, person_id: str, year: int) -> list[dict[str, Any]]:
    """The person's settled inpatient stays of a year, newest first, by hospital name and
    date: what a claim of that year may name as the stay it was referred from."""
    claimed = _claimed_places(uow, person_id)
    rows = [
        r
        for r in uow.history.settlements(person_id, year)
        if r.status == "settled" and r.kind == Kind.INPATIENT.value
    ]
    return [
        {
            "settlement_id": int(r.id),
            "date": r.encounter_date.isoformat(),
            "hospital": _hospital_name(uow, r, claimed),
        }
        for r in sorted(rows, key=lambda r: (r.encounter_date, r.id), reverse=True)
    ]
