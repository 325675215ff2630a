"""The member app's estimate: what a stay or visit would cost the person, by the same
rules as a settlement (the person's categories, the cause and its yearly cap, a
childbirth stay's delivery), against the stored year. Nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.model import Encounter, Hospital, Kind, Line, LineClass
from yibao.domain.money import ZERO
from yibao.domain.registry import insured_person
from yibao.service.access import require, visible_person
from yibao.service.booking import Prepared, run_engine, settlement_view
from yibao.service.catalogue_lines import MAX_BILL
from yibao.service.encounter_details import EncounterDetails
from yibao.service.errors import ServiceError
from yibao.service.ports import PolicySource, UowFactory


@dataclass(frozen=True)
class Ask:
    """A stay or visit costing `amount` at a designated local hospital of `level` on `day`."""

    kind: Kind
    level: int
    amount: Decimal
    day: date
    cause: str = "ordinary"  # or accident
    delivery: str | None = None  # a childbirth stay: natural | caesarean


def _check(ask: Ask) -> None:
    if ask.kind not in (Kind.INPATIENT, Kind.OUTPATIENT):
        raise ServiceError("invalid_field", "kind: inpatient or outpatient", field="kind")
    if ask.level not in (0, 1, 2, 3):
        raise ServiceError("invalid_field", "level: 0 to 3", field="level")
    if not ZERO < ask.amount <= MAX_BILL:
        raise ServiceError(
            "amount_too_large", "amount: above 0, at most 10,000,000", field="amount"
        )
    EncounterDetails(ask.cause, ask.delivery).check(ask.kind)


def estimate(
    uow: UowFactory, policies: PolicySource, who: Principal, person_id: str, ask: Ask
) -> dict[str, Any]:
    """One class-A line, the engine's quote path against the stored year."""
    require(who, Role.INSURED, Role.GUARDIAN)
    _check(ask)
    day = ask.day
    with uow() as u:
        record = visible_person(u, who, person_id)
        enrolment = u.registry.enrolment(record.id, day.year)
        if enrolment is None or not enrolment.covers(day):
            raise ServiceError(
                "not_enrolled", f"{record.id} is not enrolled on {day.isoformat()}", field="day"
            )
        try:
            policy = policies(record.region)
        except ValueError as exc:
            raise ServiceError("region_not_configured", str(exc), status=500) from None
        person = insured_person(record, enrolment, (), (), u.registry.categories(record.id))
        encounter = Encounter(
            id="estimate",
            date=day,
            kind=ask.kind,
            hospital=Hospital("estimate", ask.level, True, record.region),
            lines=(Line(LineClass.A, ask.amount),),
            cause=ask.cause,
            delivery=ask.delivery,
        )
        prepared = Prepared(person, encounter, None, policy, ())
        acc = u.ledger.read_person_year(record.id, day.year)
    result, _ = run_engine(prepared, acc)
    return settlement_view(None, prepared, result, seq=None)
