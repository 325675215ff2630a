"""The insured person, their approvals and filings, and the bills they bring.

Names follow the national interface where one exists (see docs/national-interface
mapping): encounter kinds map to `med_type`, schemes to `insutype`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from yibao.domain.frozen import fast_init
from yibao.domain.money import ZERO, round_fen
from yibao.domain.parameters import Ref, Text


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
        return self is OUTPATIENT or self is EMERGENCY or self is PHARMACY


# The kinds by plain names, for the code every bill runs: an Enum class's attribute
# (Kind.INPATIENT) goes through EnumType.__getattr__'s hook on Python 3.11, some 1,000
# instructions, and a card settlement asked about twenty; a module's name costs nothing.
OUTPATIENT = Kind.OUTPATIENT
EMERGENCY = Kind.EMERGENCY
INPATIENT = Kind.INPATIENT
SPECIAL_OUTPATIENT = Kind.SPECIAL_OUTPATIENT
PHARMACY = Kind.PHARMACY


class LineClass(StrEnum):
    A = "A"
    B = "B"
    SELF_PAY = "self_pay"


LEVELS = (0, 1, 2, 3)


@fast_init
@dataclass(frozen=True)
class Hospital:
    id: str
    level: int
    designated: bool = True
    region: str | None = None  # None: the person's own region
    pilot: bool = False
    type: str = "general"  # general | tcm (a traditional Chinese medicine hospital)
    province: str = "same"  # same | other: the province of the person's region or another


@fast_init
@dataclass(frozen=True)
class Line:
    """A bill line: an amount of a class, or a catalogue item as a real catalogue carries
    it (reference §1a): quantity × unit price, the item's price cap at this institution,
    its first self-pay ratio, and whether the bill falls outside its payment restriction.
    The service resolves the catalogue entry into these facts; the engine only applies
    them."""

    cls: LineClass
    amount: Decimal  # quantity × unit price rounded half-up to the fen, for an item
    code: str | None = None  # catalogue code, when the bill came with one
    quantity: Decimal | None = None
    unit_price: Decimal | None = None  # as billed
    cap: Decimal | None = None  # the item's price cap (最高限价) at this institution's level
    ratio: Decimal | None = None  # first self-pay ratio (先行自付比例); None: the region's
    outside_restriction: bool = False  # outside the item's payment restriction: all self-pay
    name: str | None = None  # the item's name, for the explanation
    entry: Ref | None = None  # the catalogue entry the facts came from
    restriction: Text | None = None  # the restriction the bill fell outside, in words

    @classmethod
    def item(cls, klass: LineClass, quantity: Decimal, unit_price: Decimal, **facts: Any) -> Line:
        """A catalogue item line; its amount is quantity × unit price, half-up to the fen."""
        amount = round_fen(quantity * unit_price)
        return cls(klass, amount, quantity=quantity, unit_price=unit_price, **facts)

    @property
    def itemised(self) -> bool:
        """Carries catalogue facts of its own (explained line by line), rather than being
        an amount of a class (explained by class)."""
        return (
            self.quantity is not None
            or self.cap is not None
            or self.ratio is not None
            or self.outside_restriction
            or self.entry is not None
        )


@fast_init
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
    cause: str = "ordinary"  # ordinary | accident (an accidental injury, no liable third party)
    delivery: str | None = None  # a childbirth stay: natural | caesarean
    referred_from: str | None = None  # the earlier stay of the same episode it was referred from

    @property
    def total(self) -> Decimal:
        # sum(..., ZERO)'s additions, in its order, without the list and the call.
        total = ZERO  # not one made of text
        for line in self.lines:
            total += line.amount
        return total


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


@fast_init
@dataclass(frozen=True)
class CategorySpan:
    """A person's category (low-income, special hardship, poverty-registered) over dates,
    inclusive; None: open at that end. Outside every span a person is `general`."""

    category: str
    valid_from: date | None = None
    valid_to: date | None = None

    def covers(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


GENERAL = "general"


def category_on(spans: tuple[CategorySpan, ...], day: date) -> str:
    """The category of the first span covering `day`; `general` outside every span."""
    return next((span.category for span in spans if span.covers(day)), GENERAL)


@fast_init
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
    categories: tuple[CategorySpan, ...] = field(default=())

    def category_on(self, day: date) -> str:
        # Most persons have no category span: every bill asks.
        return category_on(self.categories, day) if self.categories else GENERAL

    def age_on(self, day: date) -> int:
        return age_on(self.birth_date, day)


def age_on(birth: date, day: date) -> int:
    """Age in completed years: the birthday itself counts as the new year of age."""
    month, birth_month = day.month, birth.month
    before_birthday = month < birth_month or (month == birth_month and day.day < birth.day)
    return day.year - birth.year - (1 if before_birthday else 0)
