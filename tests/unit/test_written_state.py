"""The counter keeps the accumulators it wrote by the text it wrote (counter_pg
written_state): reading that text back gives the object, once; accumulators whose text
would not parse back to the same object (counters out of to_dict's order, the later
rules' counters) are not kept, and every text still reads as parsing it reads."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

import orjson

from yibao.adapters.db import counter_pg
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
