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
from yibao.domain.money import fmt, round_fen, to_fen
from yibao.domain.parameters import PolicyGapError, RegionPolicy
from yibao.service.catalogue_lines import line_views, with_parts
from yibao.service.errors import ServiceError
from yibao.service.ports import UnitOfWork, now
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
    enc, person = p.encounter, p.person
    hospital = enc.hospital
    # The enums' values by str() (StrEnums), at a tenth of Enum.value's cost.
    values = {
        "person_id": person.id,
        "year": enc.date.year,
        "seq": seq,
        "channel": channel,
        "institution_id": p.institution_id or hospital.id,
        "hospital_level": hospital.level,
        "hospital_region": hospital.region or person.region,
        "hospital_designated": hospital.designated,
        "hospital_pilot": hospital.pilot,
        "region": person.region,
        "scheme": str(person.scheme),
        "kind": str(enc.kind),
        "encounter_date": enc.date,
        "diagnosis": enc.diagnosis,
        "disease": enc.disease,
        "referral": enc.referral,
        "prescription": enc.prescription,
        **split_fen(r),
        **encounter_columns(p),
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
    amounts = {"basic": r.basic, "assistance": r.assistance}
    entries = ledger_entries(
        None, person.region, str(person.scheme), p.institution_id, enc.date, amounts, channel
    )
    return SettlementRecord(values, _line_rows(p, r), entries, person.id, after, seq)


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
    personal = fmt(r.personal)
    zh, en = r.summaries()
    return {
        "id": settlement_id,
        "person_id": p.person.id,
        "year": p.encounter.date.year,
        "seq": seq,
        "institution_id": p.institution_id,
        "date": p.encounter.date.isoformat(),
        "kind": str(p.encounter.kind),
        "scheme": str(p.person.scheme),
        "route": str(r.route),
        "referral": p.encounter.referral,
        "total": fmt(r.total),
        "eligible": fmt(r.eligible),
        "over_limit": fmt(r.over_limit),
        "self_pay": fmt(r.self_pay),
        # To the fen such that over_limit + self_pay + first_self_pay + eligible (each as
        # shown) add up to the total (the national interface's medfee_sumamt).
        "first_self_pay": fmt(r.first_self_pay_balanced),
        "threshold": fmt(r.threshold),
        "basic": fmt(r.basic),
        "assistance": fmt(r.assistance),
        "institution": fmt(r.institution),
        "personal": personal,
        "insured_pays": personal,
        "fund_owes_institution": fmt(r.basic + r.assistance),
        "refused": None
        if r.refused is None
        else {
            "code": r.refused.code,
            "reason": {"zh": r.refused.reason.zh, "en": r.refused.reason.en},
        },
        "summary": {"zh": zh, "en": en},
        "lines": line_views(p.lines, r) if len(p.lines) == len(r.lines) else [],
        "explanation": steps if steps is not None else [s.to_dict() for s in r.steps],
        "status": "settled" if settlement_id is not None else "quote",
        "cause": p.encounter.cause,
        "delivery": p.encounter.delivery,
        "referred_from": p.origin,
    }
