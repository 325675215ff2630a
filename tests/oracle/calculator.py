"""An independent calculator of the reference policies (shared reference-policies.md).

Written from the reference text alone, without reading the engine or the region data, so
that a misreading shared by the engine and its scenario files shows up as a disagreement
(tests/oracle/test_differential.py). It is meant to be plain and slow: one function per
rule, every number written where the text gives it, Decimal money, and one rounding
half-up to the fen per layer of each encounter, at its end (reference, preamble).

Input: a scenario as a mapping, in the shared scenario format (scenario-format.md).
Output: the money of each encounter and of the year, as `Decimal`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

D = Decimal
ZERO = D(0)
FEN = D("0.01")
INFINITY = D("1e18")  # the upper bound of an open-ended bracket

SAMPLE, HILL, RIVER = "sample-city", "hill-county", "river-county"
OUTPATIENT_KINDS = ("outpatient", "emergency", "pharmacy")  # section 2: all count as outpatient
SPECIAL_DISEASES = ("malignant_tumor", "dialysis", "kidney_transplant")  # section 4
CATEGORIES_WITH_POINTS = ("low_income", "special_hardship", "poverty_registered")  # section 10

# Section 3: the pilot diseases and their limited cost per treatment.
PILOT_LIMITED_COST = {
    "C91.0": D(80000),
    "C92.4": D(60000),
    "Q21.1": D(30000),
    "Q21.0": D(35000),
    "Q25.0": D(25000),
    "Q22.1": D(30000),
}

CLASS_B_FIRST_SELF_PAY = D("0.10")  # section 1 (no region's text gives another default)


def fen(x: Decimal) -> Decimal:
    """Round half-up to the fen: once per layer of each encounter, at its end."""
    return x.quantize(FEN, rounding=ROUND_HALF_UP)


def bands(low: Decimal, high: Decimal, brackets: list[tuple[Decimal, Decimal, Decimal]]) -> Decimal:
    """A marginal rate scale on the slice [low, high): sum of rate × overlap per bracket."""
    paid = ZERO
    for start, end, rate in brackets:
        overlap = min(high, end) - max(low, start)
        if overlap > 0:
            paid += rate * overlap
    return paid


def pct(n: int | Decimal) -> Decimal:
    return D(n) / 100


def age_on(birth: date, day: date) -> int:
    """Completed years on the day (a 29 February birthday completes on 1 March)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _day(raw: Any) -> date:
    return raw if isinstance(raw, date) else date.fromisoformat(str(raw))


# --------------------------------------------------------------------------- lines (1, 1a)


@dataclass
class LineParts:
    amount: Decimal
    over_limit: Decimal = ZERO
    full_self_pay: Decimal = ZERO
    first_self_pay: Decimal = ZERO
    eligible: Decimal = ZERO


def line_parts(line: dict[str, Any]) -> LineParts:
    """amount = over-limit self-pay + full self-pay + first self-pay + eligible (1a)."""
    if "amount" in line:
        parts = LineParts(D(str(line["amount"])))
        rest = parts.amount
    else:
        quantity, price = D(str(line["quantity"])), D(str(line["unit_price"]))
        parts = LineParts(fen(quantity * price))
        rest = parts.amount
        cap = line.get("cap")
        if cap is not None and price > D(str(cap)):
            parts.over_limit = fen((price - D(str(cap))) * quantity)
            rest -= parts.over_limit
    cls = line["class"]
    if line.get("outside_restriction", False) or cls == "self_pay":
        parts.full_self_pay = rest
    elif cls == "B":
        ratio = D(str(line["ratio"])) if line.get("ratio") is not None else CLASS_B_FIRST_SELF_PAY
        parts.first_self_pay = rest * ratio
        parts.eligible = rest - parts.first_self_pay
    else:  # A
        parts.eligible = rest
    return parts


# --------------------------------------------------------------------------- results


@dataclass
class EncounterMoney:
    id: str
    total: Decimal
    over_limit: Decimal
    full_self_pay: Decimal
    first_self_pay: Decimal
    eligible: Decimal  # exact
    basic: Decimal = ZERO
    assistance: Decimal = ZERO
    institution: Decimal = ZERO
    refused: str | None = None

    @property
    def personal(self) -> Decimal:
        return self.total - self.basic - self.assistance - self.institution

    @property
    def remaining_on_eligible(self) -> Decimal:
        """Section 5: eligible − basic − assistance − institution-absorbed; refused: nothing."""
        if self.refused is not None:
            return ZERO
        return self.eligible - self.basic - self.assistance - self.institution


@dataclass
class YearMoney:
    encounters: list[EncounterMoney]
    serious_illness: Decimal

    @property
    def personal(self) -> Decimal:
        return sum((e.personal for e in self.encounters), ZERO) - self.serious_illness


@dataclass
class Accumulators:
    """What a person's year has used so far."""

    outpatient_paid: Decimal = ZERO  # fund outpatient payments (all regions)
    outpatient_eligible: Decimal = ZERO  # employee: eligible outpatient cost toward the 2,000
    pooled: Decimal = ZERO  # sample-city: accumulated pooled cost (inpatient + special)
    inpatient_paid: Decimal = ZERO  # hill/river: fund payments under the top line
    accident_paid: Decimal = ZERO  # river-county: accidental injury payments
    special_threshold: dict[str, Decimal] = field(default_factory=dict)  # charged, by disease
    stay_threshold: dict[str, Decimal] = field(default_factory=dict)  # river: charged, by stay
    stay_from: dict[str, str | None] = field(default_factory=dict)  # river: referred_from
    stay_level: dict[str, int] = field(default_factory=dict)  # river: level of each stay


# --------------------------------------------------------------------------- the person


@dataclass
class Person:
    birth: date
    scheme: str
    retired: bool
    contribution_years: int | None
    assistance: bool
    approvals: list[dict[str, Any]]
    filings: list[dict[str, Any]]
    category: str  # for the whole year
    categories: list[dict[str, Any]]  # or dated, like a filing (section 10)

    def filed_for(self, region: str, day: date) -> bool:
        return any(
            f["region"] == region and _day(f["from"]) <= day <= _day(f["to"]) for f in self.filings
        )

    def approved(self, disease: str, hospital: str, day: date) -> bool:
        for a in self.approvals:
            if a["disease"] != disease or a["hospital"] != hospital:
                continue
            start = _day(a["from"]) if a.get("from") is not None else date.min
            end = _day(a["to"]) if a.get("to") is not None else date.max
            if start <= day <= end:
                return True
        return False

    def category_on(self, day: date) -> str:
        for c in self.categories:
            start = _day(c["from"]) if c.get("from") is not None else date.min
            end = _day(c["to"]) if c.get("to") is not None else date.max
            if start <= day <= end:
                return str(c["category"])
        return self.category

    def has_points(self, day: date) -> bool:
        return self.category_on(day) in CATEGORIES_WITH_POINTS


def _person(raw: dict[str, Any]) -> Person:
    return Person(
        birth=_day(raw["birth_date"]),
        scheme=raw["scheme"],
        retired=raw.get("retired", False),
        contribution_years=raw.get("contribution_years"),
        assistance=raw.get("assistance", False),
        approvals=list(raw.get("approvals", [])),
        filings=list(raw.get("filings", [])),
        category=raw.get("category") or "general",
        categories=list(raw.get("categories", [])),
    )


# --------------------------------------------------------------------------- the year


def settle(scenario: dict[str, Any]) -> YearMoney:
    region = scenario["region"]
    person = _person(scenario["person"])
    acc = Accumulators()
    order = sorted(enumerate(scenario["encounters"]), key=lambda ie: (_day(ie[1]["date"]), ie[0]))
    results = [settle_encounter(region, person, enc, acc) for _, enc in order]
    x = sum((r.remaining_on_eligible for r in results), ZERO)
    return YearMoney(results, serious_illness(region, person, int(scenario["year"]), x))


def serious_illness(region: str, person: Person, year: int, x: Decimal) -> Decimal:
    """Sections 5, 8, 10: once a year, on the year's remaining personal payment on eligible
    cost X; residents' schemes only."""
    if person.scheme == "employee":
        return ZERO
    if region == SAMPLE:
        brackets = [(D(54000), D(154000), pct(60)), (D(154000), INFINITY, pct(70))]
        top: Decimal | None = D(400000)
    elif region == HILL:
        brackets = [
            (D(10000), D(30000), pct(60)),
            (D(30000), D(100000), pct(70)),
            (D(100000), INFINITY, pct(80)),
        ]
        top = D(300000)
    else:
        # A category held on the year's last day (the layer is settled after the year).
        points = person.has_points(date(year, 12, 31))
        deductible = D(7500) if points else D(15000)
        brackets = [
            (deductible, D(50000), pct(50)),
            (D(50000), D(100000), pct(60)),
            (D(100000), INFINITY, pct(70)),
        ]
        top = None if points else D(300000)
    pay = bands(ZERO, x, brackets)
    if top is not None:
        pay = min(pay, top)
    return fen(pay)


def settle_encounter(
    region: str, person: Person, enc: dict[str, Any], acc: Accumulators
) -> EncounterMoney:
    parts = [line_parts(ln) for ln in enc["lines"]]
    money = EncounterMoney(
        id=enc["id"],
        total=sum((p.amount for p in parts), ZERO),
        over_limit=fen(sum((p.over_limit for p in parts), ZERO)),
        full_self_pay=fen(sum((p.full_self_pay for p in parts), ZERO)),
        first_self_pay=fen(sum((p.first_self_pay for p in parts), ZERO)),
        eligible=sum((p.eligible for p in parts), ZERO),
    )
    day = _day(enc["date"])
    kind = enc["kind"]
    hospital = enc["hospital"]
    local = hospital.get("region", region) == region

    refusal = _refusal(region, person, enc, day)
    if refusal is not None:
        money.refused = refusal
        return money
    if not hospital.get("designated", True) and kind != "emergency":
        return _all_personal(money)  # section 1: not designated, not an emergency
    if kind == "pharmacy" and not enc.get("prescription", True):
        return _all_personal(money)  # section 1: no prescription from a designated hospital
    if (
        region == RIVER
        and kind in OUTPATIENT_KINDS
        and not local
        and not (person.filed_for(hospital["region"], day) or kind == "emergency")
    ):
        # Section 10: outpatient elsewhere, neither filed nor an emergency: the fund pays
        # nothing, but the lines keep their catalogue classes ("catalogue classes as in
        # section 1"), so the eligible part still counts toward the serious-illness X.
        return money

    if region == SAMPLE:
        _sample_city(person, enc, day, local, money, acc)
    elif region == HILL:
        _hill_county(person, enc, day, local, money, acc)
    else:
        _river_county(person, enc, day, local, money, acc)
    return money


def _all_personal(money: EncounterMoney) -> EncounterMoney:
    """Section 1: nothing of the bill is eligible; all but the over-limit part is full
    self-pay (so the four parts still add up to the amount)."""
    money.eligible = ZERO
    money.first_self_pay = ZERO
    money.full_self_pay = money.total - money.over_limit
    return money


def _refusal(region: str, person: Person, enc: dict[str, Any], day: date) -> str | None:
    if person.scheme == "employee" and region != SAMPLE:
        return "employee insurance is not offered in this region"  # sections 8, 10
    if person.scheme == "employee" and person.retired and (person.contribution_years or 0) < 20:
        return "retiree with fewer than 20 contribution years"  # section 4
    if enc["kind"] == "special_outpatient":
        if region == RIVER:
            return "special diseases are not offered in river-county"  # section 10
        if not person.approved(enc["disease"], enc["hospital"]["id"], day):
            return "no approval for this disease at this hospital on this date"  # section 4
    return None


def _is_pilot(region: str, person: Person, enc: dict[str, Any], day: date) -> bool:
    """Section 3 (sample-city and hill-county; river-county does not offer it)."""
    return (
        region in (SAMPLE, HILL)
        and person.scheme in ("student", "resident")
        and enc["kind"] == "inpatient"
        and enc["hospital"].get("pilot", False)
        and enc.get("diagnosis") in PILOT_LIMITED_COST
        and age_on(person.birth, day) <= 14
    )


def _pilot(person: Person, enc: dict[str, Any], money: EncounterMoney, fund_share: Decimal) -> None:
    """Section 3: base = min(eligible, limited cost); the fund's share of base (70%, lowered
    by a reduction elsewhere), assistance 20% of base, the institution absorbs the rest."""
    limited = PILOT_LIMITED_COST[enc["diagnosis"]]
    base = min(money.eligible, limited)
    money.basic = fen(base * fund_share)
    money.assistance = fen(base * pct(20)) if person.assistance else ZERO
    money.institution = fen(money.eligible - base)


def _special_threshold(
    acc: Accumulators, disease: str, threshold: Decimal, eligible: Decimal
) -> Decimal:
    """A yearly threshold per disease: what is left of it is charged on this visit."""
    charged = acc.special_threshold.get(disease, ZERO)
    now = min(eligible, max(ZERO, threshold - charged))
    acc.special_threshold[disease] = charged + now
    return now


# --------------------------------------------------------------------------- sample-city


def _sample_city(
    person: Person,
    enc: dict[str, Any],
    day: date,
    local: bool,
    money: EncounterMoney,
    acc: Accumulators,
) -> None:
    kind = enc["kind"]
    # Section 6: the share by which the basic fund's payment is reduced elsewhere.
    if local or kind == "emergency" or person.filed_for(enc["hospital"]["region"], day):
        keep = D(1)
    elif enc.get("referral", False):
        keep = 1 - pct(30)
    else:
        keep = 1 - pct(50)
    eligible = money.eligible
    if _is_pilot(SAMPLE, person, enc, day):
        _pilot(person, enc, money, pct(70) * keep)
        return
    if person.scheme == "employee":
        if kind in OUTPATIENT_KINDS:
            before = acc.outpatient_eligible
            acc.outpatient_eligible += eligible
            above = bands(before, acc.outpatient_eligible, [(D(2000), INFINITY, D(1))])
            local_pay = min(above * pct(50), D(20000) - acc.outpatient_paid)
            money.basic = fen(local_pay * keep)
            acc.outpatient_paid += money.basic
            return
        level = enc["hospital"]["level"]
        threshold = {0: D(300), 1: D(300), 2: D(600), 3: D(1000)}[level]
        if kind == "special_outpatient":
            threshold = _special_threshold(acc, enc["disease"], threshold, eligible)
        pooled = max(ZERO, eligible - threshold)
        rate = pct(90) if person.retired else pct(85)
        before = acc.pooled
        acc.pooled += pooled
        local_pay = bands(before, acc.pooled, [(ZERO, D(300000), rate)])
        money.basic = fen(local_pay * keep)
        return
    # student and resident: section 2
    if kind in OUTPATIENT_KINDS:
        local_pay = min(eligible * pct(50), D(600) - acc.outpatient_paid)
        money.basic = fen(local_pay * keep)
        acc.outpatient_paid += money.basic
        return
    threshold = D(500)
    if kind == "special_outpatient":
        threshold = _special_threshold(acc, enc["disease"], threshold, eligible)
    pooled = max(ZERO, eligible - threshold)
    before = acc.pooled
    acc.pooled += pooled
    segments = [
        (ZERO, D(40000), pct(70)),
        (D(40000), D(100000), pct(80)),
        (D(100000), D(200000), pct(90)),
    ]
    money.basic = fen(bands(before, acc.pooled, segments) * keep)


# --------------------------------------------------------------------------- hill-county


def _hill_county(
    person: Person,
    enc: dict[str, Any],
    day: date,
    local: bool,
    money: EncounterMoney,
    acc: Accumulators,
) -> None:
    kind = enc["kind"]
    # Section 8: points off the rate elsewhere; filed: local rates; an emergency is an
    # emergency even with a filing or referral (section 6).
    if local:
        points = 0
    elif kind == "emergency":
        points = 10
    elif person.filed_for(enc["hospital"]["region"], day):
        points = 0
    elif enc.get("referral", False):
        points = 10
    else:
        points = 15
    eligible = money.eligible
    if _is_pilot(HILL, person, enc, day):
        _pilot(person, enc, money, pct(70 - points))
        return
    if kind in OUTPATIENT_KINDS:
        pay = min(eligible * pct(60 - points), D(400) - acc.outpatient_paid)
        money.basic = fen(pay)
        acc.outpatient_paid += money.basic
        return
    level = enc["hospital"]["level"]
    threshold = {0: D(100), 1: D(300), 2: D(400), 3: D(500)}[level]
    rate = {0: 80, 1: 80, 2: 75, 3: 70}[level] - points
    if kind == "special_outpatient":
        threshold = _special_threshold(acc, enc["disease"], threshold, eligible)
    pooled = max(ZERO, eligible - threshold)
    pay = min(pooled * pct(rate), D(130000) - acc.inpatient_paid)
    money.basic = fen(pay)
    acc.inpatient_paid += money.basic


# --------------------------------------------------------------------------- river-county


def _river_threshold(enc: dict[str, Any], acc: Accumulators) -> Decimal:
    """Section 10: the local threshold by level and type, continued along a referral chain."""
    hospital = enc["hospital"]
    level = hospital["level"]
    general = {0: D(200), 1: D(300), 2: D(500), 3: D(800)}
    tcm = {0: D(200), 1: D(300), 2: D(400), 3: D(600)}
    own = (tcm if hospital.get("type", "general") == "tcm" else general)[level]
    source = enc.get("referred_from")
    if source is None or source not in acc.stay_level:
        return own
    if level < acc.stay_level[source]:
        return ZERO  # referred down
    charged = ZERO
    stay: str | None = source
    while stay is not None and stay in acc.stay_threshold:
        charged += acc.stay_threshold[stay]
        stay = acc.stay_from[stay]
    return max(ZERO, own - charged)


def _river_county(
    person: Person,
    enc: dict[str, Any],
    day: date,
    local: bool,
    money: EncounterMoney,
    acc: Accumulators,
) -> None:
    kind = enc["kind"]
    eligible = money.eligible
    accident = enc.get("accident", False)
    if kind in OUTPATIENT_KINDS:
        pay = min(eligible * pct(50), D(300) - acc.outpatient_paid)
        if accident:
            pay = min(pay, D(3000) - acc.accident_paid)
        money.basic = fen(pay)
        acc.outpatient_paid += money.basic
        if accident:
            acc.accident_paid += money.basic
        return
    if kind == "childbirth":
        fixed = {"natural": D(1100), "caesarean": D(1500)}[enc["delivery"]]
        money.basic = fen(min(fixed, eligible))
        return
    # inpatient
    points = 5 if person.has_points(day) else 0
    hospital = enc["hospital"]
    if local:
        threshold = _river_threshold(enc, acc)
        rate = {0: 85, 1: 80, 2: 70, 3: 60}[hospital["level"]]
        # What the stay charged, not its nominal threshold: a bill below the threshold
        # charged only itself, and the episode's count continues from what was paid.
        acc.stay_threshold[enc["id"]] = min(threshold, eligible)
        acc.stay_from[enc["id"]] = enc.get("referred_from")
        acc.stay_level[enc["id"]] = hospital["level"]
    elif person.filed_for(hospital["region"], day) or enc.get("referral", False):
        other_province = hospital.get("province", "same") == "other"
        threshold, rate = (D(1500), 50) if other_province else (D(1000), 60)
    else:
        threshold, rate = D(1500), 40
    pooled = max(ZERO, eligible - threshold)
    pay = min(pooled * pct(rate + points), D(150000) - acc.inpatient_paid)
    if accident:
        pay = min(pay, D(3000) - acc.accident_paid)
    money.basic = fen(pay)
    acc.inpatient_paid += money.basic
    if accident:
        acc.accident_paid += money.basic
