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
    # ledger_entries' entries of the fen made already: one a layer that pays, in order.
    entries = []
    if fens[4]:
        entries.append(_entry(p.institution_id, values, day, "basic", fens[4], channel))
    if fens[5]:
        entries.append(_entry(p.institution_id, values, day, "assistance", fens[5], channel))
    return SettlementRecord(values, _line_rows(p, r), entries, person.id, after, seq)


# The settlement row: the enums' values by str() (StrEnums), at a tenth of Enum.value's
# cost; the columns of split_fen and encounter_columns written in place (two dicts fewer a
# bill). The first 15 columns in a display, the others stored after them, in their order:
# a display of more entries is built one by one and merged (CPython's compiler), some
# 15,800 instructions for 37 where this costs 10,200 (the view and a line's too). The
# explanation as UTF-8 as it is, as ensure_ascii=False, and as bytes: a group commit sends
# it so (decoded, then encoded again for the driver, its Chinese cost some 18,000
# instructions a settlement); writers of the text decode it (explanation_text).
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
    row: dict[str, Any] = {
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
    }
    row["referral"] = enc.referral
    row["prescription"] = enc.prescription
    row["total_fen"] = total
    row["eligible_fen"] = eligible
    row["self_pay_fen"] = self_pay
    row["threshold_fen"] = threshold
    row["basic_fen"] = basic
    row["assistance_fen"] = assistance
    row["institution_fen"] = institution
    row["personal_fen"] = personal
    row["over_limit_fen"] = over
    row["hospital_type"] = None if hospital.type == "general" else hospital.type
    row["hospital_province"] = None if hospital.province == "same" else hospital.province
    row["cause"] = None if enc.cause == "ordinary" else enc.cause
    row["delivery"] = enc.delivery
    row["referred_from"] = p.origin
    row["route"] = str(r.route)
    refused = r.refused
    if refused is None:
        row["refused_code"] = None
        row["refused_reason"] = None
    else:
        row["refused_code"] = refused.code
        row["refused_reason"] = json.dumps(asdict(refused.reason), ensure_ascii=False)
    row["explanation"] = orjson.dumps(stored_steps(r.steps) if steps is None else steps)
    row["status"] = "settled"
    row["created_at"] = now()
    return row


def _entry(
    paid_to: str | None, values: dict[str, Any], day: date, layer: str, fen: int, entry: str
) -> dict[str, Any]:
    """A fund ledger entry of the settlement row `values` (its region and scheme)."""
    year = day.year
    return {
        "region": values["region"],
        "year": year,
        "month": f"{year}{_MONTHS[day.month]}",
        "institution_id": paid_to,
        "scheme": values["scheme"],
        "layer": layer,
        "amount_fen": fen,
        "settlement_id": None,
        "entry": entry,
    }


# A month's text after its year ("-07"): a tuple's item, at a third of f"{month:02d}"'s cost.
_MONTHS = ("", *(f"-{month:02d}" for month in range(1, 13)))


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
    lines = r.lines
    if len(lines) == 1 and lines[0].full_self_pay is ZERO and lines[0].over_limit is ZERO:
        # One line with neither part (most bills): the sums of the parts are ZERO + ZERO,
        # shown and in fen as the engine's zero is, without the sums' two generators.
        self_pay = over = ZERO
    else:
        self_pay, over = r.self_pay, r.over_limit
    texts: list[str] = []
    fens: list[int] = []
    finer = False  # an amount finer than the fen: no fen for any (to_fen refuses it)
    for amount in (
        r.total,
        r.eligible if r.eligible is ZERO else round_fen(r.eligible),
        self_pay,
        r.threshold if r.threshold is ZERO else round_fen(r.threshold),  # most bills: none
        r.basic,
        r.assistance,
        r.institution,
        r.personal,
        over,
    ):
        if amount is ZERO:  # the engine's own zero (no part of that kind): fmt's text
            texts.append(_ZERO_TEXT)
            fens.append(0)
            continue
        text = str(amount)
        if text[-3:-2] == ".":  # to the fen, a zero ("0.00", "-0.00") too: fmt's text
            texts.append(text)
            fens.append(int(text.replace(".", "")))
        elif not amount:  # a zero of another exponent
            texts.append(_NEGATIVE_ZERO if amount.is_signed() else _ZERO_TEXT)
            fens.append(0)
        else:
            texts.append(fmt(amount))
            if not finer:
                try:
                    fens.append(to_fen(amount))
                except AmountError:  # the record raises it (split_fen), a quote shows it
                    finer = True
    made = (tuple(texts), None if finer else tuple(fens))
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
    prepared bill's rows completed (with_parts), which resolve made for it alone and a
    store may complete with the settlement's id; copies of them for a result without
    its lines (the answer shows none)."""
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
    month = f"{year}{_MONTHS[day.month]}"  # as f"{day:%Y-%m}", without strftime's cost
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
    texts, fens = split_amounts(r)
    total, eligible, self_pay, threshold, basic, assistance, institution, personal, over = texts
    balanced, fund = _balanced_and_fund(r, total, basic, fens)
    enc = p.encounter
    day = enc.date
    refused = r.refused
    zh, en = r.summaries(texts)  # the words of the texts made already
    # 15 keys in a display, the others stored after them in their order (as _values).
    view: dict[str, Any] = {
        "id": settlement_id,
        "person_id": p.person.id,
        "year": day.year,
        "seq": seq,
        "institution_id": p.institution_id,
        "date": day_text(day),
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
    }
    view["threshold"] = threshold
    view["basic"] = basic
    view["assistance"] = assistance
    view["institution"] = institution
    view["personal"] = personal
    view["insured_pays"] = personal
    view["fund_owes_institution"] = fund
    view["refused"] = (
        None
        if refused is None
        else {"code": refused.code, "reason": {"zh": refused.reason.zh, "en": refused.reason.en}}
    )
    view["summary"] = {"zh": zh, "en": en}
    view["lines"] = line_views(p.lines, r) if len(p.lines) == len(r.lines) else []
    view["explanation"] = steps if steps is not None else [s.to_dict() for s in r.steps]
    view["status"] = "settled" if settlement_id is not None else "quote"
    view["cause"] = enc.cause
    view["delivery"] = enc.delivery
    view["referred_from"] = p.origin
    return view


def day_text(day: date) -> str:
    """day.isoformat(), kept by day: a bill's date is a new object each time, whose text
    the answer and the fingerprint show (isoformat costs some four times a dict's look-up
    of an equal date). A few years' days at most; never stale (equal days, one text)."""
    text = _DAYS.get(day)
    if text is None:
        if len(_DAYS) >= 4096:  # a bound, which no counter's days reach
            _DAYS.clear()
        text = _DAYS[day] = day.isoformat()
    return text


_DAYS: dict[date, str] = {}


def _balanced_and_fund(
    r: EncounterResult, total: str, basic: str, fens: tuple[int, ...] | None
) -> tuple[str, str]:
    """The balanced first self-pay (EncounterResult.first_self_pay_balanced) and the
    fund's part (basic + assistance) as fmt shows them. The first of the amounts' fen
    (split_amounts' `fens`) when it has them: each term is to the fen, so is their
    difference, and fmt shows it as its fen (but a total of a negative zero, whose sign
    the difference may keep: that and an amount finer than the fen as the Decimals
    make it, without the zero terms most bills have); the second the basic fund's own
    text `basic` when no assistance is added to it (but a negative zero, which the sum
    shows without its sign)."""
    if fens is not None and total[0] != "-":
        # total - eligible - self_pay - over_limit (split_amounts: 0, 1, 2, 8), shown as
        # its yuan, a point and its two digits of fen
        fen = fens[0] - fens[1] - fens[2] - fens[8]
        yuan, cents = divmod(fen if fen >= 0 else -fen, 100)
        text = f"{yuan}.{_CENTS[cents]}" if fen >= 0 else f"-{yuan}.{_CENTS[cents]}"
        return text, (
            basic if not r.assistance and basic[0] != "-" else fmt(r.basic + r.assistance)
        )
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


_CENTS = tuple(f"{n:02d}" for n in range(100))  # a fen's two digits
