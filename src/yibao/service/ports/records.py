"""The records the service layer exchanges with its stores: what a settlement writes,
what the counter reads for a bill, the answers kept for idempotency keys, and the errors
a store raises in the service's own terms (adapters translate their database's errors
into these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from yibao.domain.accumulators import YearAccumulators
from yibao.domain.frozen import fast_init
from yibao.domain.model import CategorySpan
from yibao.domain.registry import Card, CatalogueItem, Enrolment, Institution, PersonRecord


class DuplicateError(Exception):
    """A write refused because the same thing was written first (a unique key taken,
    possibly by another transaction at the same moment)."""


@fast_init
@dataclass(frozen=True)
class StoredAnswer:
    """The first answer to a request with an idempotency key."""

    request_hash: str
    status: int
    response: str  # JSON


@fast_init
@dataclass(frozen=True)
class NewAnswer:
    caller: str
    key: str
    request_hash: str
    status: int
    response: str  # JSON


@fast_init
@dataclass(frozen=True)
class CounterFacts:
    """What the registry and the ledger hold for a bill, read with the person-year locked
    (when the card or person is known). `person` is None for an unknown card or person."""

    answer: StoredAnswer | None
    institution: Institution | None
    card: Card | None  # None when the bill names a person (an electronic voucher)
    person: PersonRecord | None
    enrolment: Enrolment | None
    items: dict[str, CatalogueItem]  # the codes asked for, found in the person's region
    year: YearAccumulators
    settled: int  # the person-year's settlements so far
    # The person's categories over dates, when the counter read them with the rest (None:
    # not read, the caller asks the registry).
    categories: tuple[CategorySpan, ...] | None = None


class KeyTakenError(Exception):
    """Another request with the same idempotency key committed first. `keys`: the
    (caller, key) pairs taken, when a batch's write knows which of its bills it was."""

    def __init__(self, message: str = "", keys: frozenset[tuple[str, str]] = frozenset()) -> None:
        super().__init__(message)
        self.keys = keys


@fast_init
@dataclass(frozen=True)
class BillKeys:
    """What the counter looks a bill up by."""

    institution_id: str
    year: int
    codes: tuple[str, ...]
    card_number: str | None = None  # one of the two
    person_id: str | None = None
    caller: str | None = None  # with key: the idempotency key's owner
    key: str | None = None
    # The bill's day, for what a batch reads for a bill elsewhere (the month its movement
    # between regions is cleared in); None: not needed.
    day: date | None = None


@fast_init
@dataclass(frozen=True)
class SettlementRecord:
    """Everything one settled encounter writes: the settlement row (without its id), its
    lines, the person-year's new accumulators and the fund ledger entries. Made once
    (service.booking.settlement_record) and written by whichever store books it."""

    # settlements' columns but id; the explanation as its JSON's UTF-8 bytes, as orjson
    # writes it: the group commit sends them as they are (counter_pg_batch.Texts), and
    # a writer that needs its text decodes it (`explanation_text`)
    values: dict[str, Any]
    lines: list[dict[str, Any]]  # settlement_lines' columns but settlement_id
    ledger: list[dict[str, Any]]  # fund_ledger's columns but created_at; settlement_id None
    person_id: str
    year: YearAccumulators
    settled: int  # the person-year's settlements with this one (= its seq)


def explanation_text(values: dict[str, Any]) -> dict[str, Any]:
    """A SettlementRecord's values with the explanation as the text the column holds."""
    return {**values, "explanation": values["explanation"].decode()}
