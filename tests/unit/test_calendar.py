"""The working-day calendar: weekends, public holidays and make-up working days (调休), as
the regions' calendar.yaml files say them. Due dates of cards are counted in it."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from yibao.adapters.parameter_files import load_region, search_path
from yibao.domain.calendar import CalendarGapError, CalendarYear, WorkingCalendar

TESTS = Path(__file__).resolve().parent.parent
PATH = search_path([TESTS / "regions"])


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    found = load_region("sample-city", PATH).calendar
    assert found is not None, "sample-city ships a calendar.yaml"
    return found


def test_national_day_week_2026_rests_and_its_makeup_days_work(calendar: WorkingCalendar) -> None:
    # 1-7 October rest (Thursday to Wednesday); Sunday 20 September and Saturday 10 October
    # are worked instead; Mid-Autumn (25-27 September) rests.
    for day in range(1, 8):
        assert not calendar.is_working_day(date(2026, 10, day)), f"10-{day:02d} is a holiday"
    assert calendar.is_working_day(date(2026, 10, 8))
    assert calendar.is_working_day(date(2026, 10, 10))  # a Saturday, made up
    assert not calendar.is_working_day(date(2026, 10, 11))  # an ordinary Sunday
    assert calendar.is_working_day(date(2026, 9, 20))  # a Sunday, made up
    assert not calendar.is_working_day(date(2026, 9, 25))  # Mid-Autumn, a Friday
    assert calendar.is_working_day(date(2026, 9, 24))


def test_ordinary_weeks(calendar: WorkingCalendar) -> None:
    monday = date(2026, 3, 9)
    assert [calendar.is_working_day(monday + timedelta(days=i)) for i in range(7)] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    ]


def test_paid_mid_september_is_due_across_mid_autumn_and_national_day(
    calendar: WorkingCalendar,
) -> None:
    # Tuesday 15 September + 20 working days: 16-18, Sun 20 (made up), 21-24, 28-30,
    # 8-9 Oct, Sat 10 (made up), 12-16, 19 Oct = 20.
    assert calendar.add_working_days(date(2026, 9, 15), 20) == date(2026, 10, 19)


def test_paid_on_a_friday(calendar: WorkingCalendar) -> None:
    friday = date(2026, 10, 16)
    assert calendar.add_working_days(friday, 1) == date(2026, 10, 19)  # the next Monday
    assert calendar.add_working_days(friday, 5) == date(2026, 10, 23)
    assert calendar.add_working_days(friday, 20) == date(2026, 11, 13)


def test_paid_on_a_holiday_counts_from_the_next_working_day(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(date(2026, 10, 3), 1) == date(2026, 10, 8)


def test_spring_festival_2026_with_its_makeup_saturdays(calendar: WorkingCalendar) -> None:
    # Sat 14 Feb and Sat 28 Feb are worked; 15-23 Feb rest. Friday 6 Feb + 20:
    # 9-13 (5), 14 (6), 24-27 (10), 28 (11), 2-6 Mar (16), 9-12 Mar (20).
    assert calendar.is_working_day(date(2026, 2, 14))
    assert calendar.is_working_day(date(2026, 2, 28))
    assert not any(calendar.is_working_day(date(2026, 2, d)) for d in range(15, 24))
    assert calendar.add_working_days(date(2026, 2, 6), 20) == date(2026, 3, 12)
    # Without the make-up Saturdays it would be two working days later.
    plain = WorkingCalendar(
        "no make-up days",
        {2026: CalendarYear(calendar.years[2026].holidays, frozenset())},
    )
    assert plain.add_working_days(date(2026, 2, 6), 20) == date(2026, 3, 16)


def test_across_new_year_into_the_next_years_data(calendar: WorkingCalendar) -> None:
    # 31 Dec 2025 works; 1-3 Jan 2026 rest; Sunday 4 Jan 2026 is made up.
    assert calendar.add_working_days(date(2025, 12, 30), 1) == date(2025, 12, 31)
    assert calendar.add_working_days(date(2025, 12, 30), 2) == date(2026, 1, 4)
    assert calendar.add_working_days(date(2025, 12, 30), 3) == date(2026, 1, 5)


def test_zero_days_is_the_start_and_negative_is_refused(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)
    with pytest.raises(ValueError, match="0 or more"):
        calendar.add_working_days(date(2026, 10, 3), -1)


def test_working_days_between_is_the_inverse_of_adding(calendar: WorkingCalendar) -> None:
    start = date(2026, 1, 20)
    for n in (1, 5, 20, 60):
        end = calendar.add_working_days(start, n)
        assert calendar.working_days_between(start, end) == n
    assert calendar.working_days_between(date(2026, 9, 30), date(2026, 10, 7)) == 0


def test_a_year_without_data_is_an_error_naming_the_file_and_the_years(
    calendar: WorkingCalendar,
) -> None:
    with pytest.raises(
        CalendarGapError, match=r"sample-city/calendar.yaml.*2030.*2025, 2026, 2027"
    ):
        calendar.is_working_day(date(2030, 1, 2))
    # A count that runs past the last known year fails instead of guessing.
    with pytest.raises(CalendarGapError, match="2028"):
        calendar.add_working_days(date(2027, 12, 20), 20)


def test_the_calendar_files_are_consistent() -> None:
    """Make-up days are weekend days (else they change nothing), holidays are not
    make-up days, and both regions follow the same national calendar."""
    calendars = [load_region(code, PATH).calendar for code in ("sample-city", "hill-county")]
    assert all(c is not None for c in calendars)
    first, second = calendars
    assert first is not None
    assert second is not None
    for year, data in first.years.items():
        assert all(d.weekday() >= 5 for d in data.makeup_workdays), year
        assert not data.holidays & data.makeup_workdays, year
        assert data.source
    assert {y: (d.holidays, d.makeup_workdays) for y, d in first.years.items()} == {
        y: (d.holidays, d.makeup_workdays) for y, d in second.years.items()
    }
    assert first.years[2027].provisional
    assert not first.years[2026].provisional


def test_2026_has_248_working_days(calendar: WorkingCalendar) -> None:
    # Counted by hand: 365 days, 104 Saturdays and Sundays; the holidays that fall on
    # weekdays: New Year 2, Spring Festival 6, Qingming 1, Labour Day 3, Dragon Boat 1,
    # Mid-Autumn 1, National Day 5 = 19; plus 6 make-up days. 365 - 104 - 19 + 6 = 248.
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    assert sum(1 for d in days if calendar.is_working_day(d)) == 248
