"""Enrolment rules, pure: the yearly window, the premium and who is exempt from its
personal part. The numbers come from the region's enrolment.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from yibao.domain.dated import Dated, Ref
from yibao.domain.money import ZERO, fmt


@dataclass(frozen=True)
class Window:
    """Enrolment for coverage year Y is open from opens (month, day) to closes (month,
    day), both inclusive, in the year Y - years_before."""

    opens: tuple[int, int]
    closes: tuple[int, int]
    years_before: int

    def dates_for(self, year: int) -> tuple[date, date]:
        y = year - self.years_before
        return date(y, *self.opens), date(y, *self.closes)

    def describe(self) -> str:
        (om, od), (cm, cd) = self.opens, self.closes
        return f"{om:02d}-{od:02d} to {cm:02d}-{cd:02d}, {self.years_before} year(s) before"


@dataclass(frozen=True)
class Premium:
    personal: Decimal
    subsidy: Decimal

    def describe(self) -> str:
        return f"{fmt(self.personal)} personal + {fmt(self.subsidy)} subsidy"


@dataclass(frozen=True)
class EnrolmentRules:
    file: str
    window: Dated[Window]
    premiums: dict[str, Dated[Premium]]  # by scheme
    assistance_exempt: Dated[bool]  # assistance families' personal part paid by assistance
    card_due_working_days: Dated[int]
    max_student_age: Dated[int]  # the student scheme: children under this age


@dataclass(frozen=True)
class PremiumSplit:
    """One person's premium for a year: who pays which part."""

    personal: Decimal  # what the family pays
    subsidy: Decimal  # government subsidy
    assistance: Decimal  # medical assistance pays the exempted personal part
    refs: tuple[Ref, ...]

    @property
    def total(self) -> Decimal:
        return self.personal + self.subsidy + self.assistance


def coverage_start(year: int) -> date:
    return date(year, 1, 1)


def premium_for(rules: EnrolmentRules, scheme: str, year: int, assistance: bool) -> PremiumSplit:
    """The premium of a coverage year, in force on 1 January of that year."""
    dated = rules.premiums.get(scheme)
    if dated is None:
        raise LookupError(f"{rules.file}: no premium for the {scheme} scheme")
    day = coverage_start(year)
    premium = dated.at(day)
    exempt = rules.assistance_exempt.at(day)
    if assistance and exempt.value:
        return PremiumSplit(
            ZERO, premium.value.subsidy, premium.value.personal, (premium.ref, exempt.ref)
        )
    return PremiumSplit(premium.value.personal, premium.value.subsidy, ZERO, (premium.ref,))


def window_for(rules: EnrolmentRules, year: int) -> tuple[date, date, Ref]:
    found = rules.window.at(coverage_start(year))
    opens, closes = found.value.dates_for(year)
    return opens, closes, found.ref
