"""The columnar engine against the scalar engine: every encounter, every layer, to the fen.

Three sources of region-years: Hypothesis draws (a few persons with a few bills each, in
sample-city, hill-county and test-town, every scheme, amounts at and around thresholds,
caps, segment bounds and top lines, same-day bills, mid-year parameter changes), every
scenario file, and a generated region-year of each shipped region. The scalar engine
runs on the domain objects themselves; the columnar engine on their frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.adapters.parameter_files import load_region, search_path
from yibao.adapters.scenario_files import load_scenario, scenario_files
from yibao.batch.columnar import BatchResult, check_supported, settle
from yibao.batch.frames import RegionYear, from_domain, to_scalar
from yibao.batch.generate import generate
from yibao.batch.params import UnsupportedError
from yibao.domain.engine import YearResult, settle_year
from yibao.domain.model import (
    Approval,
    CategorySpan,
    Encounter,
    Filing,
    Hospital,
    Kind,
    Line,
    LineClass,
    Person,
    Scheme,
)
from yibao.domain.money import from_fen
from yibao.domain.parameters import RegionPolicy

TESTS = Path(__file__).resolve().parent.parent
POLICY_PATH = [TESTS / "regions", *search_path()]
SHARED = TESTS.parent.parent / "shared" / "scenarios"
SCENARIO_FOLDERS = [
    TESTS / "scenarios",
    TESTS / "regions" / "test-town-scenarios",
    TESTS / "regions" / "delta-town-scenarios",
]
# tests/scenarios (77, river-county's 18 among them), test-town's (10), delta-town's (4);
# shared on top. river-county's and delta-town's are all compared, none refused.
MIN_COMPARED = 109
YEAR = 2026
REGIONS = ("sample-city", "hill-county", "test-town", "river-county", "delta-town")
CATEGORIES = ("general", "low_income", "special_hardship", "poverty_registered")
ELSEWHERE = "other-city"
SPECIAL = ("malignant_tumor", "dialysis", "kidney_transplant", "hepatitis")
HOSPITALS = ("H1", "H2", "H3")
DIAGNOSES = ("C91.0", "Q21.1", "Q25.0", "K35.8", "I21.0", "C50.9", "H25.1")

Person_year = tuple[Person, list[Encounter]]


def policy(region: str) -> RegionPolicy:
    return load_region(region, POLICY_PATH)


# --- comparing ------------------------------------------------------------------------


def _columnar_rows(result: BatchResult) -> dict[int, dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    for r in result.encounters.iter_rows(named=True):
        rows[r["encounter"]] = {
            "route": r["route"],
            "refused": r["refused"],
            "total": from_fen(r["total"]),
            "eligible": result.exact(r["eligible"]),
            "over_limit": from_fen(r["over_limit"]),
            "self_pay": from_fen(r["self_pay"]),
            "first_self_pay": result.exact(r["first_self_pay"]),
            "threshold": result.exact(r["threshold"]),
            "basic": from_fen(r["basic"]),
            "assistance": from_fen(r["assistance"]),
            "institution": from_fen(r["institution"]),
            "personal": from_fen(r["personal"]),
        }
    return rows


def _scalar_row(year: YearResult, index: int) -> dict[str, Any]:
    r = year.encounters[index]
    return {
        "route": r.route.value,
        "refused": r.refused.code if r.refused is not None else None,
        "total": r.total,
        "eligible": r.eligible,
        "over_limit": r.over_limit,
        "self_pay": r.self_pay,
        "first_self_pay": r.first_self_pay,
        "threshold": r.threshold,
        "basic": r.basic,
        "assistance": r.assistance,
        "institution": r.institution,
        "personal": r.personal,
    }


def compare(
    region: str, people: Sequence[Person_year], data: RegionYear | None = None, year: int = YEAR
) -> int:
    """Settle with both engines and assert every encounter and every year agree.

    `people`: the domain objects the scalar engine settles; the columnar engine settles
    their frames (`data`, or `from_domain(people)`). Returns the number of encounters.
    """
    rules = policy(region)
    if data is None:
        data, keys = from_domain(region, year, people)
        by_ids = {ids: key for key, ids in keys.encounters.items()}
        person_key = {pid: key for key, pid in keys.persons.items()}
    else:
        by_ids = {(p.id, e.id): int(e.id) for p, bills in people for e in bills}
        person_key = {p.id: int(p.id) for p, _ in people}
    result = settle(rules, data)
    rows = _columnar_rows(result)
    years = {r["person"]: r for r in result.persons.iter_rows(named=True)}
    assert result.encounters.height == sum(len(bills) for _, bills in people)
    for person, bills in people:
        settled, _ = settle_year(rules, person, data.year, bills)
        for i, r in enumerate(settled.encounters):
            got = rows[by_ids[(person.id, r.encounter_id)]]
            assert got == _scalar_row(settled, i), f"{region} person {person.id} {r.encounter_id}"
        totals = years[person_key[person.id]]
        assert result.exact(totals["si_base"]) == settled.serious_illness.base, person.id
        assert from_fen(totals["serious_illness"]) == settled.serious_illness.payment, person.id
        assert from_fen(totals["personal"]) == settled.personal, person.id
    return result.encounters.height


# --- Hypothesis region-years ----------------------------------------------------------

# Yuan amounts where the rules turn: thresholds, caps (and the bills that reach them at
# 50-80%), segment bounds, top lines; each is drawn with a few fen either side.
TURNS = (
    100, 200, 300, 400, 500, 600, 700, 800, 1000, 1200, 1500, 2000, 2200, 20000, 40000,
    40500, 42000, 50000, 100000, 100500, 125000, 130000, 150000, 162500, 200000, 200500,
    250000, 300000,
)  # fmt: skip
fen = st.one_of(
    st.integers(0, 50_000),
    st.integers(0, 5_000_000),
    st.integers(0, 40_000_000),
    st.sampled_from(TURNS).flatmap(lambda y: st.integers(y * 100 - 3, y * 100 + 3)),
).map(lambda f: from_fen(max(f, 0)))
# Some days on purpose: the year's ends, test-town's rate change on 1 July, the same day.
days = st.one_of(
    st.sampled_from((date(YEAR, 1, 1), date(YEAR, 6, 30), date(YEAR, 7, 1), date(YEAR, 12, 31))),
    st.integers(0, 364).map(lambda n: date(YEAR, 1, 1) + timedelta(days=n)),
)
plain_lines = st.builds(Line, cls=st.sampled_from(list(LineClass)), amount=fen)
# Catalogue items (reference §1a): prices around their caps (a fen either side, half a fen
# in the quantity's product), ratios of their own or the region's, restrictions.
prices = st.integers(0, 2_000_000).map(lambda n: Decimal(n).scaleb(-4))
item_lines = st.builds(
    lambda cls, quantity, price, cap_delta, ratio, outside: Line.item(
        cls,
        quantity,
        price,
        cap=None if cap_delta is None else max(price + cap_delta, Decimal(0)),
        ratio=ratio,
        outside_restriction=outside,
    ),
    cls=st.sampled_from(list(LineClass)),
    quantity=st.one_of(
        st.sampled_from((Decimal("0.5"), Decimal(1), Decimal(3))),
        st.integers(0, 100_000).map(lambda n: Decimal(n).scaleb(-3)),
    ),
    price=prices,
    cap_delta=st.one_of(
        st.none(),
        st.sampled_from((Decimal("-0.01"), Decimal(0), Decimal("0.01"), Decimal("-0.005"))),
        st.integers(-500_000, 500_000).map(lambda n: Decimal(n).scaleb(-4)),
    ),
    ratio=st.one_of(
        st.none(), st.sampled_from((Decimal(0), Decimal("0.05"), Decimal("0.15"), Decimal(1)))
    ),
    outside=st.booleans(),
)
lines = st.one_of(plain_lines, plain_lines, item_lines)


@st.composite
def persons(draw: st.DrawFn, region: str, pid: str) -> Person:
    offered = sorted(policy(region).offered.at(date(YEAR, 1, 1)).value)
    # mostly the schemes the region offers; now and then one it does not (a refusal)
    scheme = Scheme(
        draw(st.sampled_from(offered) if draw(st.integers(0, 5)) else st.sampled_from(list(Scheme)))
    )
    employee = scheme is Scheme.EMPLOYEE
    birth = draw(
        st.one_of(
            # around the pilot's age limit: 15th birthdays in the year
            st.integers(-3, 3).map(lambda d: date(YEAR - 15, 7, 1) + timedelta(days=d)),
            st.dates(date(2010, 1, 1), date(2025, 12, 31)),
            st.dates(date(1940, 1, 1), date(2009, 12, 31)),
        )
    )
    approval = st.builds(
        Approval,
        disease=st.sampled_from(SPECIAL),  # "hepatitis" is on no list
        hospital=st.sampled_from(HOSPITALS),
        valid_from=st.one_of(st.none(), st.none(), days),
        valid_to=st.one_of(st.none(), st.none(), days),
    )
    approvals = draw(st.lists(approval, min_size=1, max_size=2)) if draw(st.booleans()) else []
    filings = []
    if draw(st.booleans()):
        start = draw(days)
        filings.append(Filing(ELSEWHERE, start, draw(st.dates(start, date(YEAR, 12, 31)))))
    categories = []
    if draw(st.booleans()):  # river-county's categories: all year, or from a day, or a span
        start = draw(st.one_of(st.none(), days))
        end = draw(st.one_of(st.none(), days))
        categories.append(CategorySpan(draw(st.sampled_from(CATEGORIES)), start, end))
    return Person(
        id=pid,
        birth_date=birth,
        scheme=scheme,
        region=region,
        categories=tuple(categories),
        retired=employee and draw(st.booleans()),
        contribution_years=draw(st.one_of(st.none(), st.integers(15, 30), st.just(35)))
        if employee
        else None,
        assistance=draw(st.booleans()),
        approvals=tuple(approvals),
        filings=tuple(filings),
    )


@st.composite
def encounters(draw: st.DrawFn, person: Person, eid: str) -> Encounter:
    region = person.region
    kind = draw(st.sampled_from(list(Kind)))
    hospital, disease = draw(st.sampled_from(HOSPITALS)), draw(st.sampled_from(SPECIAL))
    if kind is Kind.SPECIAL_OUTPATIENT and person.approvals and draw(st.integers(0, 3)):
        approval = draw(st.sampled_from(person.approvals))  # mostly where it is approved
        hospital, disease = approval.hospital, approval.disease
    elsewhere = draw(st.integers(0, 3)) == 0
    delivery = None
    if kind is Kind.INPATIENT and draw(st.integers(0, 4)) == 0:  # river-county's fixed sums
        delivery = draw(st.sampled_from(("natural", "caesarean")))
    return Encounter(
        id=eid,
        date=draw(days),
        kind=kind,
        hospital=Hospital(
            id=hospital,
            level=draw(st.integers(0, 3)),
            designated=draw(st.integers(0, 9)) > 0,
            region=ELSEWHERE if elsewhere else region,
            pilot=draw(st.booleans()),
            type=draw(st.sampled_from(("general", "tcm"))),
            province="other" if elsewhere and draw(st.booleans()) else "same",
        ),
        lines=tuple(draw(st.lists(lines, min_size=1, max_size=3))),
        diagnosis=draw(st.one_of(st.none(), st.sampled_from(DIAGNOSES))),
        disease=disease if kind is Kind.SPECIAL_OUTPATIENT else None,
        referral=draw(st.booleans()),
        prescription=draw(st.integers(0, 4)) > 0,
        delivery=delivery,
        # river-county's and delta-town's yearly caps on accidents' payments
        cause=draw(st.sampled_from(("ordinary", "ordinary", "accident"))),
    )


@st.composite
def region_years(draw: st.DrawFn) -> tuple[str, list[Person_year]]:
    region = draw(st.sampled_from(REGIONS))
    people: list[Person_year] = []
    for p in range(draw(st.integers(1, 4))):
        person = draw(persons(region, f"P{p}"))
        n = draw(st.integers(0, 7))
        bills = [draw(encounters(person, f"E{p}-{i}")) for i in range(n)]
        for i, bill in enumerate(bills):  # river-county's referral chains, now and then
            if i and bill.kind is Kind.INPATIENT and draw(st.booleans()):
                bills[i] = replace(bill, referred_from=draw(st.sampled_from(bills[:i])).id)
        people.append((person, bills))
    return region, people


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(region_years())
def test_hypothesis_region_years_agree_to_the_fen(case: tuple[str, list[Person_year]]) -> None:
    region, people = case
    compare(region, people)


@given(region_years())
@settings(max_examples=50, deadline=None)
def test_frames_give_back_the_scalar_inputs(case: tuple[str, list[Person_year]]) -> None:
    region, people = case
    data, keys = from_domain(region, YEAR, people)
    back = to_scalar(data)
    assert len(back) == len(people)
    for (person, bills), (again, again_bills) in zip(people, back, strict=True):
        assert keys.persons[int(again.id)] == person.id
        assert again == _with_id(person, again.id)
        assert len(again_bills) == len(bills)
        for bill, other in zip(bills, again_bills, strict=True):
            assert keys.encounters[int(other.id)] == (person.id, bill.id)
            assert other.total == bill.total
            assert _class_sums(other) == _class_sums(bill)
            assert _items(other) == _items(bill)
            assert (other.date, other.kind, other.hospital) == (bill.date, bill.kind, bill.hospital)
            assert (other.cause, other.delivery) == (bill.cause, bill.delivery)
            assert (other.diagnosis, other.disease, other.referral, other.prescription) == (
                bill.diagnosis,
                bill.disease,
                bill.referral,
                bill.prescription,
            )


def _with_id(person: Person, pid: str) -> Person:
    from dataclasses import replace

    return replace(person, id=pid)


def _items(enc: Encounter) -> list[tuple[object, ...]]:
    """The itemised lines' facts, in a comparable order (exact, scale aside)."""

    def norm(value: Decimal | None) -> str:
        return "-" if value is None else f"{value.normalize():f}"

    return sorted(
        (
            ln.cls.value,
            norm(ln.amount),
            norm(ln.quantity),
            norm(ln.unit_price),
            norm(ln.cap),
            norm(ln.ratio),
            ln.outside_restriction,
        )
        for ln in enc.lines
        if ln.itemised
    )


def _class_sums(enc: Encounter) -> dict[LineClass, Decimal]:
    sums = dict.fromkeys(LineClass, Decimal(0))
    for line in enc.lines:
        if not line.itemised:
            sums[line.cls] += line.amount
    return sums


# --- cause caps coupled with the ordinary counters ------------------------------------


def _bill(eid: str, day: date, kind: Kind, yuan: int, cause: str = "ordinary") -> Encounter:
    return Encounter(
        id=eid,
        date=day,
        kind=kind,
        hospital=Hospital(id="H1", level=1),
        lines=(Line(LineClass.A, Decimal(yuan)),),
        cause=cause,
    )


def _adult(pid: str, region: str) -> Person:
    return Person(id=pid, birth_date=date(1980, 5, 1), scheme=Scheme.RESIDENT, region=region)


def _year(region: str, person: Person, bills: list[Encounter]) -> dict[str, Decimal]:
    """Both engines agree; the scalar engine's basic payment of each bill."""
    compare(region, [(person, bills)])
    settled, _ = settle_year(policy(region), person, YEAR, bills)
    return {r.encounter_id: r.basic for r in settled.encounters}


def test_a_payment_cut_by_its_cause_cap_leaves_room_under_the_top_line() -> None:
    """river-county: accidents at most 3,000 a year, inpatient fund payments at most
    150,000. The accident's stay counts 3,000 toward the top line, not what it computed,
    so the later stays are paid up to 147,000 together."""
    person = _adult("P1", "river-county")
    bills = [
        _bill("E1", date(YEAR, 2, 1), Kind.INPATIENT, 200_000, "accident"),
        _bill("E2", date(YEAR, 3, 1), Kind.INPATIENT, 150_000),
        _bill("E3", date(YEAR, 4, 1), Kind.INPATIENT, 150_000),
    ]
    basic = _year("river-county", person, bills)
    assert basic["E1"] == Decimal(3000)
    assert basic["E2"] + basic["E3"] == Decimal(147_000)


def test_an_accident_paid_nothing_leaves_the_outpatient_limit_whole() -> None:
    """delta-town: an adult's accidents at most 2,000 a year, outpatient fund payments at
    most 500. A stay uses up the accident cap; the accident's outpatient bill after it is
    paid nothing, so counts nothing toward the outpatient limit, and the ordinary
    outpatient bills after it are paid up to the whole 500."""
    person = _adult("P1", "delta-town")
    bills = [
        _bill("E1", date(YEAR, 2, 1), Kind.INPATIENT, 10_000, "accident"),
        _bill("E2", date(YEAR, 3, 1), Kind.OUTPATIENT, 800, "accident"),
        _bill("E3", date(YEAR, 3, 2), Kind.OUTPATIENT, 600),
        _bill("E4", date(YEAR, 3, 3), Kind.OUTPATIENT, 600),
        _bill("E5", date(YEAR, 3, 4), Kind.OUTPATIENT, 100, "accident"),
    ]
    basic = _year("delta-town", person, bills)
    assert basic["E1"] == Decimal(2000)
    assert basic["E2"] == 0
    assert basic["E5"] == 0
    assert basic["E3"] + basic["E4"] == Decimal(500)


def test_the_outpatient_limit_cuts_what_counts_toward_the_cause_cap() -> None:
    """delta-town: outpatient accidents paid at most the 500 limit count 500 toward the
    child's 10,000 accident cap; the accident's stay after them is paid up to 9,500."""
    child = replace(_adult("P1", "delta-town"), birth_date=date(2016, 5, 1))
    bills = [
        _bill("E1", date(YEAR, 1, 10), Kind.OUTPATIENT, 5_000, "accident"),
        _bill("E2", date(YEAR, 1, 11), Kind.OUTPATIENT, 5_000, "accident"),
        _bill("E3", date(YEAR, 2, 1), Kind.INPATIENT, 50_000, "accident"),
    ]
    basic = _year("delta-town", child, bills)
    assert basic["E1"] + basic["E2"] == Decimal(500)
    assert basic["E3"] == Decimal(9_500)


# --- scenario files -------------------------------------------------------------------


def test_every_scenario_file_agrees() -> None:
    folders = [*SCENARIO_FOLDERS, *([SHARED] if SHARED.is_dir() else [])]
    files = scenario_files(folders)
    compared, unsupported = 0, []
    for path in files:
        scenario = load_scenario(path)
        data, _ = from_domain(
            scenario.region, scenario.year, [(scenario.person, scenario.encounters)]
        )
        try:
            check_supported(policy(scenario.region), data)
        except UnsupportedError as exc:
            unsupported.append(f"{path.name}: {exc}")
            continue
        compare(
            scenario.region,
            [(scenario.person, list(scenario.encounters))],
            year=scenario.year,
        )
        compared += 1
    assert compared + len(unsupported) == len(files)
    assert compared >= MIN_COMPARED, unsupported
    assert not [u for u in unsupported if u.startswith(("rc-", "dt-"))], unsupported


# --- generated region-years -----------------------------------------------------------


@pytest.mark.parametrize("region", ["sample-city", "hill-county", "river-county"])
def test_a_generated_region_year_agrees(region: str) -> None:
    data = generate(1500, YEAR, seed=3, region=region)
    people = to_scalar(data)
    assert compare(region, people, data) > 3000
    kinds = set(data.encounters.get_column("kind").to_list())
    special = any(r.special_outpatient for r in policy(region).schemes.values())
    assert kinds == {k.value for k in Kind if special or k is not Kind.SPECIAL_OUTPATIENT}
