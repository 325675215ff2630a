"""A settlement's body is read without the check of each text when it is plain (printable
ASCII, nothing escaped: routers/settlements.py parse_bill), and with it otherwise: either
way the same bill, and the same errors, as BillIn reads it. A line's quantity and price
written as plain decimals are read without parse_decimal's checks: the same values. The
usual card bill is read by hand (plain_bill.card_bill): the same Bill as the model's, and
anything it does not take is the model's, so refused in the model's words."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.domain.money import parse_decimal
from yibao.entrypoints.api import schemas
from yibao.entrypoints.api.deps import parse_body
from yibao.entrypoints.api.plain_bill import card_bill, is_plain
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


# --- the usual card bill, read by hand ---------------------------------------------------


def by_model(raw: bytes) -> str:
    """The model's Bill (repr: a Decimal's exponent counts), or its refusal's errors."""
    return repr(read(lambda r: parse_body(r, BillIn), raw))


def by_hand(raw: bytes) -> str | None:
    """card_bill's Bill, or None where it leaves the body to the model; held against the
    model's reading whenever it takes one."""
    bill = card_bill(raw, "H1")
    if bill is None:
        return None
    found = repr(bill)
    assert found == by_model(raw), raw
    return found


USUAL = [
    body(),
    body(lines=[LINE, {**LINE, "quantity": "2.5", "unit_price": "0.123456"}]),
    body(diagnosis=None, disease="D" * 64, prescription=False, voucher=None),
    body(kind="inpatient", delivery="natural", cause="accident", referred_from=3),
    body(kind="pharmacy", diagnosis="", referred_from=2**63 - 1, delivery=None),
    body(card_number="C" * 32, date="2024-02-29", lines=[{**LINE, "code": "x" * 64}] * 1000),
    body(lines=[{**LINE, "quantity": "1000000", "unit_price": "0"}]),
    json.dumps(BILL).encode(),  # spaces after the separators: still plain
    b'{"kind":"emergency","lines":[{"unit_price":"1.5","quantity":"0.0001","code":"A"}],'
    b'"date":"0001-01-01","card_number":"1"}',
    b'{"card_number":"SC1","card_number":"SC2","kind":"outpatient","date":"2026-03-02",'
    b'"lines":[{"code":"A","quantity":"1","unit_price":"1"}]}',  # the last of a key
]


@pytest.mark.parametrize("raw", USUAL)
def test_the_usual_card_bill_is_read_by_hand_as_the_model_reads_it(raw: bytes) -> None:
    assert by_hand(raw) is not None


LEFT = [
    body(card_number=None, voucher="v1"),  # a voucher: the member service checks it
    body(voucher="v1"),
    body(diagnosis="\u80ba\u708e"),  # not ASCII
    body(diagnosis="J06\\9"),  # an escape
    json.dumps(BILL, indent=1).encode(),  # newlines
    body(lines=[{**LINE, "quantity": 1}]),  # a number: the model's lax reading
    body(lines=[{**LINE, "unit_price": 12.5}]),
    body(referred_from=3.0),
    body(referred_from="3"),
    body(referred_from=True),
    body(prescription="true"),
    body(prescription=1),
    body(date="20260302"),
    body(date="2026-W10-1"),
    body(card_number=""),
    body(card_number="C" * 33),
    body(diagnosis="D" * 17),
    body(lines=[]),
    body(lines=[LINE] * 1001),
    body(lines=[{"code": "A", "quantity": "1"}]),
    body(lines=[{**LINE, "class": "A"}]),
    body(lines=[{**LINE, "quantity": "0"}]),
    body(lines=[{**LINE, "quantity": "1000000.0001"}]),
    body(kind="Outpatient"),
    body(cause="other"),
    body(delivery="other"),
    body(referred_from=0),
    body(referred_from=2**63),
    body(extra=1),
    b"[]",
    b"",
    b"{",
]


@pytest.mark.parametrize("raw", LEFT)
def test_anything_else_is_left_to_the_model(raw: bytes) -> None:
    assert card_bill(raw, "H1") is None


def test_a_bill_of_the_usual_shape_is_taken_by_hand_or_refused_in_the_models_words() -> None:
    """Through bill_of, as the HTTP paths call it: the hand reading's Bill, or the model's
    errors for anything it leaves."""
    from types import SimpleNamespace

    from yibao.domain.access import Principal, Role
    from yibao.entrypoints.api.routers.settlements import bill_of

    who = Principal(account="h1", role=Role.INSTITUTION, institution_id="H1")
    found: Any = SimpleNamespace()  # no voucher here: the member service is not asked
    assert repr(bill_of(found, who, body(), "k")[0]) == by_model(body())
    with pytest.raises(RequestValidationError) as refused:
        bill_of(found, who, body(lines=[]), "k")
    assert repr(json.loads(json.dumps(refused.value.errors(), default=repr))) == by_model(
        body(lines=[])
    )
    with pytest.raises(RequestValidationError):  # the key is checked on either path
        bill_of(found, who, body(), "k" * 201)


SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        [
            *["", "1", "0", "01", "1.5", "0.00001", "1e3", "-1", "2026-03-02", "2026-02-30"],
            *["outpatient", "inpatient", "pharmacy", "ordinary", "accident", "natural", "x" * 65],
        ]
    )
    | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
)
TEXTS = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=66)
VALUE = SCALAR | st.lists(SCALAR, max_size=2) | st.dictionaries(st.just("code"), SCALAR)
CODES = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"\\'))
LINES = st.fixed_dictionaries(
    {
        "code": CODES.filter(lambda c: 0 < len(c) <= 64),
        "quantity": st.from_regex(
            r"[1-9][0-9]{0,5}(\.[0-9]{1,4})?|0\.[0-9]{0,3}[1-9]", fullmatch=True
        ),
        "unit_price": st.from_regex(r"[0-9]{1,8}(\.[0-9]{1,6})?", fullmatch=True),
    }
)
# A bill of the usual shape (each field as the hand reading takes it, some optional ones
# left out), then a few of its keys changed to anything or left out, and a line's too.
USUAL_BILLS = st.fixed_dictionaries(
    {
        "card_number": CODES.filter(lambda c: 0 < len(c) <= 32),
        "kind": st.sampled_from(["outpatient", "emergency", "inpatient", "special_outpatient"]),
        "date": st.dates().map(date.isoformat),
        "lines": st.lists(LINES, min_size=1, max_size=3),
    },
    optional={
        "voucher": st.none(),
        "diagnosis": st.none() | CODES.filter(lambda c: len(c) <= 16),
        "disease": st.none() | CODES.filter(lambda c: len(c) <= 64),
        "prescription": st.booleans(),
        "cause": st.sampled_from(["ordinary", "accident"]),
        "delivery": st.sampled_from(["natural", "caesarean", None]),
        "referred_from": st.none() | st.integers(1, 2**63 - 1),
    },
)
KEYS = [*BillFields.model_fields, "extra"]
CHANGES = st.dictionaries(st.sampled_from(KEYS), VALUE | TEXTS | st.integers(), max_size=2)
LINE_CHANGES = st.dictionaries(
    st.sampled_from(["code", "quantity", "unit_price", "x"]), VALUE | TEXTS, max_size=1
)


@settings(max_examples=400, deadline=None)
@given(
    usual=USUAL_BILLS,
    changes=CHANGES,
    dropped=st.sets(st.sampled_from(KEYS), max_size=1),
    line=LINE_CHANGES,
    spaced=st.booleans(),
)
def test_any_bill_read_by_hand_is_the_models_bill(
    usual: dict[str, Any],
    changes: dict[str, Any],
    dropped: set[str],
    line: dict[str, Any],
    spaced: bool,
) -> None:
    data = {k: v for k, v in {**usual, **changes}.items() if k not in dropped}
    lines = data.get("lines")
    if line and type(lines) is list and lines and type(lines[0]) is dict:
        data["lines"] = [{**data["lines"][0], **line}, *data["lines"][1:]]
    separators = (", ", ": ") if spaced else (",", ":")
    by_hand(json.dumps(data, separators=separators).encode())


@settings(max_examples=500, deadline=None)
@given(cut=st.integers(0, 200), insert=st.binary(max_size=3))
def test_any_mangled_body_read_by_hand_is_the_models_bill(cut: int, insert: bytes) -> None:
    raw = body(kind="inpatient", referred_from=7, delivery="caesarean")
    by_hand(raw[:cut] + insert + raw[cut + len(insert) :])


def test_a_plain_body_is_printable_ascii_without_a_backslash() -> None:
    for byte in range(256):
        plain = 0x20 <= byte <= 0x7E and byte != ord("\\")
        assert is_plain(b"{}" + bytes([byte])) is plain, byte
