"""What a clerk reads beyond the queues: one settlement as it stands (the person, the
institution by name, its lines, the explanation with each parameter and its source, and
whether and why it was reversed), and the fund's money by month: premium income (the
personal part, the government's subsidy, medical assistance), spending from the fund
ledger, and the balance. Staff only, their region (every region for the operator)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.money import fmt, from_fen
from yibao.service.access import require, require_region, visible_person
from yibao.service.certificates_common import check_year
from yibao.service.enrolment import person_view
from yibao.service.errors import NotFoundError, ServiceError
from yibao.service.ports import Clock, PolicySource, UowFactory
from yibao.service.queries import Queries

STAFF_ROLES = (Role.CLERK, Role.APPROVER)
INCOME = ("personal", "subsidy", "assistance")


def _money(fen: int) -> str:
    return fmt(from_fen(fen))


class ConsoleRecords:
    def __init__(self, uow: UowFactory, policies: PolicySource, clock: Clock) -> None:
        self.uow = uow
        self.policies = policies
        self.clock = clock

    def institution_names(self, who: Principal, ids: list[str]) -> dict[str, str]:
        require(who, *STAFF_ROLES)
        with self.uow() as uow:
            return uow.console.institution_names([i for i in ids if i])

    def settlement(self, who: Principal, settlement_id: int) -> dict[str, Any]:
        """A settlement for the clerk: the stored view (split, explanation with its
        parameters), the person, the institution's name, the lines, and the reversal's
        reason from the audit log when it was reversed."""
        require(who, *STAFF_ROLES)
        view = Queries(self.uow, self.policies).settlement(settlement_id, who)
        with self.uow() as uow:
            row = uow.ledger.settlement(settlement_id)
            assert row is not None  # the query above found it
            person = uow.registry.person(row.person_id)
            names = uow.console.institution_names([row.institution_id or ""])
            lines = uow.history.lines([settlement_id]).get(settlement_id, [])
            audit = uow.audit.entries(object_type="settlement", object_id=str(settlement_id))
        reversal = next((a for a in audit if a["action"] == "settlement.reverse"), None)
        return {
            **view,
            "person_id": row.person_id,
            "person_name": None if person is None else person.name,
            "year": int(row.year),
            "institution_name": names.get(row.institution_id or ""),
            "lines": [_line(ln) for ln in lines],
            "reversal": None
            if reversal is None
            else {
                "by": reversal["actor"],
                "at": reversal["at"],
                "reason": (reversal["after"] or {}).get("reason", ""),
            },
        }

    def correct_person(
        self, who: Principal, person_id: str, name: str, phone: str | None, assistance: bool
    ) -> dict[str, Any]:
        """A clerk corrects a person's name, mobile number and medical-assistance status
        (the ID number, and so birth date and sex, are the registry's key: a wrong one is
        a new registration). Before and after are in the audit log."""
        require(who, Role.CLERK)
        name = " ".join(name.split())
        if not name or len(name) > 100:
            raise ServiceError("invalid_name", "name: 1 to 100 characters", field="name")
        if phone is not None and not re.fullmatch(r"1\d{10}", phone):
            raise ServiceError("invalid_phone", "phone: 11 digits starting with 1", field="phone")
        with self.uow() as uow:
            before = visible_person(uow, who, person_id)
            after = replace(before, name=name, phone=phone, assistance=assistance)
            if after == before:
                return person_view(before)
            uow.console.correct_person(person_id, name, phone, assistance)
            uow.audit.record(
                who, "person.update", "person", person_id, person_view(before), person_view(after)
            )
            uow.commit()
        return person_view(after)

    def fund_months(self, who: Principal, region: str, year: int) -> dict[str, Any]:
        """The fund's money for a region's year, by month: income from premiums (by the
        day they were collected or exempted, so the months before the year count), the
        spending booked in the fund ledger (by the encounter's month), and the balance
        carried from month to month. Exact decimal strings (yuan)."""
        require(who, *STAFF_ROLES)
        require_region(who, region)
        check_year(year)
        with self.uow() as uow:
            if not uow.console.regions(region):
                raise NotFoundError(
                    "unknown_region", f"region {region!r} is unknown", field="region"
                )
            premiums = uow.console.premiums_by_day(region, year)
            ledger = uow.console.ledger_totals(region, year)
        income: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(INCOME, 0))
        for r in premiums:
            month = r.paid_on.isoformat()[:7]
            for part in INCOME:
                income[month][part] += int(getattr(r, f"{part}_fen"))
        spending: dict[str, int] = defaultdict(int)
        for r in ledger:
            spending[r.month] += int(r.amount_fen)
        months = sorted(set(income) | set(spending) | {f"{year}-{m:02d}" for m in range(1, 13)})
        rows, balance = [], 0
        for month in months:
            got = income.get(month, dict.fromkeys(INCOME, 0))
            came_in = sum(got.values())
            balance += came_in - spending.get(month, 0)
            rows.append(
                {
                    "month": month,
                    "income": {part: _money(fen) for part, fen in got.items()},
                    "income_total": _money(came_in),
                    "spending": _money(spending.get(month, 0)),
                    "balance": _money(balance),
                }
            )
        totals = {part: sum(income[m][part] for m in income) for part in INCOME}
        return {
            "region": region,
            "year": year,
            "months": rows,
            "income": {part: _money(fen) for part, fen in totals.items()},
            "income_total": _money(sum(totals.values())),
            "spending": _money(sum(spending.values())),
            "balance": _money(balance),
        }


def _line(ln: Any) -> dict[str, Any]:
    return {
        "no": int(ln.line_no),
        "code": ln.national_code or ln.code,
        "name": ln.name,
        "cls": ln.cls,
        "quantity": ln.quantity,
        "unit_price": ln.unit_price or _money(int(ln.unit_price_fen)),
        "amount": _money(int(ln.amount_fen)),
        "cap": ln.cap,
        "ratio": ln.ratio,
        "restricted": bool(ln.restricted),
        "over_limit": _money(int(ln.over_limit_fen or 0)),
        "self_pay": _money(int(ln.full_self_pay_fen or 0)),
    }
