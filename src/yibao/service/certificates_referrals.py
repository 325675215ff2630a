"""A referral certificate's hospital and episode (issue 14, migration 0018): the hospital
the patient is referred to, and the settlement of the stay they were referred from at
the issuing hospital. The certificate's episode is that stay and the stays at the
hospital referred to within the certificate's dates: those link to it as they are read
(a reversed stay drops out by itself, and a stay settled later joins without a write).

Both are optional, as paper certificates and older filings have neither."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from yibao.domain.model import Kind
from yibao.domain.registry import Institution, InstitutionKind, PersonRecord
from yibao.service.certificates_common import text_field
from yibao.service.errors import NotFoundError, ServiceError
from yibao.service.ports import UnitOfWork


@dataclass(frozen=True)
class Target:
    """Where a referral sends the patient, as given: a region, and or a hospital (its code,
    and its name when yibao does not know it: a 2501 filing's reflin_medins_name)."""

    region: str | None = None
    institution: str | None = None
    institution_name: str | None = None


def resolve_target(uow: UnitOfWork, target: Target) -> tuple[str, dict[str, Any]]:
    """The region referred to and the certificate's hospital columns. A registered hospital
    gives its region (a region given as well must be it) and its name; one yibao does not
    know is kept by code and the name given, and the region must be given."""
    region = None if target.region is None else text_field(target.region, "to_region", 64)
    code = target.institution
    if code is None:
        if region is None:
            raise ServiceError(
                "missing_field",
                "to_region: name the region or the hospital referred to",
                field="to_region",
            )
        return region, {}
    code = text_field(code, "to_institution", 32)
    inst = uow.registry.institution(code)
    if inst is None:
        return _unregistered(code, region, target.institution_name)
    _check_hospital(inst, region)
    return inst.region, {"to_institution": inst.id, "to_institution_name": None}


def _unregistered(code: str, region: str | None, name: str | None) -> tuple[str, dict[str, Any]]:
    if name is None or not name.strip():
        raise NotFoundError(
            "unknown_institution",
            f"to_institution: institution {code!r} is not registered (give its name too)",
            field="to_institution",
        )
    if region is None:
        raise ServiceError(
            "missing_field",
            f"to_region: {code} is not registered here: name its region",
            field="to_region",
        )
    cleaned = text_field(name, "to_institution_name", 200)
    return region, {"to_institution": code, "to_institution_name": cleaned}


def _check_hospital(inst: Institution, region: str | None) -> None:
    if inst.kind is not InstitutionKind.HOSPITAL:
        raise ServiceError(
            "invalid_field",
            f"to_institution: {inst.id} is a {inst.kind.value}: a referral is to a hospital",
            field="to_institution",
        )
    if region is not None and region != inst.region:
        raise ServiceError(
            "invalid_field",
            f"to_institution: {inst.id} is in {inst.region}, not in to_region {region}",
            field="to_institution",
        )


def check_origin(
    uow: UnitOfWork,
    person: PersonRecord,
    issuer: Institution,
    settlement_id: int | None,
    valid_to: date,
) -> int | None:
    """The settlement of the stay the patient was referred from: one of the person's,
    settled, an inpatient stay at the issuing hospital, begun by the certificate's end."""
    if settlement_id is None:
        return None
    row = uow.ledger.settlement(settlement_id)
    if row is None or row.person_id != person.id:
        raise ServiceError(
            "unknown_origin",
            f"referred_from: settlement {settlement_id} is not one of this person's",
            field="referred_from",
        )
    problem = None
    if row.status != "settled":
        problem = f"is {row.status}"
    elif row.kind != Kind.INPATIENT.value:
        problem = f"is a {row.kind} bill, not an inpatient stay"
    elif row.institution_id != issuer.id:
        problem = f"is a stay at {row.institution_id}, not at the issuing {issuer.id}"
    elif row.encounter_date > valid_to:
        problem = f"is of {row.encounter_date.isoformat()}, after the certificate ends"
    if problem is not None:
        raise ServiceError(
            "invalid_referred_from",
            f"referred_from: settlement {settlement_id} {problem}",
            field="referred_from",
        )
    return int(settlement_id)


def with_episode(uow: UnitOfWork, row: Any, view: dict[str, Any]) -> dict[str, Any]:
    """A certificate's view with its hospital by name and its episode's stays: the stay it
    was referred from, then the settled stays at the hospital referred to within its
    dates (date order)."""
    name = row.to_institution_name
    if row.to_institution is not None and name is None:
        inst = uow.registry.institution(row.to_institution)
        name = row.to_institution if inst is None else inst.name
    stays = []
    if row.referred_from is not None:
        origin = uow.ledger.settlement(int(row.referred_from))
        if origin is not None:
            stays.append(_stay(uow, origin, "referred_from"))
    if row.to_institution is not None:
        for year in range(row.valid_from.year, row.valid_to.year + 1):
            for s in uow.ledger.settlements_of(row.person_id, year):
                if (
                    s.institution_id == row.to_institution
                    and s.status == "settled"
                    and row.valid_from <= s.encounter_date <= row.valid_to
                ):
                    stays.append(_stay(uow, s, "referred_to"))
    return {**view, "to_institution_name": name, "stays": stays}


def _stay(uow: UnitOfWork, row: Any, role: str) -> dict[str, Any]:
    inst = uow.registry.institution(row.institution_id)
    return {
        "settlement_id": int(row.id),
        "role": role,  # referred_from: the stay it was issued at; referred_to: one it covers
        "date": row.encounter_date.isoformat(),
        "institution_id": row.institution_id,
        "hospital": row.institution_id if inst is None else inst.name,
        "kind": row.kind,
        "status": row.status,
    }
