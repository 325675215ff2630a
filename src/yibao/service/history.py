"""A person-year's stored settlements as the engine sees them: encounters rebuilt from
what was stored (the institution as it was then), and each one's split as it stands now
(the original, or its latest adjustment)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from yibao.domain.engine import EncounterResult
from yibao.domain.model import Encounter, Hospital, Kind, Line, LineClass, Person
from yibao.domain.money import from_fen, round_fen
from yibao.domain.registry import insured_person
from yibao.service.encounter_details import stay_key
from yibao.service.errors import ServiceError
from yibao.service.ports import UnitOfWork


@dataclass(frozen=True)
class Split:
    """A settlement's amounts as they stand: the four that add up to the total, and the
    threshold it charged (the national interface's act_pay_dedc), all to the fen."""

    basic: Decimal
    assistance: Decimal
    institution: Decimal
    personal: Decimal
    threshold: Decimal

    @classmethod
    def of(cls, r: EncounterResult) -> Split:
        return cls(r.basic, r.assistance, r.institution, r.personal, round_fen(r.threshold))


@dataclass(frozen=True)
class Stored:
    row: Any  # the settlements row
    encounter: Encounter
    split: Split  # as it stands now
    explanation: str  # JSON, as it stands now

    @property
    def active(self) -> bool:
        return bool(self.row.status == "settled")


def _split(row: Any, original: Any) -> Split:
    # An adjustment made before adjustments kept the threshold has none: the original's.
    threshold = row.threshold_fen if row.threshold_fen is not None else original.threshold_fen
    return Split(
        from_fen(row.basic_fen),
        from_fen(row.assistance_fen),
        from_fen(row.institution_fen),
        from_fen(row.personal_fen),
        from_fen(threshold),
    )


def current_split(uow: UnitOfWork, row: Any) -> Split:
    """A stored settlement's split as it stands now, as stored_year gives it (its latest
    adjustment's, if a reversal of an earlier bill adjusted it), without reading and
    rebuilding the rest of its year."""
    latest = uow.history.latest_adjustments([int(row.id)]).get(row.id)
    return _split(latest if latest is not None else row, row)


def stored_line(ln: Any) -> Line:
    """A stored line as the engine settled it: a catalogue item with the facts applied
    then (whatever the catalogue says now), or an amount of its class."""
    if ln.unit_price is None:
        return Line(LineClass(ln.cls), from_fen(ln.amount_fen), ln.code)
    return Line.item(
        LineClass(ln.cls),
        Decimal(ln.quantity),
        Decimal(ln.unit_price),
        code=ln.national_code or ln.code,
        cap=None if ln.cap is None else Decimal(ln.cap),
        ratio=None if ln.ratio is None else Decimal(ln.ratio),
        outside_restriction=bool(ln.restricted),
        name=ln.name,
    )


def stored_year(uow: UnitOfWork, person_id: str, year: int) -> list[Stored]:
    rows = uow.history.settlements(person_id, year)
    ids = [int(r.id) for r in rows]
    lines = uow.history.lines(ids)
    adjusted = uow.history.latest_adjustments(ids)
    keys = {int(r.id): stay_key(int(r.year), int(r.seq)) for r in rows}
    out = []
    for row in rows:
        origin = row.referred_from
        encounter = Encounter(
            id=keys[int(row.id)],
            date=row.encounter_date,
            kind=Kind(row.kind),
            hospital=Hospital(
                row.institution_id,
                row.hospital_level,
                row.hospital_designated,
                row.hospital_region,
                row.hospital_pilot,
                row.hospital_type or "general",
                row.hospital_province or "same",
            ),
            lines=tuple(stored_line(ln) for ln in lines.get(row.id, [])),
            diagnosis=row.diagnosis,
            disease=row.disease,
            referral=row.referral,
            prescription=row.prescription,
            cause=row.cause or "ordinary",
            delivery=row.delivery,
            # A stay of another year: a key in no stay of this one (its own episode).
            referred_from=None if origin is None else keys.get(int(origin), f"#{origin}"),
        )
        latest = adjusted.get(row.id)
        split = _split(latest if latest is not None else row, row)
        explanation = latest.explanation if latest is not None else row.explanation
        out.append(Stored(row, encounter, split, explanation))
    return out


def person_for_year(uow: UnitOfWork, person_id: str, year: int) -> Person:
    """The person as the engine sees them for a year, from the registry as it is now."""
    reg = uow.registry
    record = reg.person(person_id)
    enrolment = reg.enrolment(person_id, year)
    if record is None or enrolment is None:
        raise ServiceError("not_enrolled", f"{person_id} has no enrolment for {year}")
    return insured_person(
        record,
        enrolment,
        reg.approvals(person_id),
        reg.filings(person_id),
        reg.categories(person_id),
    )
