"""The insured person, their approvals and filings, and the bills they bring.

Names follow the national interface where one exists (see docs/national-interface
mapping): encounter kinds map to `med_type`, schemes to `insutype`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class Scheme(StrEnum):
    STUDENT = "student"
    RESIDENT = "resident"
    EMPLOYEE = "employee"


class Kind(StrEnum):
    OUTPATIENT = "outpatient"
    EMERGENCY = "emergency"
    INPATIENT = "inpatient"
    SPECIAL_OUTPATIENT = "special_outpatient"
    PHARMACY = "pharmacy"

    @property
    def outpatient_like(self) -> bool:
        """Emergencies and prescribed pharmacy purchases count as outpatient (reference §2, §4)."""
        return self in (Kind.OUTPATIENT, Kind.EMERGENCY, Kind.PHARMACY)


class LineClass(StrEnum):
    A = "A"
    B = "B"
    SELF_PAY = "self_pay"


LEVELS = (0, 1, 2, 3)


@dataclass(frozen=True)
class Hospital:
    id: str
    level: int
    designated: bool = True
    region: str | None = None  # None: the person's own region
    pilot: bool = False


@dataclass(frozen=True)
class Line:
    cls: LineClass
    amount: Decimal
    code: str | None = None  # catalogue code, when the bill came with one


@dataclass(frozen=True)
class Encounter:
    id: str
    date: date
    kind: Kind
    hospital: Hospital
    lines: tuple[Line, ...]
    diagnosis: str | None = None
    disease: str | None = None  # special_outpatient: the approved special disease
    referral: bool = False
    prescription: bool = True

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))


@dataclass(frozen=True)
class Approval:
    """An approved outpatient special disease, at one named hospital."""

    disease: str
    hospital: str
    valid_from: date | None = None
    valid_to: date | None = None

    def covers(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


@dataclass(frozen=True)
class Filing:
    """A remote-treatment filing: local rates in `region` from `valid_from` to `valid_to`."""

    region: str
    valid_from: date
    valid_to: date

    def covers(self, region: str, day: date) -> bool:
        return region == self.region and self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class Person:
    id: str
    birth_date: date
    scheme: Scheme
    region: str
    retired: bool = False
    contribution_years: int | None = None
    assistance: bool = False  # family in medical assistance (low-income, special hardship)
    approvals: tuple[Approval, ...] = field(default=())
    filings: tuple[Filing, ...] = field(default=())

    def age_on(self, day: date) -> int:
        return age_on(self.birth_date, day)


def age_on(birth: date, day: date) -> int:
    """Age in completed years: the birthday itself counts as the new year of age."""
    before_birthday = (day.month, day.day) < (birth.month, birth.day)
    return day.year - birth.year - (1 if before_birthday else 0)
