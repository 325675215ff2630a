"""The staff console's use cases: finding persons, work queues, the fund dashboard.

Staff (clerks and approvers) of a region see that region; staff without a region see
every region. The queues' actions are the other services' use cases (claims, schools,
certificates, cards): this service only reads what the console lists and sums.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.money import ZERO, fmt, from_fen, to_fen
from yibao.domain.parameters import PolicyGapError, RegionPolicy, TopLineOn
from yibao.service.access import require, require_region, visible_person
from yibao.service.certificates_common import check_year
from yibao.service.claims import claim_view
from yibao.service.console_records import ConsoleRecords
from yibao.service.errors import NotFoundError, ServiceError
from yibao.service.ports import Clock, PolicySource, UowFactory

STAFF_ROLES = (Role.CLERK, Role.APPROVER)
LAYERS = ("basic", "assistance", "serious_illness")
MAX_RESULTS = 50
MAX_QUERY = 100
# Person-years read per query when counting who is past a top line.
CHUNK = 1000


class ConsoleService:
    def __init__(self, uow: UowFactory, policies: PolicySource, clock: Clock) -> None:
        self.uow = uow
        self.policies = policies
        self.clock = clock
        self.records = ConsoleRecords(uow, policies, clock)  # a settlement, the fund by month

    def _policy(self, region: str) -> RegionPolicy:
        try:
            return self.policies(region)
        except ValueError as exc:
            raise NotFoundError("unknown_region", str(exc), field="region") from None

    # --- regions ---------------------------------------------------------------------

    def regions(self, who: Principal) -> list[dict[str, str]]:
        """The regions the staff member works for (every region without one of their own)."""
        require(who, *STAFF_ROLES)
        with self.uow() as uow:
            rows = uow.console.regions(who.region)
        return [{"code": r.code, "name_zh": r.name_zh, "name_en": r.name_en} for r in rows]

    # --- finding persons -------------------------------------------------------------

    def search(self, who: Principal, text: str, limit: int = MAX_RESULTS) -> list[dict[str, Any]]:
        """Persons of the caller's region by name (contains), ID number (exact or its
        beginning), registry id or card number; with this year's scheme and their card."""
        require(who, *STAFF_ROLES)
        text = " ".join(text.split())
        if not text:
            raise ServiceError("missing_query", "q: type a name, an ID number or a card", field="q")
        if len(text) > MAX_QUERY:
            raise ServiceError("query_too_long", f"q: at most {MAX_QUERY} characters", field="q")
        year = self.clock().year
        with self.uow() as uow:
            rows = uow.console.search_persons(text, who.region, year, max(1, min(limit, 200)))
        return [
            {
                "id": r["id"],
                "id_number": r["id_number"],
                "name": r["name"],
                "region": r["region"],
                "birth_date": r["birth_date"].isoformat(),
                "year": year,
                "scheme": r["scheme"],
                "enrolment_status": r["status"],
                "card": r["card"],
            }
            for r in rows
        ]

    def person_claims(self, who: Principal, person_id: str) -> list[dict[str, Any]]:
        """A person's manual reimbursement claims, oldest first (staff of the region)."""
        require(who, *STAFF_ROLES)
        with self.uow() as uow:
            person = visible_person(uow, who, person_id)
            return [claim_view(r) for r in uow.console.claims_of(person.id)]

    # --- work queues -----------------------------------------------------------------

    def queue_counts(self, who: Principal) -> dict[str, int]:
        """Items waiting in each queue: class lists to review, approvals to decide, claims
        to review, cards past their due date."""
        require(who, *STAFF_ROLES)
        with self.uow() as uow:
            return uow.console.queue_counts(who.region, self.clock())

    def school_queue(self, who: Principal) -> list[dict[str, Any]]:
        """Submitted class lists with rows waiting for review, oldest first."""
        require(who, *STAFF_ROLES)
        with self.uow() as uow:
            rows = uow.console.submitted_batches(who.region)
        return [
            {
                "id": int(r.id),
                "school_id": r.school_id,
                "school_name": r.school_name,
                "region": r.region,
                "year": int(r.year),
                "rows": int(r.rows),
                "file_name": r.file_name,
                "submitted_at": None if r.submitted_at is None else r.submitted_at.isoformat(),
                "waiting": int(r.waiting),
            }
            for r in rows
        ]

    # --- the fund dashboard ----------------------------------------------------------

    def dashboard(self, who: Principal, region: str, year: int) -> dict[str, Any]:
        """A region's year from the fund ledger: payments by scheme and layer and by month,
        the persons past each top line, the serious-illness payments. Amounts are exact
        decimal strings (yuan)."""
        require(who, *STAFF_ROLES)
        require_region(who, region)
        check_year(year)
        policy = self._policy(region)
        with self.uow() as uow:
            if not uow.console.regions(region):
                raise NotFoundError(
                    "unknown_region", f"region {region!r} is not in the registry", field="region"
                )
            ledger = uow.console.ledger_totals(region, year)
            tops = self._top_lines(uow, policy, region, year)
            serious = uow.console.serious_illness(region, year)
            years = uow.console.ledger_years(region)
        return {
            "region": region,
            "year": year,
            "years": years,
            **_ledger_view(ledger, year),
            "top_lines": tops,
            "serious_illness": _serious_view(serious),
        }

    def _top_lines(
        self, uow: Any, policy: RegionPolicy, region: str, year: int
    ) -> list[dict[str, Any]]:
        """Per scheme with an inpatient top line: the person-years whose pooled cost (or
        fund payments, as the line is drawn) reached it by the year's end; and the
        serious-illness layer's top line on its payment."""
        day = date(year, 12, 31)
        lines = _inpatient_top_lines(policy, day)
        past: dict[str, int] = dict.fromkeys(lines, 0)
        person_years: dict[str, int] = dict.fromkeys(lines, 0)
        for chunk in uow.console.person_year_states(region, year, CHUNK):
            for r in chunk:
                line = lines.get(r.scheme)
                if line is None:
                    continue
                person_years[r.scheme] += 1
                if _past_line(json.loads(r.state), *line):
                    past[r.scheme] += 1
        found: list[dict[str, Any]] = [
            {
                "scheme": scheme,
                "line": "inpatient",
                "on": on.value,
                "amount": fmt(amount),
                "person_years": person_years[scheme],
                "persons": past[scheme],
            }
            for scheme, (on, amount) in lines.items()
        ]
        top_si = _serious_top_line(policy, day)
        if top_si is not None:
            found.append(
                {
                    "scheme": "",
                    "line": "serious_illness",
                    "on": "payment",
                    "amount": fmt(top_si),
                    "person_years": None,
                    "persons": uow.console.serious_illness_at_least(region, year, to_fen(top_si)),
                }
            )
        return found


def _money(fen: int) -> str:
    return fmt(from_fen(fen))


def _ledger_view(ledger: Any, year: int) -> dict[str, Any]:
    """The ledger's payment rows summed: the total, by layer, by scheme, by scheme and
    layer, and by month (every month of the year, each with its layers)."""
    by_scheme_layer: dict[tuple[str, str], int] = defaultdict(int)
    by_month: dict[str, dict[str, int]] = {
        f"{year}-{m:02d}": dict.fromkeys(LAYERS, 0) for m in range(1, 13)
    }
    by_layer: dict[str, int] = dict.fromkeys(LAYERS, 0)
    for r in ledger:
        fen = int(r.amount_fen)
        by_scheme_layer[(r.scheme, r.layer)] += fen
        by_month.setdefault(r.month, dict.fromkeys(LAYERS, 0))
        by_month[r.month][r.layer] = by_month[r.month].get(r.layer, 0) + fen
        by_layer[r.layer] = by_layer.get(r.layer, 0) + fen
    by_scheme: dict[str, int] = defaultdict(int)
    for (scheme, _), fen in by_scheme_layer.items():
        by_scheme[scheme] += fen
    return {
        "total": _money(sum(by_layer.values())),
        "by_layer": {layer: _money(fen) for layer, fen in by_layer.items()},
        "by_scheme": [
            {"scheme": scheme, "amount": _money(fen)} for scheme, fen in sorted(by_scheme.items())
        ],
        "by_scheme_layer": [
            {"scheme": scheme, "layer": layer, "amount": _money(fen)}
            for (scheme, layer), fen in sorted(
                by_scheme_layer.items(), key=lambda kv: (kv[0][0], _layer_order(kv[0][1]))
            )
        ],
        "by_month": [
            {
                "month": month,
                "amount": _money(sum(layers.values())),
                "layers": {layer: _money(fen) for layer, fen in layers.items()},
            }
            for month, layers in sorted(by_month.items())
        ],
    }


def _serious_view(serious: Any) -> dict[str, Any]:
    """The serious-illness layer's persons and payments, in all and by scheme."""
    return {
        "persons": sum(int(r.persons) for r in serious),
        "amount": _money(sum(int(r.payment_fen) for r in serious)),
        "by_scheme": [
            {"scheme": r.scheme, "persons": int(r.persons), "amount": _money(int(r.payment_fen))}
            for r in serious
        ],
    }


def _inpatient_top_lines(policy: RegionPolicy, day: date) -> dict[str, tuple[TopLineOn, Decimal]]:
    """Scheme -> (what the inpatient top line is drawn on, its amount) on the day, for the
    schemes that have one in force."""
    lines: dict[str, tuple[TopLineOn, Decimal]] = {}
    for scheme, rules in sorted(policy.schemes.items()):
        if rules.inpatient.top_line is None:
            continue
        try:
            top = rules.inpatient.top_line.at(day).value
        except PolicyGapError:
            continue
        lines[str(scheme)] = (top.on, top.amount)
    return lines


def _past_line(state: dict[str, Any], on: TopLineOn, amount: Decimal) -> bool:
    """Whether a person-year's accumulators reached the top line."""
    acc = YearAccumulators.from_dict(state)
    used = acc.pooled_cost if on is TopLineOn.POOLED_COST else acc.inpatient_fund_paid
    return used >= amount


def _serious_top_line(policy: RegionPolicy, day: date) -> Decimal | None:
    """The serious-illness layer's top line on the day, if the region has one in force."""
    if policy.serious_illness is None:
        return None
    try:
        return policy.serious_illness.top_line.at(day).value
    except PolicyGapError:
        return None


def _layer_order(layer: str) -> int:
    return LAYERS.index(layer) if layer in LAYERS else len(LAYERS)


CSV_HEADER = ("section", "scheme", "layer", "month", "amount", "persons")


def dashboard_csv(view: dict[str, Any]) -> str:
    """The dashboard as CSV rows (section, scheme, layer, month, amount, persons); amounts
    are the exact decimal strings of the view."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    for r in view["by_scheme_layer"]:
        w.writerow(("scheme_layer", r["scheme"], r["layer"], "", r["amount"], ""))
    for r in view["by_scheme"]:
        w.writerow(("scheme", r["scheme"], "", "", r["amount"], ""))
    for r in view["by_month"]:
        for layer, amount in r["layers"].items():
            if Decimal(amount) != ZERO:
                w.writerow(("month_layer", "", layer, r["month"], amount, ""))
        w.writerow(("month", "", "", r["month"], r["amount"], ""))
    for r in view["top_lines"]:
        w.writerow(("top_line", r["scheme"], r["line"], "", r["amount"], r["persons"]))
    si = view["serious_illness"]
    for r in si["by_scheme"]:
        w.writerow(
            ("serious_illness", r["scheme"], "serious_illness", "", r["amount"], r["persons"])
        )
    w.writerow(("serious_illness_total", "", "serious_illness", "", si["amount"], si["persons"]))
    w.writerow(("total", "", "", "", view["total"], ""))
    return out.getvalue()
