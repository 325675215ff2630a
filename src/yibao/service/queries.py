"""Read-only views: a settlement, a person's year with what remains before each limit."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.engine import serious_illness
from yibao.domain.explain import read_steps
from yibao.domain.model import Scheme
from yibao.domain.money import ZERO, fmt, from_fen
from yibao.domain.parameters import RegionPolicy, ThresholdPer, TopLineOn
from yibao.service.access import require, visible_person
from yibao.service.certificates_referrals import certificates_of_stays
from yibao.service.errors import NotFoundError
from yibao.service.history import Stored, person_for_year, stored_year
from yibao.service.ports import PolicySource, UnitOfWork, UowFactory


def stored_view(s: Stored) -> dict[str, Any]:
    row = s.row
    return {
        "id": row.id,
        "seq": row.seq,
        "channel": row.channel,
        "institution_id": row.institution_id,
        "date": row.encounter_date.isoformat(),
        "kind": row.kind,
        "route": row.route,
        "status": row.status,
        "total": fmt(from_fen(row.total_fen)),
        "eligible": fmt(from_fen(row.eligible_fen)),
        "basic": fmt(s.split.basic),
        "assistance": fmt(s.split.assistance),
        "institution": fmt(s.split.institution),
        "personal": fmt(s.split.personal),
        "threshold": fmt(s.split.threshold),
        "refused": None
        if row.refused_code is None
        else {"code": row.refused_code, **json.loads(row.refused_reason)},
        "explanation": read_steps(json.loads(s.explanation)),  # stored as data, read as words
        "cause": s.encounter.cause,
        "delivery": s.encounter.delivery,
        "referred_from": row.referred_from,
    }


def settlement_visible(uow: UnitOfWork, who: Principal, row: Any) -> bool:
    """An institution sees the settlements it made; staff those of their region; a member
    their own and their children's."""
    if who.role is Role.INSTITUTION:
        return bool(row.institution_id == who.institution_id)
    if who.is_staff:
        return who.region is None or who.region == row.region
    if who.is_member:
        person = uow.registry.person(row.person_id)
        return person is not None and (
            person.id == who.person_id
            or (
                who.person_id is not None
                and (
                    person.id in uow.registry.children_of(who.person_id)
                    or person.id in uow.member.bound_to(who.person_id)
                )
            )
        )
    return False


class Queries:
    def __init__(self, uow: UowFactory, policies: PolicySource) -> None:
        self.uow = uow
        self.policies = policies

    def settlement(self, settlement_id: int, who: Principal) -> dict[str, Any]:
        with self.uow() as uow:
            row = uow.ledger.settlement(settlement_id)
            if row is None or not settlement_visible(uow, who, row):
                raise NotFoundError(
                    "unknown_settlement", f"settlement {settlement_id} does not exist"
                )
            found = next(
                s for s in stored_year(uow, row.person_id, row.year) if s.row.id == settlement_id
            )
            # The certificates that name this stay, by the rule a certificate's own stays
            # follow (read now: a certificate recorded after the stay finds it too).
            referrals = certificates_of_stays(uow, row.person_id, [row])[settlement_id]
            return {**stored_view(found), "referrals": referrals}

    def person_year(self, who: Principal, person_id: str, year: int) -> dict[str, Any]:
        """Every settlement of the year with its explanation, and the accumulators against
        each limit (the rules in force at the year's end)."""
        require(who, Role.CLERK, Role.APPROVER, Role.INSURED, Role.GUARDIAN)
        with self.uow() as uow:
            visible_person(uow, who, person_id)
            person = person_for_year(uow, person_id, year)
            stored = stored_year(uow, person_id, year)
            acc = uow.ledger.read_person_year(person_id, year)
            yearly = uow.yearly.get(person_id, year)
            # Each stay with the certificates that name it: the member app's stay page.
            referrals = certificates_of_stays(uow, person_id, [s.row for s in stored])
        policy = self.policies(person.region)
        limits = year_limits(policy, person.scheme, acc, date(year, 12, 31))
        layer = serious_illness(policy, person, acc)
        return {
            "person_id": person_id,
            "year": year,
            "scheme": person.scheme.value,
            "settlements": [
                {**stored_view(s), "referrals": referrals[int(s.row.id)]} for s in stored
            ],
            "accumulators": acc.to_dict(),
            "limits": limits,
            "serious_illness": {
                "base": fmt(layer.base),
                # What the layer would pay on the year so far, and what the yearly run paid.
                "payment_so_far": fmt(layer.payment),
                "settled": None if yearly is None else fmt(from_fen(yearly.payment_fen)),
                "explanation": [s.to_dict() for s in layer.steps],
            },
        }


def year_limits(
    policy: RegionPolicy, scheme: Scheme, acc: YearAccumulators, day: date
) -> list[dict[str, Any]]:
    """The scheme's yearly limits in force on the day (the outpatient fund limit, a
    yearly outpatient threshold, the inpatient top line): each with what the year has
    used of it, what remains and the parameter it is."""
    limits: list[dict[str, Any]] = []

    def limit(name: str, amount: Decimal, used: Decimal, ref: str) -> None:
        limits.append(
            {
                "name": name,
                "limit": fmt(amount),
                "used": fmt(used),
                "remaining": fmt(max(amount - used, ZERO)),
                "parameter": ref,
            }
        )

    rules = policy.schemes.get(scheme)
    if rules is None:
        return limits
    fund_limit = rules.outpatient.fund_limit.at(day)
    limit("outpatient_fund", fund_limit.value, acc.outpatient_fund_paid, str(fund_limit.ref))
    threshold = rules.outpatient.threshold.at(day)
    if threshold.value.per is ThresholdPer.YEAR and threshold.value.amount.flat:
        limit(
            "outpatient_threshold",
            threshold.value.amount.flat,
            acc.threshold_charged("outpatient"),
            str(threshold.ref),
        )
    if rules.inpatient.top_line is not None:
        top = rules.inpatient.top_line.at(day)
        used = acc.pooled_cost if top.value.on is TopLineOn.POOLED_COST else acc.inpatient_fund_paid
        limit(f"top_line_{top.value.on.value}", top.value.amount, used, str(top.ref))
    return limits
