"""The answer kept for an idempotency key, and the same answer again for a retry.

A settlement's answer is its view (booking.settlement_view), some 1.2 kB for a one-line
bill, nearly all of it what the settlement's own rows hold: its amounts, its lines, its
refusal, its explanation. The key keeps a reference to the settlement instead, with the
few facts of the engine's result that no row holds (the exact eligible cost and
threshold, which the rows keep to the fen; each line's first self-pay ratio and whether
it fell outside its restriction as the engine applied them, which may differ from the
catalogue facts the line row keeps), about a tenth of the bytes to send, parse and
write with every settlement. A retry renders the view again from the rows and that
reference with settlement_view itself, so the answer is byte for byte the first one.

Settlement rows never change but their status (a reversal marks them reversed; the
first answer said "settled", and says it again). Keys kept before this (the whole view,
or the view without its explanation) are still read as they were kept.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any, cast

import orjson

from yibao.domain.engine import EncounterResult
from yibao.domain.engine.results import LineResult, Refusal, RefusalCode, Route
from yibao.domain.explain import read_steps
from yibao.domain.model import Encounter, Hospital, Kind, Person, Scheme
from yibao.domain.money import ZERO, from_fen
from yibao.domain.parameters import RegionPolicy, Text
from yibao.service.booking import Prepared, settlement_view
from yibao.service.ports import UnitOfWork


def kept_answer(sid: int, lines: int, result: EncounterResult, view: dict[str, Any]) -> str:
    """What the key keeps for settlement `sid`'s answer `view` (made of `result` and its
    `lines` line rows): a reference to the settlement and what its rows do not hold; the
    view itself, without the explanation its row holds, for a result whose lines are not
    the bill's (then the view shows no lines, and its amounts cannot be made from them)."""
    if len(result.lines) != lines:
        return orjson.dumps({**view, "explanation": None}).decode()
    return orjson.dumps(
        {
            "settlement": sid,
            "eligible": str(result.eligible),
            # most bills charge none: the engine's zero, whose text is "0"
            "threshold": "0" if result.threshold is ZERO else str(result.threshold),
            # Each line's ratio and restriction as the view shows them (line_views).
            "parts": [[ln["ratio"], ln["restricted"]] for ln in view["lines"]],
        }
    ).decode()


def replayed(uow: UnitOfWork, response: str) -> dict[str, Any]:
    """The view a kept answer stands for."""
    kept = orjson.loads(response)
    if "settlement" in kept:
        return _rendered(uow, kept)
    if kept.get("explanation", ()) is None:
        # The view kept without its explanation: the settlement's row has it.
        row = uow.ledger.settlement(int(kept["id"]))
        assert row is not None, "a kept answer names the settlement it made"
        kept["explanation"] = read_steps(orjson.loads(row.explanation))
    return cast(dict[str, Any], kept)


def _rendered(uow: UnitOfWork, kept: dict[str, Any]) -> dict[str, Any]:
    """The settlement's view made again from its rows and the kept reference, as the
    settlement made it (settlement_view, with the engine's result as it was)."""
    sid = int(kept["settlement"])
    row = uow.ledger.settlement(sid)
    assert row is not None, "a kept answer names the settlement it made"
    stored = uow.history.lines([sid]).get(sid, [])
    lines = tuple(_line(ln) for ln in stored)
    parts = tuple(
        LineResult(
            from_fen(ln.amount_fen),
            from_fen(ln.over_limit_fen),
            from_fen(ln.full_self_pay_fen),
            Decimal(ln.first_self_pay),
            Decimal(ln.eligible),
            None if ratio is None else Decimal(ratio),
            None if ln.cap is None else Decimal(ln.cap),
            restricted,
        )
        for ln, (ratio, restricted) in zip(stored, kept["parts"], strict=True)
    )
    result = EncounterResult(
        encounter_id="",  # not shown
        scheme=row.scheme,
        route=Route(row.route),
        total=from_fen(row.total_fen),
        eligible=Decimal(kept["eligible"]),
        threshold=Decimal(kept["threshold"]),
        basic=from_fen(row.basic_fen),
        assistance=from_fen(row.assistance_fen),
        institution=from_fen(row.institution_fen),
        personal=from_fen(row.personal_fen),
        refused=None
        if row.refused_code is None
        else Refusal(RefusalCode(row.refused_code), Text(**json.loads(row.refused_reason))),
        steps=(),  # the explanation is the row's (below)
        lines=parts,
    )
    prepared = Prepared(
        # What the view shows of the person and the encounter; the rest is not read.
        person=Person(row.person_id, date.min, Scheme(row.scheme), row.region),
        encounter=Encounter(
            id="",
            date=row.encounter_date,
            kind=Kind(row.kind),
            hospital=Hospital(row.institution_id, row.hospital_level),
            lines=(),
            referral=row.referral,
            cause=row.cause or "ordinary",
            delivery=row.delivery,
        ),
        institution_id=row.institution_id,
        policy=cast(RegionPolicy, None),  # the view reads no policy
        lines=lines,
        origin=row.referred_from,
    )
    steps = read_steps(orjson.loads(row.explanation))
    return settlement_view(sid, prepared, result, int(row.seq), steps)


def _line(ln: Any) -> dict[str, Any]:
    """A stored line as the view reads the line rows the settlement was made of."""
    return {
        "line_no": ln.line_no,
        "code": ln.code,
        "national_code": ln.national_code,
        "name": ln.name,
        "cls": ln.cls,
        "quantity": ln.quantity,
        "unit_price": ln.unit_price,
        "unit_price_fen": ln.unit_price_fen,
        "entry_id": ln.entry_id,
    }
