"""The registry as the service sees it: institutions, catalogue items, persons, their
enrolments, cards and certificates. Plain values; the database maps to and from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from yibao.domain.frozen import fast_init
from yibao.domain.ids import ResidentIdError, parse_resident_id
from yibao.domain.model import Approval, CategorySpan, Filing, LineClass, Person, Scheme


class InstitutionKind(StrEnum):
    HOSPITAL = "hospital"
    CLINIC = "clinic"
    PHARMACY = "pharmacy"


class CardStatus(StrEnum):
    ORDERED = "ordered"  # paid for, being made; not yet in the holder's hands
    ACTIVE = "active"  # issued
    LOST = "lost"
    REPLACED = "replaced"


@fast_init
@dataclass(frozen=True)
class Institution:
    id: str
    region: str
    name: str
    level: int
    kind: InstitutionKind
    designated: bool
    pilot: bool = False
    type: str = "general"  # general | tcm: a traditional Chinese medicine hospital (中医院)
    # The province: the first two digits of its GB/T 2260 division code; None: its
    # region's (where yibao knows the region).
    province: str | None = None


@fast_init
@dataclass(frozen=True)
class CatalogueItem:
    code: str
    name: str
    cls: LineClass
    unit_price: Decimal | None  # set where the price is fixed


@fast_init
@dataclass(frozen=True)
class PersonRecord:
    id: str
    id_number: str
    name: str
    birth_date: date
    sex: str
    region: str
    phone: str | None = None
    assistance: bool = False
    retired: bool = False
    contribution_years: int | None = None

    def __post_init__(self) -> None:
        # The number identifies the person: it must be valid, and say what the record says.
        _check_id_number(self.id_number, self.birth_date, self.sex)


# Every card settlement reads its holder's record again (from the database, or a batch's
# read): the number, the birth date and the sex a record was found consistent with are
# kept, so a holder's number is parsed once a process, not once a bill. A wrong one raises
# every time (an exception is never kept).
@lru_cache(maxsize=1 << 16)
def _check_id_number(id_number: str, birth_date: date, sex: str) -> None:
    number = parse_resident_id(id_number)
    if number.birth_date != birth_date:
        raise ResidentIdError(
            f"the ID number says born {number.birth_date.isoformat()}, "
            f"the record says {birth_date.isoformat()}"
        )
    if number.sex != sex:
        raise ResidentIdError(f"the ID number says sex {number.sex}, the record says {sex}")


@fast_init
@dataclass(frozen=True)
class Enrolment:
    person_id: str
    year: int
    scheme: Scheme
    status: str  # pending (premium not yet collected) | active | cancelled
    valid_from: date
    valid_to: date
    channel: str = "agency"  # agency | school | household | demo
    school_id: str | None = None
    personal: Decimal = Decimal(0)  # the premium's parts, in yuan
    subsidy: Decimal = Decimal(0)
    assistance: Decimal = Decimal(0)
    paid_on: date | None = None

    def covers(self, day: date) -> bool:
        return self.status == "active" and self.valid_from <= day <= self.valid_to


@fast_init
@dataclass(frozen=True)
class Card:
    number: str
    person_id: str
    status: CardStatus
    issued_on: date | None = None
    replaced_by: str | None = None
    ordered_on: date | None = None
    due_on: date | None = None
    lost_on: date | None = None
    replaces: str | None = None


@dataclass(frozen=True)
class Referral:
    person_id: str
    issued_by: str
    to_region: str
    valid_from: date
    valid_to: date

    def covers(self, region: str, day: date) -> bool:
        return region == self.to_region and self.valid_from <= day <= self.valid_to


def insured_person(
    record: PersonRecord,
    enrolment: Enrolment,
    approvals: tuple[Approval, ...],
    filings: tuple[Filing, ...],
    categories: tuple[CategorySpan, ...] = (),
) -> Person:
    """The engine's view of a registered, enrolled person."""
    return Person(  # its fields in their order: by keyword, a bill's Person cost twice as much
        record.id,
        record.birth_date,
        enrolment.scheme,
        record.region,
        record.retired,
        record.contribution_years,
        record.assistance,
        approvals,
        filings,
        categories,
    )
