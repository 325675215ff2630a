"""Booking a settled encounter, whichever way it came (card at the counter, or a claim
approved by a clerk): the settlement row, its lines and explanation, the person-year's
new accumulators, and the fund ledger entries, in the caller's unit of work."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import orjson

from yibao.domain.accumulators import YearAccumulators
from yibao.domain.engine import EncounterResult, InputError, settle_encounter
from yibao.domain.explain import stored_steps
from yibao.domain.frozen import fast_init
from yibao.domain.model import Encounter, Person
from yibao.domain.money import ZERO, AmountError, fmt, round_fen, to_fen
from yibao.domain.parameters import PolicyGapError, RegionPolicy
from yibao.service.catalogue_lines import line_views, with_parts
from yibao.service.clearing import book_settlement
from yibao.service.errors import ServiceError
from yibao.service.ports import Clock, UnitOfWork, now
from yibao.service.ports.records import SettlementRecord


@fast_init
@dataclass(frozen=True)
class Prepared:
    """A bill checked against the registry and ready for the engine."""

    person: Person
    encounter: Encounter
    institution_id: str | None  # None: a claim from a place outside the registry
    policy: RegionPolicy
    lines: tuple[dict[str, Any], ...]  # line rows to store
    origin: int | None = None  # the settlement the stay was referred from


def run_engine(p: Prepared, acc: YearAccumulators) -> tuple[EncounterResult, YearAccumulators]:
    try:
        return settle_encounter(p.policy, p.person, p.encounter, acc)
    except InputError as exc:
        raise ServiceError("invalid_bill", str(exc)) from None
    except PolicyGapError as exc:
        raise ServiceError("no_policy_in_force", str(exc)) from None


# A settlement row's columns (the settlements table's but id), as every writer writes
# them: settlement_record below for the counter and the ledger (card settlements,
# claims), and the batch load (batch/loader.py), which selects its frame's columns in
# this order.
SETTLEMENT_COLUMNS = (
    "person_id",
    "year",
    "seq",
    "channel",
    "institution_id",
    "hospital_level",
    "hospital_region",
    "hospital_designated",
    "hospital_pilot",
    "region",
    "scheme",
    "kind",
    "encounter_date",
    "diagnosis",
    "disease",
    "referral",
    "prescription",
    "total_fen",
    "eligible_fen",
    "self_pay_fen",
    "threshold_fen",
    "basic_fen",
    "assistance_fen",
    "institution_fen",
    "personal_fen",
    "over_limit_fen",
    "hospital_type",
    "hospital_province",
    "cause",
    "delivery",
    "referred_from",
    "route",
    "refused_code",
    "refused_reason",
    "explanation",
    "status",
    "created_at",
)


def settlement_record(
    p: Prepared,
    r: EncounterResult,
    after: YearAccumulators,
    seq: int,
    channel: str,
    steps: list[list[Any]] | None = None,
) -> SettlementRecord:
    """What a settled encounter writes, whichever store writes it. The explanation is
    stored as its steps' data (`steps`, when the caller made it already), put into words
    when read (domain/explain.py)."""
    fens = split_amounts(r)[1]
    if fens is None:  # an amount finer than the fen: to_fen says which (AmountError)
        fens = tuple(split_fen(r).values())
    values = _values(p, r, seq, channel, steps, fens)
    person, day = p.person, p.encounter.date
    basic, assistance = fens[4], fens[5]
    entries = _paid(
        p.institution_id, person.region, values["scheme"], day, basic, assistance, channel
    )
    return SettlementRecord(values, _line_rows(p, r), entries, person.id, after, seq)


def _values(
    p: Prepared,
    r: EncounterResult,
    seq: int,
    channel: str,
    steps: list[list[Any]] | None,
    fens: tuple[int, ...],
) -> dict[str, Any]:
    """The settlement row's columns (SETTLEMENT_COLUMNS) but id, the split `fens`."""
    enc, person = p.encounter, p.person
    hospital = enc.hospital
    total, eligible, self_pay, threshold, basic, assistance, institution, personal, over = fens
    day = enc.date
    region = person.region
    # The enums' values by str() (StrEnums), at a tenth of Enum.value's cost; the columns
    # of split_fen and encounter_columns written in place (two dicts fewer a bill).
    return {
        "person_id": person.id,
        "year": day.year,
        "seq": seq,
        "channel": channel,
        "institution_id": p.institution_id or hospital.id,
        "hospital_level": hospital.level,
        "hospital_region": hospital.region or region,
        "hospital_designated": hospital.designated,
        "hospital_pilot": hospital.pilot,
        "region": region,
        "scheme": str(person.scheme),
        "kind": str(enc.kind),
        "encounter_date": day,
        "diagnosis": enc.diagnosis,
        "disease": enc.disease,
        "referral": enc.referral,
        "prescription": enc.prescription,
        "total_fen": total,
        "eligible_fen": eligible,
        "self_pay_fen": self_pay,
        "threshold_fen": threshold,
        "basic_fen": basic,
        "assistance_fen": assistance,
        "institution_fen": institution,
        "personal_fen": personal,
        "over_limit_fen": over,
        "hospital_type": None if hospital.type == "general" else hospital.type,
        "hospital_province": None if hospital.province == "same" else hospital.province,
        "cause": None if enc.cause == "ordinary" else enc.cause,
        "delivery": enc.delivery,
        "referred_from": p.origin,
        "route": str(r.route),
        "refused_code": None if r.refused is None else r.refused.code,
        "refused_reason": None
        if r.refused is None
        else json.dumps(asdict(r.refused.reason), ensure_ascii=False),
        # UTF-8 as it is, as ensure_ascii=False, and as bytes: a group commit sends them so
        # (decoded, then encoded again for the driver, its Chinese cost some 18,000
        # instructions a settlement); writers of the text decode it (explanation_text).
        "explanation": orjson.dumps(stored_steps(r.steps) if steps is None else steps),
        "status": "settled",
        "created_at": now(),
    }


def _paid(
    paid_to: str | None,
    region: str,
    scheme: str,
    day: date,
    basic: int,
    assistance: int,
    entry: str,
) -> list[dict[str, Any]]:
    """ledger_entries' entries of a settlement, of its fen made already: one a layer that
    pays (basic, assistance), in that order."""
    entries: list[dict[str, Any]] = []
    if basic:
        entries.append(_entry(paid_to, region, scheme, day, "basic", basic, entry))
    if assistance:
        entries.append(_entry(paid_to, region, scheme, day, "assistance", assistance, entry))
    return entries


def _entry(
    paid_to: str | None, region: str, scheme: str, day: date, layer: str, fen: int, entry: str
) -> dict[str, Any]:
    return {
        "region": region,
        "year": day.year,
        "month": f"{day.year}-{day.month:02d}",
        "institution_id": paid_to,
        "scheme": scheme,
        "layer": layer,
        "amount_fen": fen,
        "settlement_id": None,
        "entry": entry,
    }


# A result's amounts as the record and the answer show them, in split_fen's order: total,
# eligible, self_pay, threshold, basic, assistance, institution, personal, over_limit.
Split = tuple[tuple[str, ...], tuple[int, ...] | None]
_SPLIT = "_booking_split"
_NEGATIVE_ZERO = "-0.00"


def split_amounts(r: EncounterResult) -> Split:
    """The result's amounts as fmt shows them and in fen (None: one is finer than the fen,
    which to_fen refuses), each amount's text made once for both: the record's columns
    and the answer's amounts are the same nine. An amount to the fen (its text "d.dd":
    exponent -2) is its own text, and its fen that text's digits; a zero is 0 fen and
    fmt's "0.00" (or "-0.00"); any other amount is fmt's and to_fen's (tests/fast/
    test_booking_split.py holds the two to fmt and to_fen). Kept on the
    (frozen) result, which the record and the answer of a settlement share."""
    kept: Split | None = r.__dict__.get(_SPLIT)
    if kept is not None:
        return kept
    texts: list[str] = []
    fens: list[int] | None = []
    for amount in (
        r.total,
        r.eligible if r.eligible is ZERO else round_fen(r.eligible),
        r.self_pay,
        r.threshold if r.threshold is ZERO else round_fen(r.threshold),  # most bills: none
        r.basic,
        r.assistance,
        r.institution,
        r.personal,
        r.over_limit,
    ):
        if amount is ZERO:  # the engine's own zero (no part of that kind): fmt's text
            texts.append(_ZERO_TEXT)
            if fens is not None:
                fens.append(0)
            continue
        if not amount:
            texts.append(_NEGATIVE_ZERO if amount.is_signed() else _ZERO_TEXT)
            if fens is not None:
                fens.append(0)
            continue
        text = str(amount)
        if text[-3:-2] == ".":
            texts.append(text)
            if fens is not None:
                fens.append(int(text.replace(".", "")))
        else:
            texts.append(fmt(amount))
            if fens is not None:
                try:
                    fens.append(to_fen(amount))
                except AmountError:  # the record raises it (split_fen), a quote shows it
                    fens = None
    made = (tuple(texts), None if fens is None else tuple(fens))
    r.__dict__[_SPLIT] = made
    return made


_ZERO_TEXT = fmt(ZERO)  # "0.00"


def encounter_columns(p: Prepared) -> dict[str, Any]:
    """The facts of issue 14's decision tables a re-settlement needs (history.py reads
    them back); None where a bill had the default."""
    enc = p.encounter
    return {
        "hospital_type": None if enc.hospital.type == "general" else enc.hospital.type,
        "hospital_province": None if enc.hospital.province == "same" else enc.hospital.province,
        "cause": None if enc.cause == "ordinary" else enc.cause,
        "delivery": enc.delivery,
        "referred_from": p.origin,
    }


def _line_rows(p: Prepared, r: EncounterResult) -> list[dict[str, Any]]:
    """The line rows to store, with each line's parts (claims and bills alike): the
    record's own (a store may complete them with the settlement's id), not the prepared
    bill's."""
    if len(p.lines) == len(r.lines):
        return with_parts(p.lines, r)
    return [dict(row) for row in p.lines]


def between_regions(
    uow: UnitOfWork, sid: int, p: Prepared, result: EncounterResult, today: Clock
) -> None:
    """A bill elsewhere: the place of treatment advances the fund's part for the insured
    place (a receivable there, a payable here; reference §9). The clock is read only for
    such a bill (a time zone's now() a bill, for the month of a movement between regions)."""
    treated = p.encounter.hospital.region
    if treated is not None and treated != p.person.region:
        # The fund's part in fen: the record's basic and assistance fen, made already (its
        # amounts to the fen: the record refuses any other), else of their sum as before.
        fens = split_amounts(result)[1]
        fen = to_fen(result.basic + result.assistance) if fens is None else fens[4] + fens[5]
        book_settlement(uow, sid, p.person.region, treated, p.encounter.date, fen, today())


def book(
    uow: UnitOfWork,
    p: Prepared,
    r: EncounterResult,
    after: YearAccumulators,
    seq: int,
    channel: str,
) -> dict[str, Any]:
    """Store a settlement and everything it moves; returns its API view."""
    sid = uow.ledger.book(settlement_record(p, r, after, seq, channel))
    return settlement_view(sid, p, r, seq)


def split_fen(r: EncounterResult) -> dict[str, int]:
    return {
        "total_fen": to_fen(r.total),
        "eligible_fen": to_fen(round_fen(r.eligible)),
        "self_pay_fen": to_fen(r.self_pay),
        "threshold_fen": to_fen(round_fen(r.threshold)),
        "basic_fen": to_fen(r.basic),
        "assistance_fen": to_fen(r.assistance),
        "institution_fen": to_fen(r.institution),
        "personal_fen": to_fen(r.personal),
        "over_limit_fen": to_fen(r.over_limit),
    }


def ledger_entries(
    settlement_id: int | None,
    region: str,
    scheme: str,
    paid_to: str | None,
    day: date,
    amounts: dict[str, Decimal],
    entry: str,
) -> list[dict[str, Any]]:
    """The fund ledger's entries for a settlement, its reversal or an adjustment: what each
    fund owes, and to whom (the institution for a card settlement; the person, None, for
    a claim). `amounts` by layer; zero amounts make no entry."""
    year = day.year
    month = f"{year}-{day.month:02d}"  # as f"{day:%Y-%m}", without strftime's cost
    out = []
    for layer, amount in amounts.items():
        if amount:
            out.append(
                {
                    "region": region,
                    "year": year,
                    "month": month,
                    "institution_id": paid_to,
                    "scheme": scheme,
                    "layer": layer,
                    "amount_fen": to_fen(amount),
                    "settlement_id": settlement_id,
                    "entry": entry,
                }
            )
    return out


def settlement_view(
    settlement_id: int | None,
    p: Prepared,
    r: EncounterResult,
    seq: int | None,
    steps: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What the API returns for a settlement or a quote."""
    texts = split_amounts(r)[0]
    total, eligible, self_pay, threshold, basic, assistance, institution, personal, over = texts
    balanced, fund = _balanced_and_fund(r, basic)
    enc = p.encounter
    day = enc.date
    refused = r.refused
    zh, en = r.summaries(texts)  # the words of the texts made already
    return {
        "id": settlement_id,
        "person_id": p.person.id,
        "year": day.year,
        "seq": seq,
        "institution_id": p.institution_id,
        "date": day.isoformat(),
        "kind": str(enc.kind),
        "scheme": str(p.person.scheme),
        "route": str(r.route),
        "referral": enc.referral,
        "total": total,
        "eligible": eligible,
        "over_limit": over,
        "self_pay": self_pay,
        # To the fen such that over_limit + self_pay + first_self_pay + eligible (each as
        # shown) add up to the total (the national interface's medfee_sumamt).
        "first_self_pay": balanced,
        "threshold": threshold,
        "basic": basic,
        "assistance": assistance,
        "institution": institution,
        "personal": personal,
        "insured_pays": personal,
        "fund_owes_institution": fund,
        "refused": None
        if refused is None
        else {
            "code": refused.code,
            "reason": {"zh": refused.reason.zh, "en": refused.reason.en},
        },
        "summary": {"zh": zh, "en": en},
        "lines": line_views(p.lines, r) if len(p.lines) == len(r.lines) else [],
        "explanation": steps if steps is not None else [s.to_dict() for s in r.steps],
        "status": "settled" if settlement_id is not None else "quote",
        "cause": enc.cause,
        "delivery": enc.delivery,
        "referred_from": p.origin,
    }


def _balanced_and_fund(r: EncounterResult, basic: str) -> tuple[str, str]:
    """The balanced first self-pay (EncounterResult.first_self_pay_balanced) and the
    fund's part (basic + assistance) as fmt shows them. The first without its zero terms
    (most bills have neither part): the same value; the second the basic fund's own text
    `basic` when no assistance is added to it (but a negative zero, which the sum shows
    without its sign)."""
    balanced = r.total
    if r.over_limit:
        balanced -= r.over_limit
    if r.self_pay:
        balanced -= r.self_pay
    balanced -= round_fen(r.eligible)
    text = str(balanced)  # to the fen, as most are: fmt's text
    if text[-3:-2] != ".":
        text = fmt(balanced)
    fund = basic if not r.assistance and basic[0] != "-" else fmt(r.basic + r.assistance)
    return text, fund
