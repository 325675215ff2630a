"""Typed request bodies at the boundary. Amounts are decimal strings ("30500.00");
JSON numbers are accepted when they are exact to the fen."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from yibao.domain.model import Kind, LineClass
from yibao.domain.money import parse_amount, parse_decimal
from yibao.domain.text import check_text
from yibao.service.claims import Claim, ClaimLine, ClaimReason
from yibao.service.encounter_details import EncounterDetails
from yibao.service.settlement import Bill, BillLine

MAX_QUANTITY = Decimal(1_000_000)


# A line's quantity and price as bills write them ("1", "12.50"): digits, and a point with
# up to as many decimals as allowed. parse_decimal reads such a text as Decimal(text) with
# every check passed; its checks (the text stripped, each character looked at, the places
# counted) were a fifth of a bill's parse. Any other text or value goes through it.
QUANTITY_TEXT = re.compile(r"[0-9]+(?:\.[0-9]{1,4})?")
PRICE_TEXT = re.compile(r"[0-9]+(?:\.[0-9]{1,6})?")


def _quantity(raw: object) -> Decimal:
    if type(raw) is str and QUANTITY_TEXT.fullmatch(raw):
        value = Decimal(raw)
        if 0 < value <= MAX_QUANTITY:
            return value
    value = parse_decimal(str(raw) if isinstance(raw, float) else raw, max_places=4)
    if not 0 < value <= MAX_QUANTITY:
        raise ValueError(f"a quantity must be above 0 and at most {MAX_QUANTITY:,}")
    return value


def _money(raw: object) -> Decimal:
    # A JSON number arrives as a float; its shortest repr is what the client wrote.
    return parse_amount(repr(raw) if isinstance(raw, float) else raw)


def _price(raw: object) -> Decimal:
    """A unit price as hospitals bill it: up to 6 decimals (catalogue prices have 4)."""
    if type(raw) is str and PRICE_TEXT.fullmatch(raw):
        return Decimal(raw)  # not negative: no sign
    value = parse_decimal(repr(raw) if isinstance(raw, float) else raw, max_places=6)
    if value < 0:
        raise ValueError(f"{raw!r} is negative")
    return value


Money = Annotated[Decimal, BeforeValidator(_money)]
Price = Annotated[Decimal, BeforeValidator(_price)]
Quantity = Annotated[Decimal, BeforeValidator(_quantity)]


class Strict(BaseModel):
    """A request body: unknown keys are errors, and no text in it (at any depth) may hold
    control or direction characters (domain/text.py); the error names the field."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _clean_text(cls, value: Any) -> Any:
        return check_text(value)


class LineFields(BaseModel):
    """A bill's line, without the check of its texts (`LineIn` has it)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        min_length=1, max_length=64, description="Catalogue code; the system decides the class"
    )
    quantity: Quantity = Field(description="How many units, up to 4 decimals")
    unit_price: Price = Field(
        description="Price per unit in yuan as billed, up to 6 decimals; above the item's "
        "cap the excess is over-limit self-pay"
    )


class LineIn(Strict, LineFields):
    pass  # no docstring: it would be the OpenAPI document's description of the schema


class BillFields(BaseModel):
    """A bill, without the check of its texts (`BillIn` has it): what `parse_bill` reads
    a body with when no text in it can fail the check."""

    model_config = ConfigDict(extra="forbid")

    card_number: str | None = Field(
        default=None, min_length=1, max_length=32, description="The card; or send voucher"
    )
    voucher: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="An electronic insurance voucher (the member app's QR code) in place of "
        "card_number: exactly one of the two",
    )
    kind: Kind
    date: date
    diagnosis: str | None = Field(default=None, max_length=16, description="ICD-10")
    disease: str | None = Field(
        default=None, max_length=64, description="special_outpatient: the approved disease"
    )
    prescription: bool = Field(
        default=True, description="pharmacy: prescribed at a designated hospital"
    )
    cause: Literal["ordinary", "accident"] = Field(
        default="ordinary",
        description="accident: an accidental injury with no liable third party (a region "
        "may cap the fund's payments of a cause in a year)",
    )
    delivery: Literal["natural", "caesarean"] | None = Field(
        default=None, description="inpatient: a childbirth stay's delivery"
    )
    referred_from: int | None = Field(
        default=None,
        ge=1,
        le=2**63 - 1,
        description="inpatient: the settlement id of the earlier stay of the same episode "
        "this stay was referred from (a region may continue its threshold up the chain and "
        "waive it down)",
    )
    lines: list[LineFields] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _card_or_voucher(self) -> BillFields:
        if (self.card_number is None) == (self.voucher is None):
            raise ValueError("send exactly one of card_number and voucher")
        return self

    def to_bill(self, institution_id: str, person_id: str | None = None) -> Bill:
        """The bill; `person_id` is the person the voucher names (checked by the caller)."""
        return Bill(
            institution_id=institution_id,
            card_number=self.card_number,
            person_id=person_id,
            kind=self.kind,
            date=self.date,
            lines=tuple(BillLine(ln.code, ln.quantity, ln.unit_price) for ln in self.lines),
            diagnosis=self.diagnosis,
            disease=self.disease,
            prescription=self.prescription,
            details=EncounterDetails(self.cause, self.delivery, self.referred_from),
        )


class BillIn(Strict, BillFields):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "card_number": "SC0000000001",
                    "kind": "inpatient",
                    "date": "2026-03-02",
                    "diagnosis": "K35.8",
                    "lines": [{"code": "A-0001", "quantity": "1", "unit_price": "30500.00"}],
                }
            ]
        },
    )

    # Its lines with their texts checked too (each model validates by its own annotation;
    # a LineIn is a LineFields, which the list's invariance does not see).
    lines: list[LineIn] = Field(min_length=1, max_length=1000)  # type: ignore[assignment]


class ErrorOut(BaseModel):
    code: str = Field(description="Machine-readable: unknown_card, card_lost, not_enrolled, ...")
    message: str
    details: dict[str, Any] | None = None


class ReversalIn(Strict):
    reason: str = Field(min_length=1, max_length=500)


class ClaimLineIn(Strict):
    amount: Money
    cls: LineClass | None = Field(
        default=None, alias="class", description="The clerk's class for a receipt line"
    )
    code: str | None = Field(default=None, max_length=64, description="Or a catalogue code")


class ClaimIn(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    person_id: str = Field(min_length=1, max_length=32)
    reason: ClaimReason
    kind: Kind
    date: date
    hospital_id: str | None = Field(
        default=None, max_length=32, description="When the place is registered"
    )
    hospital_name: str = Field(min_length=1, max_length=200)
    hospital_level: int = Field(ge=0, le=3)
    hospital_region: str = Field(min_length=1, max_length=64)
    hospital_designated: bool
    hospital_pilot: bool = False
    hospital_type: Literal["general", "tcm"] = Field(
        default="general", description="A place outside the registry: tcm for a TCM hospital"
    )
    hospital_province: Literal["same", "other"] = Field(
        default="same",
        description="A place outside the registry: in the insured region's province or another",
    )
    diagnosis: str | None = Field(default=None, max_length=16)
    disease: str | None = Field(default=None, max_length=64)
    prescription: bool = True
    cause: Literal["ordinary", "accident"] = "ordinary"
    delivery: Literal["natural", "caesarean"] | None = Field(
        default=None, description="inpatient: a childbirth stay's delivery"
    )
    referred_from: int | None = Field(
        default=None,
        ge=1,
        le=2**63 - 1,
        description="inpatient: the settlement id of the earlier stay of the same episode "
        "this stay was referred from (one of the person's, settled, of the same year): the "
        "claim settles along the chain as the counter would",
    )
    referred_from_claim: int | None = Field(
        default=None,
        ge=1,
        le=2**63 - 1,
        description="inpatient: or that earlier stay as an approved claim of the person's "
        "(its settlement); one of the two",
    )
    receipts: list[str] = Field(default=[], max_length=50)
    lines: list[ClaimLineIn] = Field(min_length=1, max_length=1000)

    def to_claim(self) -> Claim:
        return Claim(
            person_id=self.person_id,
            reason=self.reason,
            kind=self.kind,
            date=self.date,
            hospital_name=self.hospital_name,
            hospital_level=self.hospital_level,
            hospital_region=self.hospital_region,
            hospital_designated=self.hospital_designated,
            lines=tuple(ClaimLine(ln.amount, ln.cls, ln.code) for ln in self.lines),
            hospital_id=self.hospital_id,
            hospital_pilot=self.hospital_pilot,
            diagnosis=self.diagnosis,
            disease=self.disease,
            prescription=self.prescription,
            receipts=tuple(self.receipts),
            details=EncounterDetails(self.cause, self.delivery, self.referred_from),
            hospital_type=self.hospital_type,
            hospital_province=self.hospital_province,
            referred_from_claim=self.referred_from_claim,
        )


class RejectionIn(Strict):
    """The reviewer is the signed-in clerk; the reason is told to the claimant."""

    reason: str = Field(min_length=1, max_length=500)


# Path parameters: a database id fits 63 bits; a name is printable text.
DbId = Annotated[int, Path(ge=-(2**63), le=2**63 - 1, description="An id as yibao gave it")]
Name = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]
