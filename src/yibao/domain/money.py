"""Money is Decimal yuan, never float. The only place that rounds.

The reference rounds each payment to 0.01 half-up once, at the end of each layer of
each encounter; intermediate values (eligible cost of a class B line, a slice of a
segment) stay exact so that rounding happens exactly once.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from functools import lru_cache

ZERO = Decimal("0")
ONE = Decimal("1")
FEN = Decimal("0.01")
THOUSAND = Decimal(1000)
HUNDRED = Decimal(100)

# Rounding to the fen through a context of its own: Decimal.quantize(FEN, ROUND_HALF_UP)
# parses its arguments as keywords, half of its cost (some 400 instructions, 40 times a
# bill); the context's quantize takes two positional ones. Context() has the default
# context's precision and traps (which the thread's context, a copy of it, has: no code
# changes either), so the same amounts round alike and the same ones raise.
_HALF_UP = Context(rounding=ROUND_HALF_UP)
_quantize = _HALF_UP.quantize
# round_fen without its call, for the engine's lines that every bill runs:
# `quantize(amount, FEN)` is round_fen(amount).
quantize = _quantize


class AmountError(ValueError):
    """A text that is not an exact, non-negative yuan amount with at most two decimals."""


def round_fen(amount: Decimal) -> Decimal:
    """Round to the fen, half-up: the single rounding rule of the reference."""
    return _quantize(amount, FEN)


def parse_decimal(raw: object, *, max_places: int | None = None) -> Decimal:
    """Parse an exact decimal from text or an int; refuse floats, exponents, NaN and bools.

    Floats are refused because a float has already lost the exact value the writer meant.
    """
    if isinstance(raw, bool | float):
        raise AmountError(f"{raw!r} is not an exact decimal; write it as a quoted string")
    if isinstance(raw, Decimal | int):
        text = str(raw)
    elif isinstance(raw, str):
        text = raw.strip()
    else:
        raise AmountError(f"{raw!r} is not a decimal amount")
    if not text or any(c not in "0123456789.-" for c in text) or text.count(".") > 1:
        raise AmountError(f"{raw!r} is not a decimal amount")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise AmountError(f"{raw!r} is not a decimal amount") from exc
    if max_places is not None:
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)  # finite by the character check above
        if -exponent > max_places:
            raise AmountError(f"{raw!r} has more than {max_places} decimal places")
    return value


def parse_amount(raw: object) -> Decimal:
    """A bill or parameter amount: exact yuan, at most two decimals, not negative."""
    value = parse_decimal(raw, max_places=2)
    if value < 0:
        raise AmountError(f"{raw!r} is negative")
    return value


_ZERO_TEXT = "0.00"  # fmt(ZERO)


def fmt(amount: Decimal) -> str:
    """Two decimals, half-up, as the scenario format shows amounts ("30500.00")."""
    # An amount to the fen shows as str() shows it (exponent -2: never scientific), and
    # str() costs less than a format spec: every answer shows some twenty amounts, a
    # few of them the engine's ZERO itself (no part of that kind): its text, kept.
    if amount is ZERO:
        return _ZERO_TEXT
    return str(_quantize(amount, FEN))


def fmt_yuan(amount: Decimal) -> str:
    """Thousands separators for people ("30,500.00")."""
    # Made each time: a bill's amounts are new Decimals, whose hash (a power modulo a
    # prime, some 3,800 instructions the first time) cost a cache of the texts by amount
    # more than the text itself costs to make. One function, not two: every step's words
    # call it twice, and a call costs as much as the quantize. Most amounts shown are to
    # the fen and under a thousand ("ddd.dd", "-dd.dd": a point third from the end, at
    # most six characters): such an amount's text is what it shows, without the two
    # comparisons with a thousand (each costs as much as the quantize).
    if amount is ZERO:  # the engine's own zero (no part of that kind): its text, kept
        return _ZERO_TEXT
    text = str(amount)
    if len(text) < 7 and text[-3:-2] == ".":
        return text
    shown = _quantize(amount, FEN)
    if -THOUSAND < shown < THOUSAND:  # no separator: as fmt, without the format spec's cost
        return str(shown)
    return f"{shown:,.2f}"


def fmt_policy_yuan(amount: Decimal) -> str:
    """fmt_yuan of a policy's amount (a threshold, a limit): a few long-lived Decimals,
    whose texts are kept by amount, as fmt_rate keeps rates' (a threshold of 2,000 took
    the format spec's way every bill). Equal amounts show alike, but zero its sign."""
    return _kept_yuan(amount) if amount else fmt_yuan(amount)


@lru_cache(maxsize=10_000)  # amounts from policies: never an unbounded memory
def _kept_yuan(amount: Decimal) -> str:
    return fmt_yuan(amount)


def fmt_rate(rate: Decimal) -> str:
    """A share as a percentage without noise ("70%", "12.5%")."""
    # A region has a few rates, and every bill shows one or two: each one's text is kept.
    # Equal rates but zero show alike (normalize() drops the exponent); zero shows its
    # sign, as _rate shows it (every class A line's first self-pay ratio is a zero).
    if rate:
        return _kept_rate(rate)
    return "-0%" if rate.is_signed() else "0%"


@lru_cache(maxsize=10_000)  # rates come from policies: never an unbounded memory
def _kept_rate(rate: Decimal) -> str:
    return _rate(rate)


def _rate(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def fmt_points(rate: Decimal) -> str:
    """A rate reduction in percentage points ("10 points")."""
    return f"{(rate * 100).normalize():f} points"


def to_fen(amount: Decimal) -> int:
    """Exact yuan (at most two decimals) to integer fen, as the database stores money."""
    if not amount:  # zero (of any exponent or sign): a bill's split holds several
        return 0
    fen = amount * HUNDRED  # a Decimal: `* 100` made one of the int each time
    try:
        whole = int(fen)  # an int compared with the Decimal: cheaper than to_integral_value
    except (ValueError, OverflowError):  # NaN, infinity
        raise AmountError(f"{amount} is not an amount") from None
    if whole != fen:
        raise AmountError(f"{amount} is finer than the fen")
    return whole


def from_fen(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)
