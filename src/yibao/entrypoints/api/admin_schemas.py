"""Request bodies of the agency's administration: accounts, sign-in, persons, enrolment."""

from __future__ import annotations

from pydantic import Field

from yibao.domain.access import Role
from yibao.domain.model import Scheme
from yibao.entrypoints.api.schemas import Strict

Text64 = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")


class AccountIn(Strict):
    id: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Role
    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")
    region: str | None = Field(default=None, max_length=64)
    person_id: str | None = Field(default=None, max_length=32)
    school_id: str | None = Field(default=None, max_length=32)
    institution_id: str | None = Field(default=None, max_length=32)
    phone: str | None = Field(default=None, max_length=20)
    password: str | None = Field(default=None, max_length=200)


class SignInIn(Strict):
    account: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class PersonIn(Strict):
    id_number: str = Field(min_length=18, max_length=18)
    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")
    region: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(default=None, pattern=r"^1\d{10}$")
    assistance: bool = False  # a low-income or special-hardship family


class EnrolIn(Strict):
    person_id: str = Field(min_length=1, max_length=32)
    year: int = Field(ge=2000, le=2100)
    scheme: Scheme


class HouseholdIn(Strict):
    child: PersonIn
    year: int = Field(ge=2000, le=2100)
    guardian_id_number: str | None = Field(default=None, min_length=18, max_length=18)
