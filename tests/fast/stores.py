"""Helpers of the fast tier: a scenario's person and places registered through any unit
of work, and its encounters as the bills an institution presents."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from yibao.adapters.parameter_files import search_path
from yibao.bootstrap import PolicyLoader
from yibao.domain.model import Encounter, Kind, Line
from yibao.service.claims import Claim, ClaimLine, ClaimReason
from yibao.service.settlement import Bill, BillLine

TESTS = Path(__file__).resolve().parent.parent
POLICY_PATH = search_path([TESTS / "regions"])


def policies() -> PolicyLoader:
    return PolicyLoader(POLICY_PATH)


def bill_line(enc: Encounter, no: int, ln: Line, codes: dict[object, str]) -> BillLine:
    if not ln.itemised:
        return BillLine(codes[ln.cls], Decimal(1), Decimal(f"{ln.amount:.2f}"))
    quantity = ln.quantity if ln.quantity is not None else Decimal(1)
    price = ln.unit_price if ln.unit_price is not None else ln.amount
    return BillLine(f"ITEM-{enc.id}-{no}", quantity, price)


def bill(card: str, enc: Encounter, codes: dict[object, str]) -> Bill:
    """The encounter as its institution's bill (world.bill_json, as a service value)."""
    return Bill(
        institution_id=enc.hospital.id,
        card_number=card,
        kind=enc.kind,
        date=enc.date,
        lines=tuple(bill_line(enc, no, ln, codes) for no, ln in enumerate(enc.lines, start=1)),
        diagnosis=enc.diagnosis or None,
        disease=enc.disease or None,
        prescription=enc.prescription,
    )


def claim(person_id: str, region: str, enc: Encounter) -> Claim:
    """The encounter as a manual claim (world.claim_json, as a service value): a receipt
    line is 1 x its amount under its catalogue entry, a class line by its class."""
    h = enc.hospital
    return Claim(
        person_id=person_id,
        reason=ClaimReason.EMERGENCY_ELSEWHERE if enc.kind is Kind.EMERGENCY else ClaimReason.OTHER,
        kind=enc.kind,
        date=enc.date,
        hospital_name=f"hospital {h.id}",
        hospital_level=h.level,
        hospital_region=h.region or region,
        hospital_designated=h.designated,
        lines=tuple(
            ClaimLine(Decimal(f"{ln.amount:.2f}"), code=f"ITEM-{enc.id}-{no}")
            if ln.itemised
            else ClaimLine(Decimal(f"{ln.amount:.2f}"), cls=ln.cls)
            for no, ln in enumerate(enc.lines, start=1)
        ),
        hospital_id=h.id,
        hospital_pilot=h.pilot,
        diagnosis=enc.diagnosis or None,
        disease=enc.disease or None,
        prescription=enc.prescription,
    )
