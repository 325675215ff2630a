"""Dated.at keeps the Param in force on each day asked for (a value without conditions):
the same day is answered as the stretches answer it, a new value (a new Dated) afresh,
and a decision table by its rows, never by the day alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from yibao.domain.conditions import Conditions, Facts
from yibao.domain.dated import Dated, Period, PolicyGapError

LIMIT = Dated(
    "f.yaml",
    "outpatient.limit",
    (
        Period(date(2025, 1, 1), None, Decimal("100"), "[set] first"),
        Period(date(2026, 1, 1), date(2026, 12, 31), Decimal("200"), "[set] second"),
    ),
)


def test_each_day_is_answered_as_the_stretches_answer_it() -> None:
    for _ in range(2):  # found, then kept
        assert LIMIT.at(date(2025, 12, 31)).value == Decimal("100")
        assert LIMIT.at(date(2026, 1, 1)).value == Decimal("200")
        assert LIMIT.at(date(2026, 1, 1)) is LIMIT.at(date(2026, 1, 1))
        with pytest.raises(PolicyGapError):  # a gap is never kept
            LIMIT.at(date(2027, 1, 1))
        with pytest.raises(PolicyGapError):
            LIMIT.at(date(2024, 12, 31))


def test_a_new_value_starts_afresh() -> None:
    day = date(2026, 6, 1)
    assert LIMIT.at(day).value == Decimal("200")
    changed = replace(
        LIMIT, periods=(Period(date(2025, 1, 1), None, Decimal("300"), "[set] changed"),)
    )
    assert changed.at(day).value == Decimal("300")
    assert LIMIT.at(day).value == Decimal("200")


def test_a_decision_table_is_read_by_its_rows_every_time() -> None:
    start = date(2026, 1, 1)
    rows = Dated(
        "f.yaml",
        "outpatient.rate",
        (
            Period(start, None, Decimal("0.5"), "[set] local", Conditions((("place", frozenset({"local"})),))),
            Period(start, None, Decimal("0"), "[set] away", Conditions((("place", frozenset({"unfiled"})),))),
        ),
    )  # fmt: skip
    day = date(2026, 3, 1)
    assert rows.at(day, Facts(place="local")).value == Decimal("0.5")
    assert rows.at(day, Facts(place="unfiled")).value == Decimal("0")
    assert rows.at(day, Facts(place="local")).value == Decimal("0.5")
