"""What a family needs to know about premiums: for each enrolment of this year and later,
whether the premium is paid, and if not, what to pay, where (the collection account the
bank knows) and by when (the region's enrolment window); and whether next year's
enrolment is open."""

from __future__ import annotations

from datetime import date
from typing import Any

from yibao.domain.enrolment import window_for
from yibao.domain.money import fmt, from_fen
from yibao.domain.parameters import PolicyGapError, RegionPolicy
from yibao.domain.registry import Enrolment, PersonRecord
from yibao.service.ports import UnitOfWork


def premium_status(
    uow: UnitOfWork,
    policy: RegionPolicy | None,
    person: PersonRecord,
    enrolments: list[Enrolment],
    today: date,
) -> dict[str, Any]:
    accounts = {int(a.year): a for a in uow.member.collection_accounts_of(person.id)}
    years = []
    for e in enrolments:
        account = accounts.get(e.year)
        years.append(
            {
                "year": e.year,
                "status": "paid" if e.paid_on is not None or e.status == "active" else e.status,
                "paid_on": None if e.paid_on is None else e.paid_on.isoformat(),
                "due": fmt(e.personal),
                "account": None if account is None else str(account.number),
                "account_amount": None if account is None else fmt(from_fen(account.amount_fen)),
                "closes": _closes(policy, e.year),
            }
        )
    following = today.year + 1
    window = _window(policy, following)
    open_now = window is not None and window[0] <= today <= window[1]
    return {
        "years": years,
        "next": {
            "year": following,
            "enrolled": any(e.year == following for e in enrolments),
            "open": open_now,
            "opens": None if window is None else window[0].isoformat(),
            "closes": None if window is None else window[1].isoformat(),
        },
    }


def _window(policy: RegionPolicy | None, year: int) -> tuple[date, date] | None:
    if policy is None or policy.enrolment is None:
        return None
    try:
        opens, closes, _ = window_for(policy.enrolment, year)
    except PolicyGapError:
        return None
    return opens, closes


def _closes(policy: RegionPolicy | None, year: int) -> str | None:
    window = _window(policy, year)
    return None if window is None else window[1].isoformat()
