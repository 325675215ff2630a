"""Hand-picked edges of the reference, as scenario mappings: every threshold, limit,
segment bound, top line and serious-illness bracket one fen below, at and above; the
pilot's 15th birthday; a filing's first and last days; referral chains, categories,
provinces, childbirth and accidents of river-county. The calculator and the engine must
agree on each (test_differential.py); neither side's answer is written here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

YEAR = 2026
Scenario = dict[str, Any]

ADULT = {"id": "P1", "birth_date": "1960-05-01", "scheme": "resident"}
CHILD = {"id": "P1", "birth_date": "2015-04-02", "scheme": "student"}


def yuan(x: Decimal | int | str) -> str:
    return f"{Decimal(x):.2f}"


def around(x: Decimal | int) -> list[Decimal]:
    """One fen below, at and one fen above."""
    return [Decimal(x) + d for d in (Decimal("-0.01"), Decimal(0), Decimal("0.01"))]


def stay(
    eid: str, day: str, level: int, amount: Decimal | int | str, **more: Any
) -> dict[str, Any]:
    hospital = {"id": f"H{level}", "level": level, **more.pop("hospital", {})}
    lines = more.pop("lines", None) or [{"class": "A", "amount": yuan(amount)}]
    kind = more.pop("kind", "inpatient")
    return {"id": eid, "date": day, "kind": kind, "hospital": hospital, "lines": lines, **more}


def visit(eid: str, day: str, amount: Decimal | int | str, **more: Any) -> dict[str, Any]:
    more.setdefault("kind", "outpatient")
    return stay(eid, day, 1, amount, **more)


def year(region: str, person: dict[str, Any], *encounters: dict[str, Any]) -> Scenario:
    return {"region": region, "year": YEAR, "person": person, "encounters": list(encounters)}


def _sample_city() -> list[tuple[str, Scenario]]:
    out: list[tuple[str, Scenario]] = []
    employee = {"id": "P1", "birth_date": "1970-03-03", "scheme": "employee"}
    for x in around(1200):  # the student's 600 outpatient limit at 50%
        out.append(
            (f"sc-outpatient-limit-{x}", year("sample-city", CHILD, visit("E1", "2026-02-01", x)))
        )
    for x in around(500):  # the 500 threshold
        out.append(
            (f"sc-threshold-{x}", year("sample-city", CHILD, stay("E1", "2026-02-01", 3, x)))
        )
    for bound in (40000, 100000, 200000):  # segment bounds, in one stay and across two
        for x in around(bound + 500):
            out.append(
                (f"sc-segment-{x}", year("sample-city", ADULT, stay("E1", "2026-02-01", 2, x)))
            )
            out.append(
                (
                    f"sc-segment-across-{x}",
                    year(
                        "sample-city",
                        ADULT,
                        stay("E1", "2026-02-01", 2, 20500),
                        stay("E2", "2026-03-01", 2, x - 20000),
                    ),
                )
            )
    for x in around(2000):  # the employee's outpatient threshold, crossed mid-visit
        out.append(
            (
                f"sc-employee-outpatient-{x}",
                year(
                    "sample-city",
                    {**employee, "contribution_years": 25},
                    visit("E1", "2026-01-10", 1500),
                    visit("E2", "2026-02-10", x - 1500),
                ),
            )
        )
    for x in around(42000):  # the employee's 20,000 outpatient limit
        out.append(
            (
                f"sc-employee-outpatient-limit-{x}",
                year(
                    "sample-city",
                    {**employee, "contribution_years": 25},
                    visit("E1", "2026-01-10", x),
                ),
            )
        )
    for level, threshold in ((0, 300), (1, 300), (2, 600), (3, 1000)):
        for retired in (False, True):
            for x in around(threshold):
                person = {**employee, "retired": retired, "contribution_years": 20}
                out.append(
                    (
                        f"sc-employee-l{level}-retired-{retired}-{x}",
                        year("sample-city", person, stay("E1", "2026-02-01", level, x)),
                    )
                )
    for years in (19, 20):
        person = {**employee, "retired": True, "contribution_years": years}
        out.append(
            (f"sc-retiree-{years}", year("sample-city", person, stay("E1", "2026-02-01", 3, 5000)))
        )
    for x in around(301000):  # the employee's top line of pooled cost 300,000 (level 3)
        person = {**employee, "contribution_years": 30}
        out.append(
            (
                f"sc-employee-top-line-{x}",
                year(
                    "sample-city",
                    person,
                    stay("E1", "2026-02-01", 3, 150000),
                    stay("E2", "2026-05-01", 3, x - 149000),
                ),
            )
        )
    out += _serious_illness_sc()
    out += _pilot("sample-city")
    out += _elsewhere_sc()
    out += _special("sample-city", CHILD)
    out += _special("sample-city", {**employee, "contribution_years": 30})
    return out


def _serious_illness_sc() -> list[tuple[str, Scenario]]:
    """X = eligible − basic; one stay of eligible e above 200,500 has basic 166,000."""
    out = []
    for x in (
        *around(54000),
        *around(154000),
        Decimal("639714.28"),
        Decimal("639714.29"),
        Decimal("639714.30"),
    ):
        # X = 30,050 from a stay of 120,000 (basic 89,950), then a class A outpatient bill
        # that the outpatient limit leaves at 50%: the rest is made of a stay above the top line.
        eligible = x + 166000
        lines = [{"class": "A", "amount": yuan(eligible)}]
        for y in (2024, 2025, 2026):
            s = year("sample-city", ADULT, stay("E1", f"{y}-02-01", 3, 0, lines=lines))
            s["year"] = y
            out.append((f"sc-serious-illness-{y}-{x}", s))
    return out


def _pilot(region: str) -> list[tuple[str, Scenario]]:
    out = []
    limited = {
        "C91.0": 80000,
        "C92.4": 60000,
        "Q21.1": 30000,
        "Q21.0": 35000,
        "Q25.0": 25000,
        "Q22.1": 30000,
    }
    for code, cost in limited.items():
        for x in around(cost):
            for assistance in (False, True):
                person = {**CHILD, "assistance": assistance}
                enc = stay("E1", "2026-06-01", 3, x, hospital={"pilot": True}, diagnosis=code)
                enc["lines"].append({"class": "self_pay", "amount": "100.00"})
                out.append((f"{region}-pilot-{code}-{x}-{assistance}", year(region, person, enc)))
    # The 15th birthday (2011-04-02 → 2026-04-02): aged 14 the day before, 15 on it.
    for day in ("2026-04-01", "2026-04-02", "2026-04-03"):
        for scheme in ("student", "resident"):
            person = {"id": "P1", "birth_date": "2011-04-02", "scheme": scheme}
            enc = stay("E1", day, 3, 90000, hospital={"pilot": True}, diagnosis="C91.0")
            out.append((f"{region}-pilot-birthday-{day}-{scheme}", year(region, person, enc)))
    for referral in (False, True):  # elsewhere, with and without a referral
        enc = stay(
            "E1",
            "2026-06-01",
            3,
            50000,
            hospital={"pilot": True, "region": "other-city"},
            diagnosis="Q21.0",
            referral=referral,
        )
        out.append(
            (
                f"{region}-pilot-elsewhere-{referral}",
                year(region, {**CHILD, "assistance": True}, enc),
            )
        )
    # A pilot stay between ordinary stays: outside the segments or top line.
    out.append(
        (
            f"{region}-pilot-between",
            year(
                region,
                CHILD,
                stay("E1", "2026-02-01", 3, 30500),
                stay("E2", "2026-06-01", 3, 100000, hospital={"pilot": True}, diagnosis="C91.0"),
                stay("E3", "2026-09-01", 3, 150500),
            ),
        )
    )
    return out


def _elsewhere_sc() -> list[tuple[str, Scenario]]:
    out = []
    filing = {"region": "other-city", "from": "2026-03-01", "to": "2026-06-30"}
    for day in ("2026-02-28", "2026-03-01", "2026-06-30", "2026-07-01"):
        for kind in ("inpatient", "outpatient", "emergency"):
            for referral in (False, True):
                person = {**ADULT, "filings": [filing]}
                enc = stay(
                    "E1",
                    day,
                    2,
                    20500,
                    kind=kind,
                    referral=referral,
                    hospital={"region": "other-city"},
                )
                out.append((f"sc-filing-{day}-{kind}-{referral}", year("sample-city", person, enc)))
    # The outpatient limit reached elsewhere: the cap first, then the reduction.
    out.append(
        (
            "sc-elsewhere-outpatient-limit",
            year(
                "sample-city",
                CHILD,
                visit("E1", "2026-01-10", 1000),
                visit("E2", "2026-02-10", 1000, referral=True, hospital={"region": "other-city"}),
                visit("E3", "2026-03-10", 1000),
            ),
        )
    )
    # Non-designated: all personal, except an emergency.
    for kind in ("outpatient", "emergency", "inpatient", "pharmacy"):
        enc = stay("E1", "2026-02-01", 1, 3000, kind=kind, hospital={"designated": False})
        out.append((f"sc-non-designated-{kind}", year("sample-city", CHILD, enc)))
    return out


def _special(region: str, person: dict[str, Any]) -> list[tuple[str, Scenario]]:
    """The threshold once per year and disease: a first visit below it, then above."""
    out = []
    approvals = [
        {"disease": "dialysis", "hospital": "H2", "from": "2026-03-01", "to": "2026-10-31"},
        {"disease": "malignant_tumor", "hospital": "H2"},
    ]
    p = {**person, "approvals": approvals}
    for first in (Decimal("100.00"), *around(400), *around(600)):
        for day in ("2026-02-28", "2026-03-01", "2026-10-31", "2026-11-01"):
            s = year(
                region,
                p,
                stay("E1", day, 2, first, kind="special_outpatient", disease="dialysis"),
                stay("E2", "2026-10-31", 2, 3000, kind="special_outpatient", disease="dialysis"),
                stay(
                    "E3",
                    "2026-10-31",
                    2,
                    3000,
                    kind="special_outpatient",
                    disease="malignant_tumor",
                ),
                stay(
                    "E4",
                    "2026-10-31",
                    3,
                    3000,
                    kind="special_outpatient",
                    disease="malignant_tumor",
                ),
            )
            out.append((f"{region}-{person['scheme']}-special-{first}-{day}", s))
    return out


def _hill_county() -> list[tuple[str, Scenario]]:
    out: list[tuple[str, Scenario]] = []
    for x in around(Decimal("666.67")):  # the 400 outpatient limit at 60%
        out.append(
            (f"hc-outpatient-limit-{x}", year("hill-county", CHILD, visit("E1", "2026-02-01", x)))
        )
    for level, threshold in ((0, 100), (1, 300), (2, 400), (3, 500)):
        for x in around(threshold):
            out.append(
                (
                    f"hc-threshold-l{level}-{x}",
                    year("hill-county", ADULT, stay("E1", "2026-02-01", level, x)),
                )
            )
    for x in around(Decimal("186214.29")):  # the payment top line 130,000 at level 3 (70%)
        out.append(
            (
                f"hc-top-line-{x}",
                year(
                    "hill-county",
                    ADULT,
                    stay("E1", "2026-02-01", 3, 100500),
                    stay("E2", "2026-05-01", 3, x - 100000),
                ),
            )
        )
    for filed in (False, True):
        for kind in ("inpatient", "outpatient", "emergency"):
            for referral in (False, True):
                filings = (
                    [{"region": "other-city", "from": "2026-01-01", "to": "2026-12-31"}]
                    if filed
                    else []
                )
                person = {**ADULT, "filings": filings}
                enc = stay(
                    "E1",
                    "2026-04-01",
                    2,
                    10400,
                    kind=kind,
                    referral=referral,
                    hospital={"region": "other-city"},
                )
                out.append(
                    (f"hc-elsewhere-{filed}-{kind}-{referral}", year("hill-county", person, enc))
                )
    # X exactly x: one outpatient bill of x + 400 (the fund pays its yearly 400); the
    # payment reaches the top line 300,000 at X = 398,750.
    for x in (*around(10000), *around(30000), *around(100000), *around(398750)):
        out.append(
            (
                f"hc-serious-illness-{x}",
                year("hill-county", ADULT, visit("E1", "2026-02-01", x + 400)),
            )
        )
    out.append(
        (
            "hc-employee",
            year("hill-county", {**ADULT, "scheme": "employee"}, stay("E1", "2026-02-01", 1, 2000)),
        )
    )
    out += _pilot("hill-county")
    out += _special("hill-county", ADULT)
    return out


def _river_county() -> list[tuple[str, Scenario]]:
    out: list[tuple[str, Scenario]] = []
    tcm = {"type": "tcm"}
    for level in range(4):
        for kind in ({}, tcm):
            for category in ("general", "low_income"):
                person = {**ADULT, "category": category}
                for x in (Decimal(300), Decimal(450), Decimal(700), Decimal(1000)):
                    enc = stay("E1", "2026-02-01", level, x, hospital=dict(kind))
                    out.append(
                        (
                            f"rc-level-{level}-{kind}-{category}-{x}",
                            year("river-county", person, enc),
                        )
                    )
    chains = [
        (1, tcm, 2, tcm, 3, {}),
        (3, {}, 1, {}, 2, {}),
        (2, {}, 2, tcm, 1, {}),
        (0, {}, 3, {}, 3, tcm),
    ]
    for a, ka, b, kb, c, kc in chains:
        for small in (Decimal(100), Decimal(2000)):
            s = year(
                "river-county",
                ADULT,
                stay("E1", "2026-02-01", a, small, hospital=dict(ka)),
                stay("E2", "2026-02-05", b, 5000, hospital=dict(kb), referred_from="E1"),
                stay("E3", "2026-02-09", c, 5000, hospital=dict(kc), referred_from="E2"),
                stay("E4", "2026-03-01", c, 5000, hospital=dict(kc)),
            )
            out.append((f"rc-chain-{a}{b}{c}-{small}", s))
    for province in ("same", "other"):
        for filed in (False, True):
            for referral in (False, True):
                for category in ("general", "poverty_registered"):
                    filings = (
                        [{"region": "other-city", "from": "2026-01-01", "to": "2026-12-31"}]
                        if filed
                        else []
                    )
                    person = {**ADULT, "filings": filings, "category": category}
                    where = {"region": "other-city", "province": province}
                    s = year(
                        "river-county",
                        person,
                        stay("E1", "2026-04-01", 2, 11500, referral=referral, hospital=where),
                        visit("E2", "2026-04-02", 400, referral=referral, hospital=where),
                        visit("E3", "2026-04-03", 400, kind="emergency", hospital=where),
                    )
                    out.append((f"rc-elsewhere-{province}-{filed}-{referral}-{category}", s))
    for delivery in ("natural", "caesarean"):
        for x in (Decimal(1000), *around(1100), *around(1500), Decimal(8000)):
            s = year(
                "river-county",
                ADULT,
                stay("E1", "2026-03-01", 2, x, kind="childbirth", delivery=delivery),
                stay("E2", "2026-05-01", 2, 300000),
            )
            out.append((f"rc-childbirth-{delivery}-{x}", s))
    for x in around(Decimal("4285.71")):  # the accident cap 3,000 at level 2 (70%)
        s = year(
            "river-county",
            ADULT,
            stay("E1", "2026-02-01", 2, x + 500, accident=True),
            visit("E2", "2026-03-01", 200, accident=True),
            stay("E3", "2026-04-01", 2, 1500, accident=True),
        )
        out.append((f"rc-accident-{x}", s))
    for x in around(Decimal("214785.71")):  # the payment top line 150,000 at level 2 (70%)
        out.append(
            (f"rc-top-line-{x}", year("river-county", ADULT, stay("E1", "2026-02-01", 2, x)))
        )
    # X exactly x: one outpatient bill of x + 300 (the fund pays its yearly 300); the
    # general payment reaches the top line 300,000 at X = 460,714.2857.
    for category in ("general", "special_hardship"):
        for x in (
            *around(7500),
            *around(15000),
            *around(50000),
            *around(100000),
            *around(Decimal("460714.28")),
        ):
            person = {**ADULT, "category": category}
            s = year("river-county", person, visit("E1", "2026-02-01", x + 300))
            out.append((f"rc-serious-illness-{category}-{x}", s))
    out.append(
        (
            "rc-employee",
            year(
                "river-county", {**ADULT, "scheme": "employee"}, stay("E1", "2026-02-01", 1, 2000)
            ),
        )
    )
    out.append(
        (
            "rc-special-and-pilot-not-offered",
            year(
                "river-county",
                {**CHILD, "approvals": [{"disease": "dialysis", "hospital": "H2"}]},
                stay("E1", "2026-02-01", 2, 3000, kind="special_outpatient", disease="dialysis"),
                stay("E2", "2026-03-01", 3, 50000, hospital={"pilot": True}, diagnosis="C91.0"),
            ),
        )
    )
    return out


def edge_scenarios() -> list[tuple[str, Scenario]]:
    return [*_sample_city(), *_hill_county(), *_river_county()]
