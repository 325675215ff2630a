"""The year's accumulators: read back exactly as stored, and changed in place while a
bill is settled (a Draft) with the same outcome as frozen copies, never the caller's."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given

from strategies import YEAR, years
from yibao.adapters.parameter_files import load_region
from yibao.domain.accumulators import Draft, YearAccumulators, done
from yibao.domain.engine import settle_encounter
from yibao.domain.model import Encounter, Person
from yibao.domain.money import ZERO


def test_stored_amounts_read_back_with_their_exponents() -> None:
    stored = {
        "year": 2026,
        "pooled_cost": "0",
        "inpatient_fund_paid": "0.00",
        "outpatient_fund_paid": "120.50",
        "thresholds": {"outpatient": "300.00", "special_outpatient:dialysis": "0"},
        "personal_on_eligible": "180.125",
        "personal": "0E-7",
        "stays": {"2026/1": [3, "800.00"]},
        "si_groups": {"tumour": "12.3456"},
    }
    acc = YearAccumulators.from_dict(stored)
    assert acc.to_dict() == {**stored, "stays": {"2026/1": [3, "800.00"]}}
    assert str(acc.inpatient_fund_paid) == "0.00"  # not the ZERO that "0" reads as
    assert acc.pooled_cost is ZERO
    assert acc == YearAccumulators(
        2026,
        pooled_cost=Decimal(0),
        inpatient_fund_paid=Decimal("0.00"),
        outpatient_fund_paid=Decimal("120.50"),
        thresholds={"outpatient": Decimal("300.00"), "special_outpatient:dialysis": ZERO},
        personal_on_eligible=Decimal("180.125"),
        personal=Decimal("0E-7"),
        stays={"2026/1": (3, Decimal("800.00"))},
        si_groups={"tumour": Decimal("12.3456")},
    )
    with pytest.raises(TypeError):  # read-only, as every counter of a stored year
        acc.thresholds["outpatient"] = ZERO  # type: ignore[index]


def test_a_draft_changes_in_place_and_done_makes_it_a_frozen_value() -> None:
    acc = YearAccumulators(2026, personal=Decimal("5"))
    draft = acc.draft()
    assert type(draft) is Draft
    changed = draft.with_threshold("outpatient", Decimal("10")).but(personal=Decimal("7"))
    assert changed is draft
    assert acc == YearAccumulators(2026, personal=Decimal("5"))  # the original untouched
    after = done(changed)
    assert type(after) is YearAccumulators
    assert after == YearAccumulators(
        2026, personal=Decimal("7"), thresholds={"outpatient": Decimal("10")}
    )
    copy = after.but(personal=Decimal("9"))  # copies again, as any frozen value
    assert copy is not after
    assert after.personal == Decimal("7")
    assert done(acc) is acc


def test_a_change_names_fields_only_draft_or_frozen() -> None:
    acc = YearAccumulators(2026)
    with pytest.raises(AssertionError):
        acc.but(personel=Decimal("7"))
    with pytest.raises(AssertionError):
        acc.draft().but(personal=Decimal("7"), personel=Decimal("7"))


def _frozen_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    """settle_encounter as it was before drafts: every change a frozen copy."""
    monkeypatch.setattr(YearAccumulators, "draft", lambda self: self)


def _year(region: str, person: Person, bills: list[Encounter]) -> list[tuple[Any, ...]]:
    policy = load_region(region)
    acc = YearAccumulators(year=YEAR)
    out = []
    for bill in bills:
        before = acc.to_dict()
        result, after = settle_encounter(policy, person, bill, acc)
        assert acc.to_dict() == before  # the accumulators handed in are never changed
        assert type(after) is YearAccumulators
        out.append((result, after, json.dumps(after.to_dict())))
        acc = after
    return out


@given(years())
def test_drafts_settle_every_bill_as_frozen_copies_do(case: tuple[str, Person, list[Any]]) -> None:
    region, person, bills = case
    with pytest.MonkeyPatch.context() as monkeypatch:
        _frozen_copies(monkeypatch)
        frozen = _year(region, person, bills)
    assert _year(region, person, bills) == frozen
