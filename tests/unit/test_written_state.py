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
