"""Typed answers of the administration routes (the OpenAPI document shows their shapes)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class TokenOut(BaseModel):
    token: str
    expires_at: str
    account: str


class MeOut(BaseModel):
    account: str
    role: str
    region: str | None
    person_id: str | None
    school_id: str | None
    institution_id: str | None


class AccountOut(BaseModel):
    id: str
    role: str
    name: str
    region: str | None
    person_id: str | None
    school_id: str | None
    institution_id: str | None
    phone: str | None
    active: bool
    has_password: bool


class AccountMadeOut(AccountOut):
    token: str  # the first API token, shown this once


class IssuedTokenOut(BaseModel):
    token: str


class RevokedOut(BaseModel):
    revoked: int


class PremiumOut(BaseModel):
    personal: str
    subsidy: str
    assistance: str


class EnrolmentOut(BaseModel):
    person_id: str
    year: int
    scheme: str
    status: str
    valid_from: str
    valid_to: str
    channel: str
    school_id: str | None
    premium: PremiumOut
    paid_on: str | None


class PersonOut(BaseModel):
    id: str
    id_number: str
    name: str
    birth_date: str
    sex: str
    region: str
    phone: str | None
    assistance: bool


class CardOut(BaseModel):
    number: str
    status: str
    ordered_on: str | None
    due_on: str | None
    issued_on: str | None
    replaced_by: str | None


class PersonDetailOut(PersonOut):
    enrolments: list[EnrolmentOut]
    cards: list[CardOut]
    children: list[str]
    guardians: list[str]


class HouseholdOut(BaseModel):
    person: PersonOut
    enrolment: EnrolmentOut


class PremiumLineOut(BaseModel):
    scheme: str
    status: str
    persons: int
    exempt_persons: int
    personal: str
    subsidy: str
    assistance: str


class PremiumSummaryOut(BaseModel):
    region: str
    year: int
    lines: list[PremiumLineOut]
    persons: int
    totals: PremiumOut


class AuditEntryOut(BaseModel):
    id: int
    at: str
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str
    before: Any
    after: Any
