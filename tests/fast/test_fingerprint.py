"""A bill's fingerprint (what makes a retried request the same request) is the SHA-256 of
json.dumps(its fields, sort_keys=True, default=str), the text the stored idempotency keys'
hashes were made of. Bill.fingerprint writes that text itself (the encoder cost as much
as the rest of the service layer): here the two are held to the same text, for bills of
every shape a caller sends."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.domain.model import Kind
from yibao.service.encounter_details import EncounterDetails
from yibao.service.settlement import Bill, BillLine, _bill_json, _card_bill_json


def as_before(bill: Bill) -> str:
    """The fingerprint as it was first made: json.dumps of the bill's fields (asdict), the
    details only where given and the voucher's person only where there is one."""
    data: dict[str, Any] = asdict(bill)
    details = data.pop("details")
    if data["person_id"] is None:
        del data["person_id"]
    for line in data["lines"]:
        if line["amount"] is None:
            del line["amount"]
    data.update({k: v for k, v in details.items() if v is not None and v != "ordinary"})
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def random_bill(rng: random.Random) -> Bill:
    def line() -> BillLine:
        quantity = Decimal(rng.choice(["1", "2", "0.5", "3.000", "12"]))
        price = Decimal(rng.choice(["12.50", "0.0125", "100", "7.3333", "1E+2"]))
        amount = rng.choice([None, None, Decimal("25.00"), Decimal("0.01")])
        return BillLine(rng.choice(["X01", "Y-02", "药品3", 'q"uote\\']), quantity, price, amount)

    details = rng.choice(
        [
            EncounterDetails(),
            EncounterDetails(cause="accident"),
            EncounterDetails(delivery="natural", referred_from=rng.randint(1, 10**9)),
        ]
    )
    voucher = rng.random() < 0.3
    return Bill(
        institution_id=rng.choice(["H001", "h-2", "医院"]),
        card_number=None if voucher else rng.choice(["C0000123", "卡\n1"]),
        kind=rng.choice(list(Kind)),
        date=date(2026, 1, 1) + timedelta(days=rng.randint(0, 400)),
        lines=tuple(line() for _ in range(rng.randint(1, 4))),
        diagnosis=rng.choice([None, "J06.9", "上呼吸道感染"]),
        disease=rng.choice([None, "diabetes"]),
        prescription=rng.random() < 0.8,
        person_id=rng.choice(["P1", "人2"]) if voucher else None,
        details=details,
    )


@pytest.mark.parametrize("seed", range(5))
def test_the_fingerprint_is_the_json_text_of_the_bill(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(400):
        bill = random_bill(rng)
        assert _bill_json(bill) is not None
        assert bill.fingerprint() == as_before(bill)


def test_a_value_of_another_type_is_written_by_the_encoder() -> None:
    line = BillLine("X01", 2.5, Decimal("1.00"))  # type: ignore[arg-type]
    bill = Bill("H001", "C1", Kind.OUTPATIENT, date(2026, 3, 1), (line,))
    assert _bill_json(bill) is None
    assert bill.fingerprint() == as_before(bill)


def test_a_card_bill_without_details_takes_the_short_way() -> None:
    line = BillLine("X01", Decimal("2"), Decimal("12.50"))
    bill = Bill("H001", "C0000123", Kind.OUTPATIENT, date(2026, 3, 1), (line,), "J06.9")
    assert _card_bill_json(bill) is not None
    assert _card_bill_json(bill) == _bill_json(bill)
    assert bill.fingerprint() == as_before(bill)


@pytest.mark.parametrize("seed", range(3))
def test_the_short_way_writes_what_the_long_way_writes(seed: int) -> None:
    rng = random.Random(seed)
    short = 0
    for _ in range(400):
        bill = random_bill(rng)
        text = _card_bill_json(bill)
        if text is not None:
            short += 1
            assert text == _bill_json(bill)
    assert short > 0


_text = st.text(max_size=8)
_decimals = st.decimals(allow_nan=True, allow_infinity=True, places=None)


@given(
    institution=_text,
    card=_text,
    kind=st.sampled_from(list(Kind)),
    day=st.dates(),
    lines=st.lists(st.tuples(_text, _decimals, _decimals), max_size=3),
    diagnosis=st.none() | _text,
    disease=st.none() | _text,
    prescription=st.booleans(),
)
def test_any_card_bill_is_written_as_the_encoder_writes_it(
    institution: str,
    card: str,
    kind: Kind,
    day: date,
    lines: list[tuple[str, Decimal, Decimal]],
    diagnosis: str | None,
    disease: str | None,
    prescription: bool,
) -> None:
    billed = tuple(BillLine(code, q, p) for code, q, p in lines)
    bill = Bill(institution, card, kind, day, billed, diagnosis, disease, prescription)
    assert _card_bill_json(bill) == _bill_json(bill)
    assert bill.fingerprint() == as_before(bill)


def test_a_bills_keys_name_its_codes_once_sorted() -> None:
    one = BillLine("X02", Decimal("1"), Decimal("1.00"))
    other = BillLine("X01", Decimal("1"), Decimal("1.00"))
    single = Bill("H001", "C1", Kind.OUTPATIENT, date(2026, 3, 1), (one,))
    several = replace(single, lines=(one, other, one))
    assert single.keys(None).codes == ("X02",)
    assert several.keys("k").codes == ("X01", "X02")
    assert several.keys("k").caller == "H001"
    assert single.keys(None).caller is None
