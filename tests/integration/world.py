"""Put a scenario's person, institutions and certificates into the registry, and turn
its encounters into bills, so the same year can go through the service or the API."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import load_region
from yibao.adapters.scenario_files import Scenario
from yibao.domain.catalogue import ANY_SCHEME, Entry, Restriction
from yibao.domain.ids import make_resident_id, parse_resident_id
from yibao.domain.model import LEVELS, Encounter, Kind, Line, LineClass
from yibao.domain.registry import (
    Card,
    CardStatus,
    CatalogueItem,
    Enrolment,
    Institution,
    InstitutionKind,
    PersonRecord,
    Referral,
)

CODES = {LineClass.A: "TEST-A", LineClass.B: "TEST-B", LineClass.SELF_PAY: "TEST-SELF"}


@dataclass(frozen=True)
class Registered:
    person_id: str
    card_number: str


def catalogue() -> list[CatalogueItem]:
    return [CatalogueItem(code, f"test item {cls.value}", cls, None) for cls, code in CODES.items()]


def register(uow: UnitOfWork, scenario: Scenario, policy_path: Any = None) -> Registered:
    policy = load_region(scenario.region, policy_path)
    reg = uow.registry
    reg.add_region(policy.code, policy.name.zh, policy.name.en, policy.admdvs)
    known = reg.catalogue_items(policy.code, CODES.values())
    reg.add_catalogue_items(policy.code, [i for i in catalogue() if i.code not in known])
    uow.catalogue.add_entries(policy.code, item_entries(scenario))
    p = scenario.person
    hospitals = {e.hospital.id: e for e in scenario.encounters}
    for hid, enc in hospitals.items():
        h = enc.hospital
        kinds = {e.kind for e in scenario.encounters if e.hospital.id == hid}
        kind = InstitutionKind.PHARMACY if kinds == {Kind.PHARMACY} else InstitutionKind.HOSPITAL
        reg.add_institution(
            Institution(
                hid,
                h.region or scenario.region,
                f"hospital {hid}",
                h.level,
                kind,
                h.designated,
                h.pilot,
                h.type,
                province_code(policy.admdvs, h.province),
            )
        )
    registered = set(hospitals)
    for a in p.approvals:  # an approval may name a hospital the year never visits
        if a.hospital not in registered:
            reg.add_institution(
                Institution(
                    a.hospital,
                    scenario.region,
                    f"hospital {a.hospital}",
                    2,
                    InstitutionKind.HOSPITAL,
                    True,
                )
            )
            registered.add(a.hospital)
    return register_person(uow, scenario, p.id, policy_path)


def register_person(
    uow: UnitOfWork, scenario: Scenario, person_id: str, policy_path: Any = None
) -> Registered:
    """The scenario's person, enrolled for its year with an active card and their
    approvals, filings and referral certificates, under `person_id` (the places must be
    registered already: `register` does both)."""
    policy = load_region(scenario.region, policy_path)
    reg = uow.registry
    p = scenario.person
    number = make_resident_id(policy.admdvs, p.birth_date, zlib.crc32(person_id.encode()) % 999 + 1)
    reg.add_person(
        PersonRecord(
            id=person_id,
            id_number=number,
            name=f"person {person_id}",
            birth_date=p.birth_date,
            sex=parse_resident_id(number).sex,
            region=scenario.region,
            assistance=p.assistance,
            retired=p.retired,
            contribution_years=p.contribution_years,
        )
    )
    year = scenario.year
    reg.add_enrolment(
        Enrolment(person_id, year, p.scheme, "active", date(year, 1, 1), date(year, 12, 31))
    )
    card = f"CARD-{person_id}"
    reg.add_card(Card(card, person_id, CardStatus.ACTIVE, date(year - 1, 12, 1)))
    for a in p.approvals:
        reg.add_approval(person_id, a)
    for f in p.filings:
        reg.add_filing(person_id, f)
    for span in p.categories:
        reg.add_category(person_id, span)
    for e in scenario.encounters:
        region = e.hospital.region or scenario.region
        if e.referral and region != scenario.region:
            reg.add_referral(Referral(person_id, "REFERRER", region, e.date, e.date))
    return Registered(person_id, card)


def item_code(enc: Encounter, no: int) -> str:
    return f"ITEM-{enc.id}-{no}"


def item_entries(scenario: Scenario) -> list[Entry]:
    """A dated catalogue entry for each catalogue item of the scenario (reference §1a): its
    class, its cap at every level, its ratio for every scheme, and a restriction nobody
    meets where the bill falls outside it."""
    out = []
    for enc in scenario.encounters:
        for no, ln in enumerate(enc.lines, start=1):
            if not ln.itemised:
                continue
            out.append(
                Entry(
                    item_code(enc, no),
                    f"item {no} of {enc.id}",
                    ln.cls,
                    date(scenario.year, 1, 1),
                    caps={} if ln.cap is None else dict.fromkeys(LEVELS, ln.cap),
                    ratios={} if ln.ratio is None else {ANY_SCHEME: ln.ratio},
                    restriction=Restriction(min_age=200, wording="scenario")
                    if ln.outside_restriction
                    else Restriction(),
                    source="scenario",
                )
            )
    return out


def _bill_line(enc: Encounter, no: int, ln: Line) -> dict[str, Any]:
    if not ln.itemised:
        return {"code": CODES[ln.cls], "quantity": "1", "unit_price": f"{ln.amount:.2f}"}
    quantity = ln.quantity if ln.quantity is not None else Decimal(1)
    price = ln.unit_price if ln.unit_price is not None else ln.amount
    return {"code": item_code(enc, no), "quantity": f"{quantity:f}", "unit_price": f"{price:f}"}


def province_code(admdvs: str, province: str) -> str:
    """A province's two digits for a scenario's `same` or `other` (of the region's)."""
    mine = admdvs[:2]
    return mine if province == "same" else ("98" if mine == "99" else "99")


def bill_json(card: str, enc: Encounter, settled: dict[str, int] | None = None) -> dict[str, Any]:
    """The bill of a scenario's encounter; `settled`: the settlement ids of the encounters
    settled before it, by the scenario's encounter id (for `referred_from`)."""
    body: dict[str, Any] = {
        "card_number": card,
        "kind": enc.kind.value,
        "date": enc.date.isoformat(),
        "prescription": enc.prescription,
        "lines": [_bill_line(enc, no, ln) for no, ln in enumerate(enc.lines, start=1)],
    }
    if enc.diagnosis:
        body["diagnosis"] = enc.diagnosis
    if enc.disease:
        body["disease"] = enc.disease
    if enc.cause != "ordinary":
        body["cause"] = enc.cause
    if enc.delivery is not None:
        body["delivery"] = enc.delivery
    if enc.referred_from is not None:
        body["referred_from"] = (settled or {})[enc.referred_from]
    return body


def claim_json(person_id: str, region: str, enc: Encounter) -> dict[str, Any]:
    h = enc.hospital
    body: dict[str, Any] = {
        "person_id": person_id,
        "reason": "emergency_elsewhere" if enc.kind is Kind.EMERGENCY else "other",
        "kind": enc.kind.value,
        "date": enc.date.isoformat(),
        "hospital_id": h.id,
        "hospital_name": f"hospital {h.id}",
        "hospital_level": h.level,
        "hospital_region": h.region or region,
        "hospital_designated": h.designated,
        "hospital_pilot": h.pilot,
        "hospital_type": h.type,
        "hospital_province": h.province,
        "prescription": enc.prescription,
        "lines": [
            {"code": item_code(enc, no), "amount": f"{ln.amount:.2f}"}
            if ln.itemised  # a receipt line is 1 x its amount under its entry
            else {"class": ln.cls.value, "amount": f"{ln.amount:.2f}"}
            for no, ln in enumerate(enc.lines, start=1)
        ],
    }
    if enc.diagnosis:
        body["diagnosis"] = enc.diagnosis
    if enc.disease:
        body["disease"] = enc.disease
    if enc.cause != "ordinary":
        body["cause"] = enc.cause
    if enc.delivery is not None:
        body["delivery"] = enc.delivery
    return body
