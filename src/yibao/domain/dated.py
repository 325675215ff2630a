"""A dated value: what it is on each day, and where that comes from (file, key, source
note). The building block of every policy parameter (see parameters.py) and of the
administration's rules (enrolment.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Generic, TypeVar

T = TypeVar("T")


class PolicyGapError(LookupError):
    """No value of a parameter is in force on the date asked for."""


@dataclass(frozen=True)
class Ref:
    """Where a value comes from: file, key inside it, the date it took effect, its source note."""

    file: str
    key: str
    since: date
    source: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}"


@dataclass(frozen=True)
class Period(Generic[T]):
    start: date
    end: date | None  # inclusive; None: until the next period starts, or for good
    value: T
    source: str


@dataclass(frozen=True)
class Param(Generic[T]):
    value: T
    ref: Ref


@dataclass(frozen=True)
class Dated(Generic[T]):
    """A parameter's values over time; periods are sorted and do not overlap (the loader checks)."""

    file: str
    key: str
    periods: tuple[Period[T], ...]
    unit: str = ""  # "yuan" or "share" for a bare Decimal, so it can be shown right

    def at(self, day: date) -> Param[T]:
        for i, period in enumerate(self.periods):
            end = period.end
            if end is None and i + 1 < len(self.periods):
                # An open-ended value lasts until the next value starts, and no longer.
                end = self.periods[i + 1].start - timedelta(days=1)
            if period.start <= day and (end is None or day <= end):
                return Param(period.value, Ref(self.file, self.key, period.start, period.source))
        raise PolicyGapError(f"{self.file}: {self.key}: no value in force on {day.isoformat()}")
