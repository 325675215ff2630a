"""A billed line under its catalogue entry (domain/catalogue.line_for) and what is kept so
that a bill does not make it again: the line made with its fields in order is the line
Line.item makes; a base item's entry is one object for the item (catalogue_repo.
base_entry) and an entry's citation is kept on it, each made anew from its source when
that changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.adapters.db.catalogue_repo import base_entry
from yibao.domain.catalogue import Entry, Restriction, Visit, line_for, outside
from yibao.domain.engine import EncounterResult
from yibao.domain.engine.results import LineResult
from yibao.domain.model import Kind, Line, LineClass
from yibao.domain.money import ZERO, fmt, round_fen, to_fen
from yibao.domain.registry import CatalogueItem
from yibao.service.catalogue_lines import PLAIN, Billed, _row, line_views, with_parts

_amounts = st.decimals(min_value=0, max_value=10_000, places=4)
_restrictions = st.sampled_from(
    [Restriction(), Restriction(min_age=18), Restriction(sex="F"), Restriction(min_level=3)]
)


@given(
    cls=st.sampled_from(list(LineClass)),
    quantity=_amounts,
    price=_amounts,
    cap=st.none() | _amounts,
    ratio=st.none() | st.decimals(min_value=0, max_value=1, places=2),
    restriction=_restrictions,
    level=st.integers(0, 3),
    kind=st.sampled_from(list(Kind)),
    sex=st.sampled_from(["M", "F"]),
)
def test_a_line_is_the_line_line_item_makes(
    cls: LineClass,
    quantity: Decimal,
    price: Decimal,
    cap: Decimal | None,
    ratio: Decimal | None,
    restriction: Restriction,
    level: int,
    kind: Kind,
    sex: str,
) -> None:
    entry = Entry(
        "X01",
        "an item",
        cls,
        date(2026, 1, 1),
        caps={} if cap is None else {level: cap},
        ratios={} if ratio is None else {"employee": ratio},
        restriction=restriction,
    )
    visit = Visit(date(2026, 5, 1), kind, level, date(2000, 1, 1), sex, "employee")
    why = outside(restriction, visit)
    expected = Line.item(
        cls,
        quantity,
        price,
        code="N01",
        cap=entry.cap(level),
        ratio=entry.ratio("employee"),
        outside_restriction=why is not None,
        name=entry.name,
        entry=entry.ref,
        restriction=why,
    )
    assert line_for(entry, visit, quantity, price, "N01") == expected


def test_an_entry_keeps_its_citation_and_a_changed_entry_has_its_own() -> None:
    entry = Entry("X01", "an item", LineClass.A, date(2026, 1, 1), source="list 2026")
    assert entry.ref is entry.ref
    renamed = replace(entry, name="another item")
    assert renamed.ref != entry.ref
    assert "another item" in renamed.ref.source
    assert replace(entry).ref == entry.ref  # equal entries, equal citations
    assert renamed == replace(entry, name="another item")  # kept citations change no equality


def test_a_base_item_has_one_entry_and_another_item_its_own() -> None:
    item = CatalogueItem("X01", "an item", LineClass.A, Decimal("12.50"))
    entry = base_entry(item)
    assert base_entry(item) is entry
    assert entry.caps[2] == Decimal("12.50")
    assert entry.name == "an item"
    same = CatalogueItem("X01", "an item", LineClass.A, Decimal("12.50"))
    assert base_entry(same) == entry
    for n in range(100):  # items come and go: a new one never takes an old one's entry
        other = CatalogueItem(f"Y{n}", f"item {n}", LineClass.B, Decimal(n))
        found = base_entry(other)
        assert (found.code, found.name, found.cls) == (other.code, other.name, LineClass.B)
        assert found.caps.get(1) == Decimal(n)
        del other, found  # freed here (reference counting): its id free for the next


@pytest.mark.parametrize(
    "part", [ZERO, Decimal("0"), Decimal("0.00"), Decimal("-0"), Decimal("1.20"), Decimal("3")]
)
def test_a_lines_parts_are_shown_and_stored_as_fmt_and_to_fen_make_them(part: Decimal) -> None:
    """The engine's ZERO (most lines' over-limit and full self-pay parts) is shown without
    a call: any other zero, a negative one too, is shown as fmt shows it."""
    row = {"line_no": 1, "code": "X01", "name": "an item", "cls": "A", "quantity": "1"}
    row |= {"unit_price_fen": 120, "amount_fen": 120, "unit_price": "1.20"}
    parts = LineResult(Decimal("1.20"), part, part, Decimal("0.00"), Decimal("1.20"))
    result = cast(EncounterResult, SimpleNamespace(lines=(parts,)))
    [view] = line_views([row], result)
    assert view["over_limit"] == fmt(part)
    assert view["full_self_pay"] == fmt(part)
    [stored] = with_parts([row], result)
    assert stored["over_limit_fen"] == to_fen(part)
    assert stored["full_self_pay_fen"] == to_fen(part)


@pytest.mark.parametrize(
    ("price", "amount"),
    [("12.50", None), ("12.5", None), ("3", None), ("0.125", None), ("33.3333", "100.00")],
)
def test_a_lines_row_is_stored_with_its_parts_as_before(price: str, amount: str | None) -> None:
    """A resolved line's row has PLAIN's columns first (its fen of its texts, as to_fen
    makes them): with its parts, the row {**PLAIN, **row, parts} made, in the same order;
    a claim's amount of a class (none of PLAIN's columns) takes PLAIN's."""
    entry = Entry("X01", "an item", LineClass.B, date(2026, 1, 1), caps={2: Decimal("20")})
    visit = Visit(date(2026, 5, 1), Kind.OUTPATIENT, 2, date(2000, 1, 1), "F", "employee")
    billed = Billed("X01", Decimal(3), Decimal(price), None if amount is None else Decimal(amount))
    line = line_for(entry, visit, billed.quantity, billed.unit_price, "X01")
    row = _row(1, billed, entry, line)
    assert row["unit_price_fen"] == to_fen(round_fen(billed.unit_price))
    assert row["amount_fen"] == to_fen(line.amount)
    claim_row = {"code": None, "name": None, "cls": "A", "quantity": "1", "line_no": 2}
    claim_row |= {"unit_price_fen": 500, "amount_fen": 500}
    parts = LineResult(line.amount, Decimal("1.00"), ZERO, Decimal("0.3"), Decimal("2.70"))
    result = cast(EncounterResult, SimpleNamespace(lines=(parts, parts)))
    added = {
        "over_limit_fen": 100,
        "full_self_pay_fen": 0,
        "first_self_pay": "0.3",
        "eligible": "2.70",
    }
    before = [{**PLAIN, **r, **added} for r in (row, claim_row)]
    made = with_parts([row, claim_row], result)
    assert [list(m.items()) for m in made] == [list(b.items()) for b in before]
    assert made[0] is row  # resolve's row completed in place, the claim's copied
    assert made[1] is not claim_row
    assert "over_limit_fen" not in claim_row
