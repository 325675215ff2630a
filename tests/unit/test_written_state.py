"""The counter keeps the accumulators it wrote by the text it wrote (counter_pg
written_state): reading that text back gives the object, once; accumulators whose text
would not parse back to the same object (counters out of to_dict's order, the later
rules' counters) are not kept, and every text still reads as parsing it reads."""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from types import MappingProxyType

import orjson
import pytest

from yibao.adapters.db import counter_pg, written_years
from yibao.adapters.db.ledger_repo import year_state
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.money import ZERO


def _parsed(state: str) -> YearAccumulators:
    return YearAccumulators.from_dict(orjson.loads(state))


def test_the_written_year_is_read_back_as_the_object_once() -> None:
    acc = YearAccumulators(
        year=2026,
        outpatient_fund_paid=Decimal("120.50"),
        thresholds=MappingProxyType({"outpatient": Decimal("200.00")}),
        personal=Decimal("80.125"),
    )
    state = counter_pg.written_state(acc)
    assert state == year_state(acc)
    assert counter_pg._year_of(state) is acc
    again = counter_pg._year_of(state)  # taken once: the text is parsed now
    assert again is not acc
    assert again == acc == _parsed(state)


def test_years_whose_text_parses_otherwise_are_not_kept() -> None:
    unsorted = YearAccumulators(
        year=2026,
        thresholds=MappingProxyType({"special_outpatient:d1": Decimal("1"), "outpatient": ZERO}),
    )
    caused = YearAccumulators(year=2026, cause_paid=MappingProxyType({"accident": Decimal("5")}))
    for acc in (unsorted, caused):
        state = counter_pg.written_state(acc)
        read = counter_pg._year_of(state)
        assert read is not acc
        assert read == _parsed(state)
        assert list(read.thresholds) == sorted(read.thresholds)


def test_the_oldest_kept_year_is_dropped_one_for_one_beyond_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not emptied when full: what one bill keeps beyond the bound, the oldest frees, so
    that the collector never finds a pile of untaken years (another worker settled the
    person-year's next bill) growing to the bound."""
    monkeypatch.setattr(written_years, "_WRITTEN", {})
    monkeypatch.setattr(written_years, "_WRITTEN_ORDER", deque())
    monkeypatch.setattr(written_years, "_WRITTEN_AT_MOST", 3)
    years = [YearAccumulators(year=2026, personal=Decimal(n)) for n in range(6)]
    states = [counter_pg.written_state(acc) for acc in years[:3]]
    assert counter_pg._year_of(states[1]) is years[1]  # taken: one fewer kept
    for acc in years[3:]:
        states.append(counter_pg.written_state(acc))
        assert len(written_years._WRITTEN) <= 3
    assert list(written_years._WRITTEN) == states[3:]  # the newest, the oldest dropped
    assert counter_pg._year_of(states[5]) is years[5]
    assert counter_pg._year_of(states[0]) is not years[0]  # dropped: parsed again
    assert counter_pg._year_of(states[0]) == years[0]


def test_the_state_is_the_text_orjson_makes_of_to_dict() -> None:
    """year_state writes most years' text itself: the same text as orjson's of to_dict()."""
    amounts = [ZERO, Decimal("0"), Decimal("0.00"), Decimal("-0.00"), Decimal("12.5"),
               Decimal("120.50"), Decimal("80.125000"), Decimal("1E+3"), Decimal("-3.10"),
               Decimal("1234567.891"), Decimal("5E-7")]  # fmt: skip
    names = [
        "outpatient",
        "special_outpatient:透析",
        'a "quoted" \\ name',
        "tab\there",
        "inpatient",
    ]
    counters: list[dict[str, Decimal]] = [{}]
    counters += [{name: amount} for name in names for amount in amounts[:4]]
    counters += [{"outpatient": Decimal("1"), "inpatient": Decimal("2")}]
    for n, amount in enumerate(amounts):
        for these in counters:
            acc = YearAccumulators(
                year=2026 + n % 2,
                pooled_cost=amount,
                inpatient_fund_paid=amounts[(n + 1) % len(amounts)],
                outpatient_fund_paid=amounts[(n + 2) % len(amounts)],
                thresholds=MappingProxyType(these),
                personal_on_eligible=amounts[(n + 3) % len(amounts)],
                personal=amounts[(n + 4) % len(amounts)],
            )
            assert year_state(acc) == orjson.dumps(acc.to_dict()).decode()
    later = YearAccumulators(year=2026, si_groups=MappingProxyType({"g": Decimal("1")}))
    assert year_state(later) == orjson.dumps(later.to_dict()).decode()
