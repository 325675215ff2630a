"""What every policy file is made of: validated amounts, rates, counts and source notes,
and the dated entry (`from`, `until`, `source`) that each parameter is a list of; the
builder turns a list of entries into the domain's `Dated` value. Shared by the policy
files (parameter_files.py) and the administration's files (admin_files.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field

from yibao.adapters.policy_tables import WhenModel, check_rows, table_errors
from yibao.adapters.validation import Day, Strict, Whole
from yibao.domain.dated import Dated, Period
from yibao.domain.money import AmountError, parse_amount, parse_decimal


def _amount(raw: object) -> Decimal:
    return parse_amount(raw)


def _rate(raw: object) -> Decimal:
    value = parse_decimal(raw)
    if not Decimal(0) <= value <= Decimal(1):
        raise AmountError(f"rate {raw} is not between 0 and 1")
    return value


def _source(raw: str) -> str:
    if not (raw.startswith("[text]") or raw.startswith("[set]")):
        raise ValueError(
            "a source note starts with [text] (from the source text) or [set] (set by the region)"
        )
    return raw


Amount = Annotated[Decimal, BeforeValidator(_amount)]
Rate = Annotated[Decimal, BeforeValidator(_rate)]
Count = Whole
Source = Annotated[str, AfterValidator(_source)]


class Entry(Strict):
    """One dated value: in force from `from` (inclusive) until `until` (inclusive) or the next value."""

    start: Day = Field(alias="from")
    until: Day | None = None
    when: WhenModel | None = None  # a row of a decision table (policy_tables.py)
    source: Source


class AmountValue(Entry):
    value: Amount


class RateValue(Entry):
    value: Rate


class CountValue(Entry):
    value: Count


E = TypeVar("E", bound=Entry)


class TableError(ValueError):
    """A decision table with an overlap, a gap or an unknown diagnosis group; the message
    names the file, the key and the rows (parameter_files raises it as a PolicyError)."""


def ordered_periods(entries: list[E]) -> list[E]:
    if not entries:
        raise ValueError("needs at least one dated value")
    for entry in entries:
        if entry.until is not None and entry.until < entry.start:
            raise ValueError(f"value from {entry.start} ends before it starts ({entry.until})")
    check_rows(entries)
    return sorted(entries, key=lambda e: e.start)


DatedAmount = Annotated[list[AmountValue], AfterValidator(ordered_periods)]
DatedRate = Annotated[list[RateValue], AfterValidator(ordered_periods)]
DatedCount = Annotated[list[CountValue], AfterValidator(ordered_periods)]
V = TypeVar("V")


class DatedBuilder:
    """Turns validated entries into `Dated` values that cite `region/file: key`; the rows
    of a decision table are checked against each other (and the region's diagnosis
    groups) here."""

    def __init__(self, file: str, groups: Sequence[str] = (), partial: bool = False) -> None:
        self.file = file
        self.groups = tuple(groups)
        self.partial = partial  # a table whose rows name the only bills it is for

    def dated(
        self, key: str, entries: Sequence[E], convert: Callable[[E], V], unit: str = ""
    ) -> Dated[V]:
        errors = table_errors(self.file, key, entries, self.groups, self.partial)
        if errors:
            raise TableError("\n".join(errors))
        periods = tuple(
            Period(
                e.start,
                e.until,
                convert(e),
                e.source,
                e.when.conditions() if e.when is not None else None,
            )
            for e in entries
        )
        return Dated(self.file, key, periods, unit)

    def amount(self, key: str, entries: Sequence[AmountValue]) -> Dated[Decimal]:
        return self.dated(key, entries, lambda e: e.value, "yuan")

    def share(self, key: str, entries: Sequence[RateValue]) -> Dated[Decimal]:
        return self.dated(key, entries, lambda e: e.value, "share")
