"""The administration's policy files of a region folder: `enrolment.yaml` (windows,
premiums, exemptions, card lead time) and `calendar.yaml` (working days). Both optional:
a region without them settles bills but cannot enrol or order cards."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from yibao.adapters.policy_values import (
    Amount,
    DatedBuilder,
    DatedCount,
    Entry,
    Source,
    ordered_periods,
)
from yibao.adapters.validation import Day, Strict, Whole
from yibao.domain.calendar import CalendarYear, WorkingCalendar
from yibao.domain.enrolment import EnrolmentRules, Premium, Window
from yibao.domain.model import Scheme

_MONTH_DAY = re.compile(r"^(\d\d)-(\d\d)$")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _month_day(raw: object) -> tuple[int, int]:
    if isinstance(raw, str) and (m := _MONTH_DAY.match(raw)):
        month, day = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]:
            return month, day
    raise ValueError(f"{raw!r} is not a month and day (write MM-DD, such as 09-01)")


class WindowValue(Entry):
    opens: tuple[int, int]
    closes: tuple[int, int]
    years_before: Whole

    @field_validator("opens", "closes", mode="before")
    @classmethod
    def _md(cls, raw: object) -> tuple[int, int]:
        return _month_day(raw)


class PremiumValue(Entry):
    personal: Amount
    subsidy: Amount


class FlagValue(Entry):
    value: bool


DatedWindow = Annotated[list[WindowValue], AfterValidator(ordered_periods)]
DatedPremium = Annotated[list[PremiumValue], AfterValidator(ordered_periods)]
DatedFlag = Annotated[list[FlagValue], AfterValidator(ordered_periods)]


class EnrolmentFile(Strict):
    window: DatedWindow
    premium: dict[Scheme, DatedPremium] = Field(min_length=1)
    assistance_exempt: DatedFlag
    card_due_working_days: DatedCount
    max_student_age: DatedCount


class CalendarYearModel(Strict):
    holidays: list[Day]
    makeup_workdays: list[Day] = Field(default_factory=list)
    provisional: bool = False
    source: Source


class CalendarFile(Strict):
    years: dict[int, CalendarYearModel] = Field(min_length=1)

    @field_validator("years")
    @classmethod
    def _in_year(cls, years: dict[int, CalendarYearModel]) -> dict[int, CalendarYearModel]:
        for year, model in years.items():
            for day in [*model.holidays, *model.makeup_workdays]:
                if day.year != year:
                    raise ValueError(f"{year}: {day.isoformat()} is not in {year}")
            both = set(model.holidays) & set(model.makeup_workdays)
            if both:
                first = min(both).isoformat()
                raise ValueError(f"{year}: {first} is both a holiday and a make-up working day")
        return years


def enrolment_rules(name: str, f: EnrolmentFile) -> EnrolmentRules:
    b = DatedBuilder(name)
    return EnrolmentRules(
        file=name,
        window=b.dated("window", f.window, lambda e: Window(e.opens, e.closes, e.years_before)),
        premiums={
            scheme.value: b.dated(
                f"premium.{scheme.value}", entries, lambda e: Premium(e.personal, e.subsidy)
            )
            for scheme, entries in f.premium.items()
        },
        assistance_exempt=b.dated("assistance_exempt", f.assistance_exempt, lambda e: e.value),
        card_due_working_days=b.dated(
            "card_due_working_days", f.card_due_working_days, lambda e: e.value
        ),
        max_student_age=b.dated("max_student_age", f.max_student_age, lambda e: e.value),
    )


def working_calendar(name: str, f: CalendarFile) -> WorkingCalendar:
    return WorkingCalendar(
        name,
        {
            year: CalendarYear(
                frozenset(m.holidays), frozenset(m.makeup_workdays), m.provisional, m.source
            )
            for year, m in f.years.items()
        },
    )
