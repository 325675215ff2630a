"""The usual card settlement's body read by hand: the counter's hot path.

A hospital's bill is almost always the same shape: printable ASCII, a card number, a kind,
a date, a few lines whose quantities and prices are plain decimal texts. pydantic's model
(schemas.BillFields, with BillIn behind it for the text checks) read such a body for a
tenth of the event loop's work a settlement, most of it in its general machinery.
`card_bill` reads that shape with orjson and a check of each field, and makes the Bill
directly; anything else (a voucher, a number where a text is usual, a missing or unknown
key, a value out of bounds, a body that is not plain) is None, and the model reads it
and refuses it in its own words. So this accepts a subset of what the model accepts, and
reads it to the same Bill: tests/fast/test_bill_parse.py holds the two side by side on
hand-made and generated bodies, good and bad.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, Literal, get_args, get_origin

import orjson
from pydantic import BaseModel

from yibao.domain.model import Kind
from yibao.entrypoints.api.schemas import (
    MAX_QUANTITY,
    PRICE_TEXT,
    QUANTITY_TEXT,
    BillFields,
    LineFields,
)
from yibao.service.encounter_details import EncounterDetails
from yibao.service.settlement import Bill, BillLine

# A body of printable ASCII without a backslash (nothing escaped): every text in it is as
# written, and none can hold what check_text refuses (a control character, a direction
# control, a surrogate, a non-character: none is printable ASCII). Deleting these bytes
# leaves nothing of a plain body: half the instructions of a regular expression's search.
_PLAIN_BYTES = bytes(b for b in range(0x20, 0x7F) if b != ord("\\"))

_KEYS = frozenset(BillFields.model_fields)
_LINE_KEYS = frozenset(LineFields.model_fields)
_KINDS = {kind.value: kind for kind in Kind}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # fromisoformat alone takes 20260302 too


def _most(model: type[BaseModel], name: str, bound: str = "max_length") -> int:
    """A field's bound (max_length, le), as the model has it (one place for each bound)."""
    for given in model.model_fields[name].metadata:  # annotated_types' MinLen, MaxLen, Le ...
        most = getattr(given, bound, None)
        if most is not None:
            return int(most)
    raise LookupError(name)


def _choices(model: type[BaseModel], name: str) -> frozenset[str]:
    """The texts a field's Literal allows, as the model has them (None left out)."""
    annotation = model.model_fields[name].annotation
    found: set[str] = set()
    for arm in get_args(annotation) if get_origin(annotation) is not Literal else (annotation,):
        if get_origin(arm) is Literal:
            found.update(get_args(arm))
    if not found:
        raise LookupError(name)
    return frozenset(found)


_CARD_MAX, _DIAGNOSIS_MAX = _most(BillFields, "card_number"), _most(BillFields, "diagnosis")
_DISEASE_MAX, _LINES_MAX = _most(BillFields, "disease"), _most(BillFields, "lines")
_CODE_MAX = _most(LineFields, "code")
_ID_MAX = _most(BillFields, "referred_from", "le")
_CAUSES, _DELIVERIES = _choices(BillFields, "cause"), _choices(BillFields, "delivery")
_ZERO = Decimal(0)
# A bill that names no cause, delivery or referral: one shared value (it is frozen).
_ORDINARY = EncounterDetails()


def is_plain(raw: bytes) -> bool:
    """Printable ASCII without a backslash: no text of it can fail the text check."""
    return not raw.translate(None, _PLAIN_BYTES)


def card_bill(raw: bytes, institution_id: str) -> Bill | None:
    """The card bill of a plain body (is_plain) of the usual shape, as BillIn reads it;
    None for anything else: the model's to read or refuse."""
    if not is_plain(raw):
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict or not data.keys() <= _KEYS:
        return None
    get = data.get
    card, kind, day = get("card_number"), get("kind"), get("date")
    if type(card) is not str or not 0 < len(card) <= _CARD_MAX or get("voucher") is not None:
        return None
    if type(kind) is not str or kind not in _KINDS or type(day) is not str:
        return None
    lines = _lines(get("lines"))
    diagnosis, disease = get("diagnosis"), get("disease")
    if lines is None or not _text_or_none(diagnosis, _DIAGNOSIS_MAX):
        return None
    if not _text_or_none(disease, _DISEASE_MAX) or _DATE.fullmatch(day) is None:
        return None
    prescription = get("prescription", True)
    if type(prescription) is not bool:
        return None
    details = _details(data)
    if details is None:
        return None
    try:
        when = date.fromisoformat(day)
    except ValueError:
        return None
    return Bill(
        institution_id=institution_id,
        card_number=card,
        kind=_KINDS[kind],
        date=when,
        lines=lines,
        diagnosis=diagnosis,
        disease=disease,
        prescription=prescription,
        details=details,
    )


def _text_or_none(value: Any, most: int) -> bool:
    return value is None or (type(value) is str and len(value) <= most)


def _details(data: dict[str, Any]) -> EncounterDetails | None:
    if "cause" not in data and "delivery" not in data and "referred_from" not in data:
        return _ORDINARY
    cause = data.get("cause", "ordinary")
    delivery = data.get("delivery")
    referred = data.get("referred_from")
    if type(cause) is not str or cause not in _CAUSES:
        return None
    if not (delivery is None or (type(delivery) is str and delivery in _DELIVERIES)):
        return None
    if not (referred is None or (type(referred) is int and 1 <= referred <= _ID_MAX)):
        return None
    return EncounterDetails(cause, delivery, referred)


def _lines(given: Any) -> tuple[BillLine, ...] | None:
    if type(given) is not list or not 0 < len(given) <= _LINES_MAX:
        return None
    lines = []
    for line in given:
        if type(line) is not dict or line.keys() != _LINE_KEYS:
            return None
        code, quantity, price = line["code"], line["quantity"], line["unit_price"]
        if type(code) is not str or not 0 < len(code) <= _CODE_MAX:
            return None
        if type(quantity) is not str or QUANTITY_TEXT.fullmatch(quantity) is None:
            return None
        if type(price) is not str or PRICE_TEXT.fullmatch(price) is None:
            return None
        amount = Decimal(quantity)
        if not _ZERO < amount <= MAX_QUANTITY:  # a Decimal's 0: not an int made one each time
            return None
        lines.append(BillLine(code, amount, Decimal(price)))
    return tuple(lines)
