"""A dated value: what it is on each day, and where that comes from (file, key, source
note). The building block of every policy parameter (see parameters.py) and of the
administration's rules (enrolment.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, TypeVar

from yibao.domain.conditions import Conditions, Facts
from yibao.domain.frozen import fast_init

T = TypeVar("T")


class PolicyGapError(LookupError):
    """No value of a parameter is in force on the date asked for."""


@fast_init
@dataclass(frozen=True)
class Ref:
    """Where a value comes from: file, key inside it, the date it took effect, its source note."""

    file: str
    key: str
    since: date
    source: str
    when: str = ""  # the row of a decision table that applied: its conditions in words

    def __str__(self) -> str:
        row = f" ({self.when})" if self.when else ""
        return f"{self.file}: {self.key}{row}"

    # A Ref is made once per parameter row (Dated.at) and cited by every bill settled
    # under it: what the explanations make of it is kept on it, made when first asked
    # (not cached_property: its lock costs more than the making on a Ref used once).
    @property
    def citation(self) -> str:
        """What a step's sentence ends with: the Ref, and whether the number is the
        source text's or the region's own (the first bracket of its source note)."""
        kept = self.__dict__.get("_citation")
        if kept is None:
            kept = self.__dict__["_citation"] = f" [{self} {self.source.split(']', 1)[0]}]]"
        return kept

    @property
    def parameter(self) -> dict[str, str]:
        """The Ref as an explanation's step shows it (a copy is handed out: it is kept)."""
        kept: dict[str, str] | None = self.__dict__.get("_parameter")
        if kept is None:
            kept = self.__dict__["_parameter"] = {
                "file": self.file,
                "key": self.key,
                "since": self.since_text,
                "source": self.source,
                "when": self.when,
            }
        return kept

    @property
    def since_text(self) -> str:
        """The day it took effect, as a stored step and an explanation show it."""
        kept = self.__dict__.get("_since")
        if kept is None:
            kept = self.__dict__["_since"] = self.since.isoformat()
        return kept


@dataclass(frozen=True)
class Period(Generic[T]):
    start: date
    end: date | None  # inclusive; None: until the next period starts, or for good
    value: T
    source: str
    when: Conditions | None = None  # a row of a decision table: the bills it applies to


@dataclass(frozen=True)
class Param(Generic[T]):
    value: T
    ref: Ref


class _Row(NamedTuple, Generic[T]):
    """A row in force: its conditions (None: every bill) and its value with its Ref."""

    when: Conditions | None
    param: Param[T]


@dataclass(frozen=True)
class Dated(Generic[T]):
    """A parameter's values over time; periods do not overlap (the loader checks), except
    the rows of a decision table: periods with the same start, each with its `when`."""

    file: str
    key: str
    periods: tuple[Period[T], ...]
    unit: str = ""  # "yuan" or "share" for a bare Decimal, so it can be shown right

    @property
    def conditional(self) -> bool:
        """Some value varies by conditions on the bill (a decision table)."""
        return any(p.when is not None for p in self.periods)

    @cached_property
    def _tables(self) -> tuple[tuple[date, date | None, tuple[Period[T], ...]], ...]:
        """(first day, last day or None, rows) of each stretch, in date order."""
        starts = sorted({p.start for p in self.periods})
        out = []
        for i, start in enumerate(starts):
            rows = tuple(p for p in self.periods if p.start == start)
            end = rows[0].end
            if end is None and i + 1 < len(starts):
                # An open-ended value lasts until the next value starts, and no longer.
                end = starts[i + 1] - timedelta(days=1)
            out.append((start, end, rows))
        return tuple(out)

    @cached_property
    def _params(self) -> tuple[tuple[date, date | None, tuple[_Row[T], ...]], ...]:
        """`_tables` with each row's Param made once: a dated value is asked for by every
        bill, and its Param (and Ref) is the same every time (both are frozen)."""
        return tuple(
            (start, end, tuple(_Row(row.when, self._param(row)) for row in rows))
            for start, end, rows in self._tables
        )

    def _param(self, row: Period[T]) -> Param[T]:
        when = row.when.describe() if row.when is not None else ""
        return Param(row.value, Ref(self.file, self.key, row.start, row.source, when))

    def rows_at(self, day: date) -> tuple[Period[T], ...]:
        """The values in force on `day`: one, or the rows of a decision table."""
        for start, end, rows in self._tables:
            if start <= day and (end is None or day <= end):
                return rows
        return ()

    def _params_at(self, day: date) -> tuple[_Row[T], ...]:
        for start, end, rows in self._params:
            if start <= day and (end is None or day <= end):
                return rows
        return ()

    def find(self, day: date, facts: Facts | None) -> Param[T] | None:
        """A partial table's row that `facts` meet, or None (no row names such a bill)."""
        for when, param in self._params_at(day):
            if when is None or (facts is not None and when.matches(facts)):
                return param
        return None

    def __post_init__(self) -> None:
        # The Param in force on each day asked for, for a value without conditions (most
        # of them: one that depends on the day alone); None for a decision table. A plain
        # attribute, not a cached_property: read by every at(), whose look-up past the
        # class's descriptor cost a fifth of the call.
        self.__dict__["_by_day"] = None if self.conditional else {}

    if TYPE_CHECKING:  # an attribute of each instance (a ClassVar to mypy: not a field)
        _by_day: ClassVar[dict[date, Any] | None]

    def at(self, day: date, facts: Facts | None = None) -> Param[T]:
        """The value in force on `day`; for a decision table, the row that `facts` meet."""
        # A bill asks five or six values for its day: found by the day (a bill's day is
        # one date object, hashed once), at half the cost of the stretches' loop below.
        by_day: dict[date, Param[T]] | None = self._by_day
        if by_day is not None:
            kept = by_day.get(day)
            if kept is not None:
                return kept
        for start, end, found in self._params:  # _params_at, inline: every bill, often
            if start <= day and (end is None or day <= end):
                for when, param in found:
                    if when is None or (facts is not None and when.matches(facts)):
                        if by_day is not None:
                            if len(by_day) >= 10_000:  # days of bills: a bounded memory
                                by_day.clear()
                            by_day[day] = param
                        return param
                break
        else:
            raise PolicyGapError(f"{self.file}: {self.key}: no value in force on {day.isoformat()}")
        rows = self.rows_at(day)
        dims = sorted({d for r in rows if r.when is not None for d in r.when.dims})
        what = facts.describe(dims) if facts is not None else "no facts given"
        raise PolicyGapError(
            f"{self.file}: {self.key}: no row in force on {day.isoformat()} applies to {what} "
            f"(the value depends on {', '.join(dims)})"
        )
