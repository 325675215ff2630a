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


def episode_role(cert: Any, stay: Any) -> str | None:
    """Whether a settlement is a stay of a certificate's episode, and as what: the stay it
    was referred from ("referred_from", whatever became of it since), or a settled stay of
    the same person at the hospital referred to within the certificate's dates
    ("referred_to"). The one rule for a certificate's stays and a settlement's
    certificates, so the two views can never disagree."""
    if stay.person_id != cert.person_id:
        return None
    if cert.referred_from is not None and int(stay.id) == int(cert.referred_from):
        return "referred_from"
    if (
        cert.to_institution is not None
        and stay.institution_id == cert.to_institution
        and stay.status == "settled"
        and cert.valid_from <= stay.encounter_date <= cert.valid_to
    ):
        return "referred_to"
    return None


def with_episode(uow: UnitOfWork, row: Any, view: dict[str, Any]) -> dict[str, Any]:
    """A certificate's view with its hospital by name and its episode's stays: the stay it
    was referred from, then the settled stays at the hospital referred to within its
    dates (date order)."""
    candidates: dict[int, Any] = {}
    if row.referred_from is not None:
        origin = uow.ledger.settlement(int(row.referred_from))
        if origin is not None:
            candidates[int(origin.id)] = origin
    if row.to_institution is not None:
        for year in range(row.valid_from.year, row.valid_to.year + 1):
            for s in uow.ledger.settlements_of(row.person_id, year):
                candidates.setdefault(int(s.id), s)
    linked = [(role, s) for s in candidates.values() if (role := episode_role(row, s))]
    linked.sort(key=lambda x: (x[0] != "referred_from", x[1].encounter_date, x[1].id))
    stays = [_stay(uow, s, role) for role, s in linked]
    return {**view, "to_institution_name": _to_name(uow, row), "stays": stays}


def certificates_of_stays(
    uow: UnitOfWork, person_id: str, stays: list[Any]
) -> dict[int, list[dict[str, Any]]]:
    """The referral certificates whose episode holds each of a person's settlements
    (episode_role), in words for the settlement's view: who issued it, to which hospital or
    region, its dates, and whether the stay is the one it was issued at or one it covers.
    Read when asked, like a certificate's stays: a stay settled after the certificate, or a
    certificate recorded after the stay, finds the other without a write."""
    found: dict[int, list[dict[str, Any]]] = {int(s.id): [] for s in stays}
    certs = uow.certificates.referrals_of(person_id)
    linked = [(c, s, role) for c in certs for s in stays if (role := episode_role(c, s))]
    if not linked:
        return found
    regions = {r.code: r for r in uow.member.regions()}
    for cert, stay, role in linked:
        region = regions.get(cert.to_region)
        issuer = uow.registry.institution(cert.issued_by)
        found[int(stay.id)].append(
            {
                "id": int(cert.id),
                "role": role,
                "issued_by": cert.issued_by,
                "issued_by_name": cert.issued_by if issuer is None else issuer.name,
                "to_region": cert.to_region,
                "to_region_name": {
                    "zh": cert.to_region if region is None else region.name_zh,
                    "en": cert.to_region if region is None else region.name_en or region.name_zh,
                },
                "to_institution": cert.to_institution,
                "to_institution_name": _to_name(uow, cert),
                "valid_from": cert.valid_from.isoformat(),
                "valid_to": cert.valid_to.isoformat(),
            }
        )
    return found


def _to_name(uow: UnitOfWork, row: Any) -> str | None:
    """The hospital referred to by name: the one given for a hospital yibao does not know,
    else the registry's (its code if it left the registry)."""
    name: str | None = row.to_institution_name
    if row.to_institution is not None and name is None:
        inst = uow.registry.institution(row.to_institution)
        name = row.to_institution if inst is None else inst.name
    return name


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
