"""Hypothesis strategies for the oracle: whole scenario files (as mappings, in the shared
scenario format) for the three regions of the reference, skewed toward its edges."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

YEAR = 2026
REGIONS = ("sample-city", "hill-county", "river-county")
ELSEWHERE = "other-city"  # a region of treatment that is not the person's own
PILOT_CODES = ("C91.0", "C92.4", "Q21.1", "Q21.0", "Q25.0", "Q22.1")
SPECIAL = ("malignant_tumor", "dialysis", "kidney_transplant")
CATEGORIES = ("general", "low_income", "special_hardship", "poverty_registered")

# Amounts where the reference's numbers sit: thresholds, limits, segment bounds, top lines
# (plus a threshold), and the serious-illness brackets; each also one fen either side.
_EDGES = (
    100,
    200,
    300,
    400,
    500,
    600,
    800,
    1000,
    1100,
    1500,
    2000,
    2500,
    3000,
    6000,
    10000,
    15000,
    25000,
    30000,
    35000,
    40500,
    60000,
    80000,
    100500,
    130000,
    150000,
    185000,
    200500,
    300300,
    301000,
)
edge_fen = st.tuples(st.sampled_from(_EDGES), st.sampled_from((-1, 0, 1))).map(
    lambda e: e[0] * 100 + e[1]
)
fen_amounts = st.one_of(
    st.integers(0, 100_000),
    st.integers(0, 5_000_000),
    st.integers(0, 35_000_000),
    edge_fen,
)


def money(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


days = st.integers(0, 364).map(lambda n: date(YEAR, 1, 1) + timedelta(days=n))


@st.composite
def lines(draw: st.DrawFn) -> dict[str, Any]:
    cls = draw(st.sampled_from(("A", "A", "B", "self_pay")))
    if draw(st.booleans()):
        return {"class": cls, "amount": money(draw(fen_amounts))}
    line: dict[str, Any] = {
        "class": cls,
        "quantity": draw(st.sampled_from(("1", "2", "3", "0.5", "1.25", "7"))),
        "unit_price": draw(st.sampled_from(("0.01", "0.005", "12.00", "12.345", "99.99", "2500")))
        if draw(st.booleans())
        else money(draw(fen_amounts)),
    }
    if draw(st.booleans()):
        line["cap"] = draw(st.sampled_from(("0.00", "10.00", "12.34", "100.00", "2000.00")))
    if cls == "B" and draw(st.booleans()):
        line["ratio"] = draw(st.sampled_from(("0", "0.05", "0.15", "0.333", "1")))
    if draw(st.integers(0, 5)) == 0:
        line["outside_restriction"] = True
    return line


def _span(draw: st.DrawFn) -> dict[str, str]:
    a, b = sorted((draw(days), draw(days)))
    return {"from": a.isoformat(), "to": b.isoformat()}


@st.composite
def persons(draw: st.DrawFn, region: str) -> dict[str, Any]:
    schemes = ("student", "resident", "employee", "employee")
    if region != "sample-city":
        schemes = ("student", "resident", "resident", "student", "employee")
    scheme = draw(st.sampled_from(schemes))
    birth = draw(
        st.one_of(
            st.dates(date(2011, 1, 1), date(2025, 12, 31)),  # children: the pilot's ages
            st.dates(date(1940, 1, 1), date(2010, 12, 31)),
        )
    )
    person: dict[str, Any] = {"id": "P1", "birth_date": birth.isoformat(), "scheme": scheme}
    if scheme == "employee":
        person["retired"] = draw(st.booleans())
        person["contribution_years"] = draw(st.integers(15, 25))
    if draw(st.booleans()):
        person["assistance"] = True
    approvals = []
    for _ in range(draw(st.integers(0, 2))):
        approval: dict[str, Any] = {
            "disease": draw(st.sampled_from(SPECIAL)),
            "hospital": f"{draw(st.sampled_from('HHHX'))}{draw(st.integers(0, 3))}",
        }
        if draw(st.booleans()):
            span = _span(draw)
            # Either end may be left open (scenario-format.md: dates optional).
            approval.update(
                draw(st.sampled_from((span, {"from": span["from"]}, {"to": span["to"]})))
            )
        approvals.append(approval)
    if approvals:
        person["approvals"] = approvals
    if draw(st.booleans()):
        # Mostly for the region of the hospitals elsewhere, sometimes for another one.
        filed = draw(st.sampled_from((ELSEWHERE, ELSEWHERE, "lake-city")))
        person["filings"] = [{"region": filed, **_span(draw)}]
    if region == "river-county":
        if draw(st.integers(0, 4)) == 0:
            person["categories"] = [{"category": draw(st.sampled_from(CATEGORIES)), **_span(draw)}]
        else:
            person["category"] = draw(st.sampled_from(CATEGORIES))
    return person


@st.composite
def encounters(
    draw: st.DrawFn, region: str, person: dict[str, Any], eid: str, day: date, stays: list[str]
) -> dict[str, Any]:
    # Childbirth and accidents are river-county's rules; elsewhere they are ordinary bills.
    kinds = ["outpatient", "emergency", "pharmacy", "inpatient", "inpatient", "special_outpatient"]
    kinds.append("childbirth")
    kind = draw(st.sampled_from(kinds))
    level = draw(st.integers(0, 3))
    hospital: dict[str, Any] = {"id": f"H{level}", "level": level}
    if draw(st.integers(0, 3)) == 0:
        hospital["region"] = ELSEWHERE
        hospital["id"] = f"X{level}"
        if region == "river-county" and draw(st.booleans()):
            hospital["province"] = "other"
    if draw(st.integers(0, 7)) == 0:
        hospital["designated"] = False
    if draw(st.booleans()):
        hospital["pilot"] = True
    if region == "river-county" and draw(st.booleans()):
        hospital["type"] = "tcm"
    enc: dict[str, Any] = {
        "id": eid,
        "date": day.isoformat(),
        "kind": kind,
        "hospital": hospital,
        "lines": draw(st.lists(lines(), min_size=1, max_size=3)),
    }
    if kind == "childbirth":
        enc["delivery"] = draw(st.sampled_from(("natural", "caesarean")))
    if kind == "inpatient":
        enc["diagnosis"] = draw(st.sampled_from((*PILOT_CODES, "J18.9")))
    if kind == "special_outpatient":
        enc["disease"] = draw(st.sampled_from(SPECIAL))
        approvals = person.get("approvals", [])
        if approvals and draw(st.integers(0, 3)) > 0:  # mostly where the approval names
            approval = draw(st.sampled_from(approvals))
            enc["disease"] = approval["disease"]
            level = int(approval["hospital"][1])
            hospital.update(id=approval["hospital"], level=level)
            hospital.pop("region", None)
            if approval["hospital"].startswith("X"):  # an approved hospital elsewhere
                hospital["region"] = ELSEWHERE
    if draw(st.booleans()):
        enc["referral"] = True
    if kind == "pharmacy" and draw(st.booleans()):
        enc["prescription"] = False
    if kind != "childbirth" and draw(st.integers(0, 3)) == 0:
        enc["accident"] = True
    if region == "river-county" and kind == "inpatient" and stays and draw(st.booleans()):
        enc["referred_from"] = draw(st.sampled_from(stays))
    return enc


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    region = draw(st.sampled_from(REGIONS))
    person = draw(persons(region))
    birth = date.fromisoformat(person["birth_date"])
    first = max(birth, date(YEAR, 1, 1))
    # Some dates on the pilot's edge: the day before, of and after the 15th birthday.
    fifteenth = [
        d
        for d in (_birthday(birth, 15) + timedelta(days=k) for k in (-1, 0, 1))
        if d.year == YEAR and d >= first
    ]
    some_days = st.one_of(days.filter(lambda d: d >= first), st.sampled_from(fifteenth or [first]))
    dates = sorted(draw(st.lists(some_days, min_size=1, max_size=6)))
    encs: list[dict[str, Any]] = []
    stays: list[str] = []
    for i, day in enumerate(dates):
        enc = draw(encounters(region, person, f"E{i + 1}", day, stays))
        encs.append(enc)
        # A referral comes from an earlier stay that was settled as one: at a designated
        # hospital of the region.
        local = enc["hospital"].get("region") is None
        if enc["kind"] == "inpatient" and local and enc["hospital"].get("designated", True):
            stays.append(enc["id"])
    if not any("referred_from" in e for e in encs):
        # The file's order need not be the dates': bills are settled in date order (and
        # those of one day in the file's order).
        encs = draw(st.permutations(encs))
    scenario = {"region": region, "year": YEAR, "person": person, "encounters": encs}
    # Earlier years too (sample-city's serious-illness deductible is set "from 2024 on"):
    # every date moves back together, a 29 February birthday excepted.
    back = 0 if (birth.month, birth.day) == (2, 29) else draw(st.sampled_from((0, 0, 1, 2)))
    return _years_back(scenario, back)


def _years_back(value: Any, years: int) -> Any:
    if years == 0:
        return value
    if isinstance(value, dict):
        moved = {k: _years_back(v, years) for k, v in value.items()}
        for key in ("birth_date", "date", "from", "to"):
            if key in value:
                day = date.fromisoformat(value[key])
                moved[key] = day.replace(year=day.year - years).isoformat()
        if "year" in value and isinstance(value["year"], int):
            moved["year"] = value["year"] - years
        return moved
    if isinstance(value, list):
        return [_years_back(v, years) for v in value]
    return value


def _birthday(birth: date, years: int) -> date:
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 February
        return date(birth.year + years, 3, 1)
