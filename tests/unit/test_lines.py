"""The catalogue step (reference §1a): each line's parts, their explanation citing the
catalogue entry, the input checks, and scenario lines as real catalogue items."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.adapters.parameter_files import load_region
from yibao.adapters.scenario_files import ScenarioError, parse_scenario
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.engine import InputError, settle_encounter
from yibao.domain.model import Encounter, Hospital, Kind, Line, LineClass, Person, Scheme
from yibao.domain.money import round_fen
from yibao.domain.parameters import Ref, Text

POLICY = load_region("sample-city")
DAY = date(2026, 3, 2)
CHILD = Person("P1", date(2014, 6, 1), Scheme.STUDENT, "sample-city")
ENTRY = Ref(
    "西药中成药目录", "XJ01DDA006I001010152252", date(2026, 1, 1), "[catalogue] 注射用头孢曲松钠"
)


def settle(*lines: Line, kind: Kind = Kind.OUTPATIENT, designated: bool = True) -> object:
    enc = Encounter("E1", DAY, kind, Hospital("H3", 3, designated), tuple(lines), diagnosis="K35.8")
    result, _ = settle_encounter(POLICY, CHILD, enc, YearAccumulators(year=2026))
    return result


def test_a_capped_item_splits_into_its_four_parts() -> None:
    line = Line.item(LineClass.B, Decimal("3"), Decimal("12.00"), cap=Decimal("10.00"))
    result = settle(line)
    (parts,) = result.lines  # type: ignore[attr-defined]
    assert (parts.amount, parts.over_limit, parts.full_self_pay) == (
        Decimal("36.00"),
        Decimal("6.00"),
        Decimal("0"),
    )
    assert (parts.first_self_pay, parts.eligible, parts.ratio) == (
        Decimal("3.0000"),
        Decimal("27.0000"),
        Decimal("0.10"),
    )
    assert result.eligible == Decimal("27.0000")  # type: ignore[attr-defined]


@given(
    quantity=st.decimals(min_value=0, max_value=1000, places=3),
    price=st.decimals(min_value=0, max_value=5000, places=4),
    cap=st.none() | st.decimals(min_value=0, max_value=5000, places=2),
    ratio=st.none() | st.decimals(min_value=0, max_value=1, places=2),
    cls=st.sampled_from(list(LineClass)),
    outside=st.booleans(),
)
def test_every_line_conserves_its_amount_exactly(
    quantity: Decimal,
    price: Decimal,
    cap: Decimal | None,
    ratio: Decimal | None,
    cls: LineClass,
    outside: bool,
) -> None:
    line = Line.item(cls, quantity, price, cap=cap, ratio=ratio, outside_restriction=outside)
    for designated in (True, False):
        (p,) = settle(line, designated=designated).lines  # type: ignore[attr-defined]
        assert p.amount == round_fen(quantity * price)
        assert p.over_limit + p.full_self_pay + p.first_self_pay + p.eligible == p.amount
        assert p.over_limit == round_fen(p.over_limit)
        assert p.over_limit >= 0
        want_over = round_fen((price - cap) * quantity) if cap is not None and price > cap else 0
        assert p.over_limit == want_over
        if outside or cls is LineClass.SELF_PAY or not designated:
            assert p.eligible == 0
            assert p.first_self_pay == 0


def test_each_part_of_an_item_is_explained_citing_its_catalogue_entry() -> None:
    capped = Line.item(
        LineClass.B,
        Decimal("2"),
        Decimal("210.50"),
        code=ENTRY.key,
        name="注射用头孢曲松钠",
        cap=Decimal("200.00"),
        entry=ENTRY,
    )
    restricted = Line.item(
        LineClass.A,
        Decimal("1"),
        Decimal("80.00"),
        code="C1",
        outside_restriction=True,
        restriction=Text(zh="限18岁以下", en="children under 18 only"),
        entry=ENTRY,
    )
    steps = settle(capped, restricted).steps  # type: ignore[attr-defined]
    by_rule = {s.rule: s for s in steps}
    over = by_rule["line_over_limit"]
    assert (over.result, over.ref) == (Decimal("21.00"), ENTRY)
    assert "(210.50 − 200.00) × 2 = 21.00" in over.text("en")
    assert "超限价自费" in over.text("zh")
    assert "注射用头孢曲松钠" in over.text("zh")
    # The English sentence names the item as the receipt does, its code beside the name.
    assert over.text("en").startswith(f"Line 1 注射用头孢曲松钠 ({ENTRY.key}): unit price")
    first = by_rule["line_first_self_pay"]
    assert (first.result, first.value, first.ref) == (Decimal("360.0000"), "10%", ENTRY)
    assert "the region's default" in first.text("en")
    outside = by_rule["line_restricted"]
    assert outside.result == Decimal("80.00")
    assert "children under 18 only" in outside.text("en")
    assert "限18岁以下" in outside.text("zh")
    assert all(s.to_dict()["text"]["zh"] for s in steps)


def test_plain_lines_are_still_explained_by_class() -> None:
    steps = settle(Line(LineClass.A, Decimal("10")), Line(LineClass.B, Decimal("10"))).steps  # type: ignore[attr-defined]
    assert [s.rule for s in steps][:2] == ["eligible_share", "eligible_share"]
    assert not any(s.rule.startswith("line_") for s in steps)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (Line(LineClass.A, Decimal("10"), cap=Decimal("5")), "price cap needs"),
        (Line(LineClass.B, Decimal("10"), ratio=Decimal("1.5")), "not between 0 and 1"),
        (Line(LineClass.A, Decimal("10"), quantity=Decimal("2")), "needs a unit price"),
        (
            Line(LineClass.A, Decimal("10"), quantity=Decimal("2"), unit_price=Decimal("4")),
            "not quantity × unit price",
        ),
        (Line.item(LineClass.A, Decimal("1"), Decimal("4"), cap=Decimal("-1")), "cap is negative"),
    ],
)
def test_a_line_the_engine_cannot_take_is_an_input_error_naming_it(line: Line, words: str) -> None:
    with pytest.raises(InputError, match=f"encounter E1 line 1: .*{words}"):
        settle(line)


def scenario(line: dict[str, object]) -> dict[str, object]:
    return {
        "region": "sample-city",
        "year": 2026,
        "person": {"id": "P1", "birth_date": "2014-06-01", "scheme": "student"},
        "encounters": [
            {
                "id": "E1",
                "date": "2026-03-02",
                "kind": "outpatient",
                "hospital": {"id": "H3", "level": 3},
                "lines": [line],
            }
        ],
    }


def test_a_scenario_line_may_be_a_catalogue_item() -> None:
    item = {"class": "B", "quantity": "3", "unit_price": "3.335", "cap": "3.30", "ratio": "0.15"}
    (enc,) = parse_scenario(scenario(item), "s.yaml").encounters
    (line,) = enc.lines
    assert (line.amount, line.quantity, line.unit_price) == (
        Decimal("10.01"),
        Decimal("3"),
        Decimal("3.335"),
    )
    assert (line.cap, line.ratio, line.outside_restriction) == (
        Decimal("3.30"),
        Decimal("0.15"),
        False,
    )


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ({"class": "A", "amount": "1.00", "quantity": "1", "unit_price": "1"}, "not both"),
        ({"class": "A", "quantity": "1"}, "give an amount, or a quantity and a unit_price"),
        ({"class": "A", "amount": "1.00", "cap": "1.00"}, "a cap needs"),
        ({"class": "B", "quantity": "1", "unit_price": "1", "ratio": "1.2"}, "between 0 and 1"),
        ({"class": "B", "quantity": "1", "unit_price": "-1"}, "negative"),
        (
            {"class": "B", "quantity": "1", "unit_price": "1", "outside_restriction": "yes"},
            "true or false",
        ),
    ],
)
def test_a_bad_scenario_line_names_the_file_and_place(line: dict[str, object], words: str) -> None:
    with pytest.raises(ScenarioError, match=rf"s.yaml: encounters\[0\].lines\[0\].*{words}"):
        parse_scenario(scenario(line), "s.yaml")
