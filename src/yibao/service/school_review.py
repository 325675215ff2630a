"""The agency's review of a school's class list (schools.py): which submitted rows are
accepted and which returned, and what accepting writes: the pupils registered or
updated, enrolled in the student scheme through the school, linked to their guardians,
all in the review's unit of work."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from yibao.domain.access import Principal
from yibao.domain.model import Scheme
from yibao.domain.parameters import RegionPolicy
from yibao.domain.registry import Enrolment, PersonRecord
from yibao.service.enrolment import (
    NewPerson,
    already_enrolled,
    new_enrolment,
    person_view,
    record_enrolment,
    record_for,
)
from yibao.service.errors import ServiceError
from yibao.service.ports import UnitOfWork
from yibao.service.school_views import row_view

ADULT_AGE = 18


def review_plan(
    uow: UnitOfWork,
    batch_id: int,
    submitted: dict[int, Any],
    accept: Sequence[int],
    returns: Sequence[tuple[int, str]],
    accept_all: bool,
) -> tuple[list[int], dict[int, str]]:
    """The rows to accept and those to return (with their reasons), checked: only
    submitted rows, none both, a reason for each return, something to review."""
    returned: dict[int, str] = {}
    for row_no, reason in returns:
        if not reason.strip():
            raise ServiceError("missing_reason", f"return: row {row_no} needs a reason", row=row_no)
        returned[row_no] = reason.strip()
    accepted = list(dict.fromkeys(accept))
    if accept_all:
        accepted += [n for n in submitted if n not in returned and n not in accepted]
    for row_no in [*accepted, *returned]:
        if row_no not in submitted:
            row = uow.schools.row(batch_id, row_no)
            state = "not on this list" if row is None else row.status
            raise ServiceError(
                "not_reviewable",
                f"row {row_no}: only submitted rows are reviewed (it is {state})",
                row=row_no,
            )
    both = sorted(set(accepted) & set(returned))
    if both:
        raise ServiceError(
            "accepted_and_returned",
            f"row {both[0]} is both accepted and returned",
            row=both[0],
        )
    if not accepted and not returned:
        raise ServiceError("nothing_to_review", f"batch {batch_id} has no submitted rows to review")
    return accepted, returned


def return_rows(
    uow: UnitOfWork,
    who: Principal,
    batch_id: int,
    submitted: dict[int, Any],
    returned: dict[int, str],
) -> None:
    for row_no, reason in returned.items():
        before = row_view(submitted[row_no])
        uow.schools.update_row(batch_id, row_no, status="returned", return_reason=reason)
        uow.audit.record(
            who,
            "row.return",
            "school_batch_row",
            f"{batch_id}/{row_no}",
            before,
            {**before, "status": "returned", "return_reason": reason},
        )


def accept_rows(
    uow: UnitOfWork,
    who: Principal,
    policy: RegionPolicy,
    school: Any,
    batch: Any,
    rows: list[Any],
    today: date,
    progress: Callable[[int, int], None] | None,
) -> list[dict[str, Any]]:
    """Accept rows as a set: what the registry knows of them is read in a few queries,
    each row checked as enrol_in would, and the new persons, enrolments, guardians and
    row states written in one statement each. A row that fails stops it all."""
    known = uow.registry.persons_by_id_number(r.id_number for r in rows)
    enrolled = uow.registry.enrolled_in(batch.year, (p.id for p in known.values()))
    declarers = uow.accounts.get_many({r.declared_by for r in rows if r.declared_by})
    adults = uow.schools.adults_with_phones({r.guardian_phone for r in rows}, _adult_cutoff(today))
    new_persons: list[PersonRecord] = []
    assistance: list[tuple[str, bool]] = []
    enrolments: list[Enrolment] = []
    guardians: list[tuple[str, str]] = []
    accepted: list[dict[str, Any]] = []
    for done, row in enumerate(rows, start=1):
        person, enrolment = _enrol(
            who, uow, policy, school, batch, row, today, known, enrolled, new_persons, assistance
        )
        enrolments.append(enrolment)
        enrolled.add(person.id)
        record_enrolment(who, uow, enrolment)
        guardians += [(person.id, g) for g in _guardians(row, declarers, adults) if g != person.id]
        accepted.append({"row": row.row_no, "person_id": person.id})
        uow.audit.record(
            who,
            "row.accept",
            "school_batch_row",
            f"{batch.id}/{row.row_no}",
            row_view(row),
            {**row_view(row), "status": "accepted", "person_id": person.id},
        )
        if progress is not None and done % 500 == 0:
            progress(done, len(rows))
    uow.registry.add_persons(new_persons)
    uow.schools.set_assistance(assistance)
    uow.registry.add_enrolments(enrolments)
    uow.registry.add_guardians(guardians)
    uow.schools.accept_rows(batch.id, [(a["row"], a["person_id"]) for a in accepted])
    if progress is not None:
        progress(len(rows), len(rows))
    return accepted


def _enrol(
    who: Principal,
    uow: UnitOfWork,
    policy: RegionPolicy,
    school: Any,
    batch: Any,
    row: Any,
    today: date,
    known: dict[str, PersonRecord],
    enrolled: set[str],
    new_persons: list[PersonRecord],
    assistance: list[tuple[str, bool]],
) -> tuple[PersonRecord, Enrolment]:
    """A row's pupil and enrolment; a refusal names the row."""
    try:
        person = _person_for(who, uow, school, row, known, new_persons, assistance)
        if person.id in enrolled:
            raise already_enrolled(person, batch.year)
        return person, new_enrolment(
            policy, person, batch.year, Scheme.STUDENT, today, channel="school", school_id=school.id
        )
    except ServiceError as exc:
        raise type(exc)(
            exc.code,
            f"row {row.row_no}: {exc.message}",
            status=exc.status,
            **{**exc.details, "row": row.row_no},
        ) from None


def _person_for(
    who: Principal,
    uow: UnitOfWork,
    school: Any,
    row: Any,
    known: dict[str, PersonRecord],
    new_persons: list[PersonRecord],
    assistance: list[tuple[str, bool]],
) -> PersonRecord:
    """The pupil's registry record: made from the row if new; an existing one takes
    the row's assistance flag (the family's status is declared each year)."""
    existing = known.get(row.id_number)
    if existing is None:
        record = record_for(
            NewPerson(
                row.id_number,
                row.name,
                school.region,
                phone=row.guardian_phone,
                assistance=bool(row.assistance),
            )
        )
        new_persons.append(record)
        uow.audit.record(who, "person.create", "person", record.id, None, person_view(record))
        return record
    if existing.region != school.region:
        raise ServiceError(
            "registered_elsewhere",
            f"{existing.name} is registered in {existing.region}: the pupil enrols there",
        )
    if existing.assistance != bool(row.assistance):
        updated = replace(existing, assistance=bool(row.assistance))
        assistance.append((existing.id, updated.assistance))
        uow.audit.record(
            who,
            "person.update",
            "person",
            existing.id,
            person_view(existing),
            person_view(updated),
        )
        return updated
    return existing


def _guardians(row: Any, declarers: dict[str, Any], adults: dict[str, list[str]]) -> list[str]:
    """The guardian to link: the registered person whose account declared the row, or
    else the one registered adult with the row's phone (none if several share it)."""
    account = declarers.get(row.declared_by) if row.declared_by else None
    if account is not None and account.person_id and account.role in ("guardian", "insured"):
        return [account.person_id]
    found = adults.get(row.guardian_phone, [])
    return found if len(found) == 1 else []


def _adult_cutoff(today: date) -> date:
    """Born on or before this day: an adult today."""
    try:
        return today.replace(year=today.year - ADULT_AGE)
    except ValueError:  # 29 February
        return today.replace(year=today.year - ADULT_AGE, day=28)
