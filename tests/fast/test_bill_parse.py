"""A settlement's body is read without the check of each text when it is plain (printable
ASCII, nothing escaped: routers/settlements.py parse_bill), and with it otherwise: either
way the same bill, and the same errors, as BillIn reads it. A line's quantity and price
written as plain decimals are read without parse_decimal's checks: the same values."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.domain.money import parse_decimal
from yibao.entrypoints.api import schemas
from yibao.entrypoints.api.deps import parse_body
from yibao.entrypoints.api.routers.settlements import parse_bill
from yibao.entrypoints.api.schemas import MAX_QUANTITY, BillFields, BillIn

LINE = {"code": "A-0001", "quantity": "1", "unit_price": "12.50"}
BILL: dict[str, Any] = {
    "card_number": "SC0000000001",
    "kind": "outpatient",
    "date": "2026-03-02",
    "diagnosis": "J06.9",
    "lines": [LINE],
}


def read(parse: Any, raw: bytes) -> Any:
    """The bill read (as the service's Bill), or the errors of its refusal."""
    try:
        return parse(raw).to_bill("H1")
    except RequestValidationError as exc:  # its context's error by its words (repr)
        return json.loads(json.dumps(exc.errors(), default=repr))


def same(raw: bytes) -> Any:
    found = read(parse_bill, raw)
    assert found == read(lambda r: parse_body(r, BillIn), raw)
    return found


def body(**changed: Any) -> bytes:
    return json.dumps({**BILL, **changed}, separators=(",", ":")).encode()


def test_a_plain_body_is_read_without_the_text_check_and_others_with_it() -> None:
    assert type(parse_bill(body())) is BillFields
    assert type(parse_bill(body(diagnosis="\u80ba\u708e"))) is BillIn  # not ASCII
    assert type(parse_bill(json.dumps(BILL, indent=1).encode())) is BillIn  # newlines
    assert type(parse_bill(body(diagnosis="J06\\9"))) is BillIn  # an escape


@pytest.mark.parametrize(
    "raw",
    [
        body(),
        body(lines=[LINE, {**LINE, "quantity": "2.5", "unit_price": "0.123456"}]),
        body(diagnosis="\u80ba\u708e"),
        json.dumps(BILL, indent=2).encode(),
        body(card_number=None, voucher="v1"),
        body(kind="inpatient", delivery="natural", cause="accident", referred_from=3),
    ],
    ids=["plain", "two lines", "not ascii", "indented", "voucher", "inpatient"],
)
def test_a_bill_is_the_same_bill(raw: bytes) -> None:
    assert not isinstance(same(raw), list)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{card",
        b"[]",
        body(extra=1),
        body(kind="dental"),
        body(date="2026-02-30"),
        body(lines=[]),
        body(lines=[{**LINE, "quantity": "1.23456"}]),
        body(lines=[{**LINE, "quantity": "0"}]),
        body(lines=[{**LINE, "unit_price": "-1"}]),
        body(lines=[{**LINE, "code": "x" * 65}]),
        body(lines=[{**LINE, "code": "A\u202e1"}]),
        body(lines=[{**LINE, "code": "A\x001"}]),
        body(diagnosis="J06.9\u200f"),
        body(diagnosis="\ud800"),
        body(voucher="v1"),
        body(card_number=None),
        body(lines=[{**LINE, "extra": "x"}]),
        body(card_number="SC\u202e1", extra=1),
        b'{"card_number":"SC1","kind":"outpatient","date":"2026-03-02","lines":[{"code":"A\\u00001"}]}',
    ],
)
def test_a_refused_body_is_refused_in_the_same_words(raw: bytes) -> None:
    found = same(raw)
    assert isinstance(found, list)
    assert found


TEXT = st.text(st.characters(codec="utf-8"), max_size=8) | st.sampled_from(
    ["", "A-0001", "1", "12.50", "\u202e", "\x1f", "\ufeff", "\u061c", "a\\b", '"']
)


@settings(max_examples=300, deadline=None)
@given(
    card=TEXT,
    code=TEXT,
    quantity=TEXT,
    price=TEXT,
    diagnosis=TEXT | st.none(),
    extra=st.none() | st.tuples(TEXT, TEXT),
)
def test_any_body_reads_as_billin_reads_it(
    card: str,
    code: str,
    quantity: str,
    price: str,
    diagnosis: str | None,
    extra: tuple[str, str] | None,
) -> None:
    line = {"code": code, "quantity": quantity, "unit_price": price}
    data: dict[str, Any] = {**BILL, "card_number": card, "diagnosis": diagnosis, "lines": [line]}
    if extra is not None:
        data[extra[0]] = extra[1]
    for ascii_only in (True, False):
        same(json.dumps(data, ensure_ascii=ascii_only, separators=(",", ":")).encode())


def as_before(check: Any, raw: object) -> Any:
    """The value (with its exponent) or the error's words."""
    try:
        value = check(raw)
    except ValueError as exc:
        return type(exc).__name__, str(exc)
    return str(value), value.as_tuple()


def quantity_before(raw: object) -> Decimal:
    """schemas._quantity as it was: parse_decimal for every value."""
    value = parse_decimal(str(raw) if isinstance(raw, float) else raw, max_places=4)
    if not 0 < value <= MAX_QUANTITY:
        raise ValueError(f"a quantity must be above 0 and at most {MAX_QUANTITY:,}")
    return value


def price_before(raw: object) -> Decimal:
    """schemas._price as it was."""
    value = parse_decimal(repr(raw) if isinstance(raw, float) else raw, max_places=6)
    if value < 0:
        raise ValueError(f"{raw!r} is negative")
    return value


EDGES = ["1", "12.50", "0", "0.0001", "0.00001", "1000000", "1000000.0001", "007.10", "1."]
EDGES += [".5", "1.123456", "1.1234567", "0.000001", "0.0000001", "-1", " 1", "1e2", "\u0661"]
DECIMALS = st.text(st.sampled_from("0123456789.-+ e\u0665"), max_size=12) | st.sampled_from(EDGES)


@settings(max_examples=500, deadline=None)
@given(raw=DECIMALS | st.integers(-5, 2_000_000) | st.floats(allow_nan=False))
def test_a_quantity_and_a_price_read_as_parse_decimal_reads_them(raw: object) -> None:
    assert as_before(schemas._quantity, raw) == as_before(quantity_before, raw)
    assert as_before(schemas._price, raw) == as_before(price_before, raw)
