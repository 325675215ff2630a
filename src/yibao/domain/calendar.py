"""A region's working-day calendar: weekends rest, public holidays rest, and the make-up
working days (调休) that move a weekend day into the working week. Data, per year."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta


class CalendarGapError(LookupError):
    """The calendar has no data for a year the count needs."""


@dataclass(frozen=True)
class CalendarYear:
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    provisional: bool = False  # the year's official notice is not out yet
    source: str = ""


@dataclass(frozen=True)
class WorkingCalendar:
    file: str
    years: Mapping[int, CalendarYear] = field(default_factory=dict)

    def _year(self, year: int) -> CalendarYear:
        found = self.years.get(year)
        if found is None:
            known = ", ".join(str(y) for y in sorted(self.years)) or "none"
            raise CalendarGapError(
                f"{self.file}: no working-day calendar for {year} (known: {known})"
            )
        return found

    def is_working_day(self, day: date) -> bool:
        year = self._year(day.year)
        if day in year.makeup_workdays:
            return True
        if day in year.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> date:
        """The working day that is `days` working days after `start` (start itself not
        counted): an order paid on Friday with 1 working day is due the next Monday."""
        if days < 0:
            raise ValueError("a number of working days is 0 or more")
        day = start
        left = days
        while left:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count
