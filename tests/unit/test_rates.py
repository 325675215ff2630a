"""Rates made of a policy's rates (parameters.points_off, points_on, rest_of) are kept:
the same operands give the very same Decimal, and other operands, even equal ones of
another exponent, give what the arithmetic gives them, never a kept one of another."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.domain.money import ONE, ZERO
from yibao.domain.parameters import points_off, points_on, rest_of

shares = st.decimals(min_value=0, max_value=1, places=3).map(lambda d: d.normalize())


@given(shares, shares)
def test_kept_rates_are_the_arithmetics(rate: Decimal, points: Decimal) -> None:
    for _ in range(2):  # made, then kept
        lowered, raised = points_off(rate, points), points_on(rate, points)
        assert str(lowered) == str(max(rate - points, ZERO))
        assert str(raised) == str(min(rate + points, ONE))
        assert str(rest_of(rate)) == str(ONE - rate)


def test_the_same_operands_are_handed_the_same_object() -> None:
    rate, points = Decimal("0.70"), Decimal("0.10")
    assert points_off(rate, points) is points_off(rate, points)
    assert points_on(rate, points) is points_on(rate, points)
    assert rest_of(rate) is rest_of(rate)


@pytest.mark.parametrize(("first", "then"), [("0.7", "0.700"), ("0.700", "0.7")])
def test_an_equal_rate_of_another_exponent_is_worked_out_again(first: str, then: str) -> None:
    # Equal as values, one key: the kept result of the one is not the other's (its
    # exponent differs, and so would every amount made with it).
    points = Decimal("0.00")
    assert str(points_off(Decimal(first), points)) == str(Decimal(first) - points)
    assert str(points_off(Decimal(then), points)) == str(Decimal(then) - points)
    assert str(points_on(Decimal(then), points)) == str(Decimal(then) + points)
    assert str(rest_of(Decimal(first))) == str(ONE - Decimal(first))
    assert str(rest_of(Decimal(then))) == str(ONE - Decimal(then))
