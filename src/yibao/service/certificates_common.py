"""What the certificate and pilot use cases share: who may see a person, date checks, and the
views of stored rows (plain JSON-able dicts, for the API, the CLI and the audit log)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from yibao.domain.access import Principal
from yibao.domain.money import fmt, from_fen
from yibao.domain.registry import PersonRecord
from yibao.service.access import visible_person
from yibao.service.errors import ServiceError
from yibao.service.ports import UnitOfWork

# Certificates are asked for a few years at most; a year outside this is a typing error.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def person_of(uow: UnitOfWork, who: Principal, person_id: str) -> PersonRecord:
    """The person, for a caller who may see them (staff of the region, the person, a
    guardian); 404 otherwise, so nobody learns who is registered."""
    return visible_person(uow, who, person_id)


def check_period(valid_from: date, valid_to: date) -> None:
    if valid_to < valid_from:
        raise ServiceError(
            "invalid_period",
            f"valid_to: {valid_to.isoformat()} is before valid_from {valid_from.isoformat()}",
            field="valid_to",
        )
    for name, day in (("valid_from", valid_from), ("valid_to", valid_to)):
        check_year(day.year, name)


def check_year(year: int, field: str = "year") -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ServiceError(
            "invalid_year", f"{field}: {year} is outside {FIRST_YEAR}-{LAST_YEAR}", field=field
        )


def text_field(value: str, field: str, max_length: int) -> str:
    """A required short text: trimmed, not empty, not too long."""
    cleaned = value.strip()
    if not cleaned:
        raise ServiceError("missing_field", f"{field}: must not be empty", field=field)
    if len(cleaned) > max_length:
        raise ServiceError(
            "invalid_field", f"{field}: at most {max_length} characters", field=field
        )
    return cleaned


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def approval_view(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "person_id": row.person_id,
        "disease": row.disease,
        "hospital_id": row.hospital_id,
        "certificate_ref": row.certificate_ref,
        "status": row.status,
        "applied_on": _day(row.applied_on),
        "applied_by": row.applied_by,
        "decided_by": row.decided_by,
        "decided_at": _moment(row.decided_at),
        "valid_from": _day(row.valid_from),
        "valid_to": _day(row.valid_to),
        "rejection_reason": row.rejection_reason,
    }


def filing_view(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "person_id": row.person_id,
        "region": row.region,
        "valid_from": _day(row.valid_from),
        "valid_to": _day(row.valid_to),
        "channel": row.channel,
        "created_by": row.created_by,
        "created_at": _moment(row.created_at),
    }


def referral_view(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "person_id": row.person_id,
        "issued_by": row.issued_by,
        "to_region": row.to_region,
        "valid_from": _day(row.valid_from),
        "valid_to": _day(row.valid_to),
        "diagnosis": row.diagnosis,
        "to_institution": row.to_institution,
        "to_institution_name": row.to_institution_name,
        "referred_from": None if row.referred_from is None else int(row.referred_from),
        "created_by": row.created_by,
        "created_at": _moment(row.created_at),
    }


def pilot_hospital_view(row: Any) -> dict[str, Any]:
    return {
        "region": row.region,
        "year": int(row.year),
        "institution_id": row.institution_id,
        "added_by": row.added_by,
        "added_at": _moment(row.added_at),
    }


def registration_view(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "person_id": row.person_id,
        "year": int(row.year),
        "disease": row.disease,
        "hospital_id": row.hospital_id,
        "admission_date": _day(row.admission_date),
        "scheme": row.scheme,
        "limited_cost": fmt(from_fen(int(row.limited_cost_fen))),
        "registered_by": row.registered_by,
        "registered_at": _moment(row.registered_at),
    }
