from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.domain.money import (
    AmountError,
    fmt,
    fmt_policy_yuan,
    fmt_rate,
    fmt_yuan,
    parse_amount,
    round_fen,
    to_fen,
)


@pytest.mark.parametrize(
    ("raw", "want"),
    [("30500.00", "30500.00"), ("0.5", "0.5"), (12, "12"), (Decimal("1.10"), "1.10"), (" 7 ", "7")],
)
def test_exact_amounts_parse(raw: object, want: str) -> None:
    assert parse_amount(raw) == Decimal(want)


@pytest.mark.parametrize(
    "raw", [0.1, True, "abc", "1e5", "NaN", "Infinity", "1.2.3", "12.345", "-1", "", None]
)
def test_anything_inexact_or_malformed_is_refused(raw: object) -> None:
    with pytest.raises(AmountError):
        parse_amount(raw)


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("0.005", "0.01"),
        ("0.015", "0.02"),
        ("0.0049", "0.00"),
        ("30.015", "30.02"),
        ("28000.008", "28000.01"),
    ],
)
def test_rounding_is_half_up_to_the_fen(value: str, want: str) -> None:
    assert round_fen(Decimal(value)) == Decimal(want)


def test_display_formats() -> None:
    assert fmt(Decimal("30500")) == "30500.00"
    assert fmt_rate(Decimal("0.70")) == "70%"
    assert fmt_rate(Decimal("0.125")) == "12.5%"


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12))
def test_amounts_show_as_the_format_spec_shows_them_rounded_half_up(amount: Decimal) -> None:
    # fmt and fmt_yuan take shortcuts past Decimal's format spec (for speed): the text
    # must be the spec's, to the character, negative zero and the thousands included.
    rounded = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert fmt(amount) == f"{rounded:.2f}"
    assert fmt_yuan(amount) == f"{rounded:,.2f}"


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12))
def test_fen_are_the_amounts_exact_hundredths(amount: Decimal) -> None:
    # to_fen reads an amount to the fen from its text: the same int as the arithmetic,
    # whatever the exponent, and a refusal for an amount finer than the fen.
    hundredths = amount * 100
    if hundredths == int(hundredths):
        assert to_fen(amount) == int(hundredths)
    else:
        with pytest.raises(AmountError):
            to_fen(amount)


@pytest.mark.parametrize(
    ("text", "fen"),
    [("12.34", 1234), ("-0.50", -50), ("-0.00", 0), ("0E-7", 0), ("7", 700), ("1.5", 150),
     ("2.500", 250), ("1E+3", 100000), ("0.05", 5)],
)  # fmt: skip
def test_fen_of_every_shape(text: str, fen: int) -> None:
    assert to_fen(Decimal(text)) == fen


@pytest.mark.parametrize("text", ["NaN", "Infinity", "0.001", "1.234"])
def test_no_fen_of_what_is_not_an_amount_to_the_fen(text: str) -> None:
    with pytest.raises(AmountError):
        to_fen(Decimal(text))


@pytest.mark.parametrize(
    ("text", "shown", "yuan"),
    [("1234.5", "1234.50", "1,234.50"), ("-999.995", "-1000.00", "-1,000.00"),
     ("-999.99", "-999.99", "-999.99"), ("-0.001", "-0.00", "-0.00"), ("0", "0.00", "0.00"),
     ("1E+3", "1000.00", "1,000.00"), ("1234567.89", "1234567.89", "1,234,567.89")],
)  # fmt: skip
def test_texts_at_the_edges(text: str, shown: str, yuan: str) -> None:
    assert fmt(Decimal(text)) == shown
    assert fmt_yuan(Decimal(text)) == yuan


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-2, max_value=2, places=4))
def test_rates_show_as_their_normal_form(rate: Decimal) -> None:
    # Kept texts (by rate) and zero's shortcut (by its sign) show what the format made.
    for shown in (rate, rate.quantize(Decimal("0.0001")), -rate):
        assert fmt_rate(shown) == f"{(shown * 100).normalize():f}%"


@pytest.mark.parametrize(
    ("text", "shown"), [("0", "0%"), ("0.00", "0%"), ("-0", "-0%"), ("0E+3", "0%")]
)
def test_a_zero_rate_shows_its_sign(text: str, shown: str) -> None:
    assert fmt_rate(Decimal(text)) == shown


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**9), max_value=10**9))
def test_a_policy_amounts_kept_text_is_fmt_yuans(amount: Decimal) -> None:
    # Kept by amount: an equal amount of another exponent, or zero of either sign, shows
    # what fmt_yuan shows it, never the text kept for another.
    for shown in (amount, amount.quantize(Decimal("0.001")), -amount, amount * 0, -(amount * 0)):
        assert fmt_policy_yuan(shown) == fmt_yuan(shown)
