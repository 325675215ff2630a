"""Hypothesis strategies: whole person-years of bills, for any shipped region."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from yibao.domain.model import (
    Approval,
    CategorySpan,
    Encounter,
    Filing,
    Hospital,
    Kind,
    Line,
    LineClass,
    Person,
    Scheme,
)

YEAR = 2026
REGIONS = ("sample-city", "hill-county", "river-county")
CATEGORIES = ("general", "low_income", "special_hardship", "poverty_registered")
SPECIAL = ("malignant_tumor", "dialysis", "kidney_transplant")
PILOT_CODES = ("C91.0", "C92.4", "Q21.1", "Q21.0", "Q25.0", "Q22.1")
HOSPITALS = ("H1", "H2", "H3", "C1")
ELSEWHERE = "other-city"

days = st.integers(0, 364).map(lambda n: date(YEAR, 1, 1) + timedelta(days=n))

# Fen amounts, skewed: most bills are small, a few are very large (up to 400,000 yuan).
fen = st.one_of(
    st.integers(0, 50_000),
    st.integers(0, 2_000_000),
    st.integers(0, 40_000_000),
).map(lambda f: Decimal(f) / 100)

lines = st.builds(Line, cls=st.sampled_from(list(LineClass)), amount=fen)


@st.composite
def persons(draw: st.DrawFn, region: str) -> Person:
    scheme = draw(st.sampled_from(list(Scheme)))
    employee = scheme is Scheme.EMPLOYEE
    birth = draw(
        st.one_of(
            st.dates(date(2010, 1, 1), date(2025, 12, 31)),  # children: the pilot's ages
            st.dates(date(1940, 1, 1), date(2009, 12, 31)),
        )
    )
    approvals = draw(
        st.lists(
            st.builds(
                Approval, disease=st.sampled_from(SPECIAL), hospital=st.sampled_from(HOSPITALS)
            ),
            max_size=2,
        )
    )
    filings = []
    if draw(st.booleans()):
        start = draw(days)
        end = draw(st.dates(start, date(YEAR, 12, 31)))
        filings.append(Filing(ELSEWHERE, start, end))
    categories = []
    if draw(st.booleans()):  # a category, all year or from a day on
        start = draw(st.one_of(st.none(), days))
        categories.append(CategorySpan(draw(st.sampled_from(CATEGORIES)), start))
    return Person(
        id="P",
        birth_date=birth,
        scheme=scheme,
        region=region,
        retired=employee and draw(st.booleans()),
        contribution_years=draw(st.integers(0, 40)) if employee else None,
        assistance=draw(st.booleans()),
        approvals=tuple(approvals),
        filings=tuple(filings),
        categories=tuple(categories),
    )


@st.composite
def encounters(draw: st.DrawFn, region: str, index: int) -> Encounter:
    kind = draw(st.sampled_from(list(Kind)))
    elsewhere = draw(st.integers(0, 4)) == 0
    delivery = None
    if kind is Kind.INPATIENT and draw(st.integers(0, 5)) == 0:
        delivery = draw(st.sampled_from(("natural", "caesarean")))
    return Encounter(
        id=f"E{index}",
        date=draw(days),
        kind=kind,
        hospital=Hospital(
            id=draw(st.sampled_from(HOSPITALS)),
            level=draw(st.integers(0, 3)),
            designated=draw(st.integers(0, 9)) > 0,
            region=ELSEWHERE if elsewhere else region,
            pilot=draw(st.booleans()),
            type=draw(st.sampled_from(("general", "tcm"))),
            province="other" if elsewhere and draw(st.booleans()) else "same",
        ),
        lines=tuple(draw(st.lists(lines, min_size=1, max_size=4))),
        diagnosis=draw(st.one_of(st.none(), st.sampled_from((*PILOT_CODES, "K35.8", "I21.0")))),
        disease=draw(st.sampled_from(SPECIAL)) if kind is Kind.SPECIAL_OUTPATIENT else None,
        referral=draw(st.booleans()),
        prescription=draw(st.integers(0, 4)) > 0,
        cause="accident" if draw(st.integers(0, 3)) == 0 else "ordinary",
        delivery=delivery,
    )


@st.composite
def years(draw: st.DrawFn, max_encounters: int = 10) -> tuple[str, Person, list[Encounter]]:
    """A region, a person and their year's bills, in date order."""
    region = draw(st.sampled_from(REGIONS))
    person = draw(persons(region))
    n = draw(st.integers(1, max_encounters))
    bills = [draw(encounters(region, i)) for i in range(n)]
    bills.sort(key=lambda e: e.date)
    # Referral chains: now and then a stay is referred from an earlier stay.
    for i, bill in enumerate(bills):
        earlier = [b.id for b in bills[:i] if b.kind is Kind.INPATIENT]
        if bill.kind is Kind.INPATIENT and earlier and draw(st.booleans()):
            bills[i] = replace(bill, referred_from=draw(st.sampled_from(earlier)))
    return region, person, bills
