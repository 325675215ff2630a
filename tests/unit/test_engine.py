"""The engine's explanations, accumulators and input checks (the amounts themselves are
covered by the scenario files and the property tests)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from yibao.adapters.parameter_files import load_region
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.engine import InputError, Route, settle_encounter, settle_year
from yibao.domain.model import Encounter, Hospital, Kind, Line, LineClass, Person, Scheme
from yibao.domain.parameters import PolicyGapError

H3 = Hospital("H3", 3)
CITED = {
    "eligible_share",
    "threshold",
    "segment",
    "outpatient_rate",
    "outpatient_limit",
    "top_line_cost",
    "top_line_payment",
    "pilot_base",
    "pilot_rate",
    "pilot_assistance",
    "si_bracket",
    "si_top_line",
    "elsewhere",
}


def stay(eid: str, day: date, amount: str, hospital: Hospital = H3, **kw: object) -> Encounter:
    return Encounter(
        eid, day, Kind.INPATIENT, hospital, (Line(LineClass.A, Decimal(amount)),), **kw
    )  # type: ignore[arg-type]


def student(**kw: object) -> Person:
    return Person("P1", date(2012, 6, 1), Scheme.STUDENT, "sample-city", **kw)  # type: ignore[arg-type]


def test_segments_are_explained_step_by_step_citing_file_key_and_source() -> None:
    policy = load_region("sample-city")
    bills = [stay("E1", date(2026, 3, 2), "30500.00"), stay("E2", date(2026, 7, 10), "80500.00")]
    result, _ = settle_year(policy, student(), 2026, bills)
    e2 = result.encounters[1]
    segments = [s for s in e2.steps if s.rule == "segment"]
    assert [(s.value, s.base, s.result) for s in segments] == [
        ("70%", Decimal("10000"), Decimal("7000.00")),
        ("80%", Decimal("60000"), Decimal("48000.00")),
        ("90%", Decimal("10000"), Decimal("9000.00")),
    ]
    assert all(s.ref is not None for s in segments)
    ref = segments[0].ref
    assert ref is not None
    assert (ref.file, ref.key) == ("sample-city/student.yaml", "inpatient.rate")
    assert ref.source.startswith("[text]")
    assert "sample-city/student.yaml: inpatient.rate [text]" in segments[0].text("en")
    assert "年度累计统筹费用" in segments[0].text("zh")
    assert sum(s.result for s in segments) == e2.basic == Decimal("64000.00")
    threshold = next(s for s in e2.steps if s.rule == "threshold")
    assert threshold.result == Decimal("500")
    assert threshold.ref is not None
    assert threshold.ref.key == "inpatient.threshold"
    assert e2.steps[-1].rule == "personal"
    assert e2.steps[-1].result == e2.personal


def test_every_money_step_cites_a_parameter_and_serialises() -> None:
    policy = load_region("hill-county")
    person = Person("P6", date(2014, 1, 1), Scheme.STUDENT, "hill-county", assistance=True)
    pilot_hospital = Hospital("K3", 3, pilot=True, region="sample-city")
    bills = [
        stay("E1", date(2026, 2, 1), "200000.00"),
        stay("E2", date(2026, 3, 1), "90000.00", pilot_hospital, diagnosis="C91.0", referral=True),
        Encounter(
            "E3",
            date(2026, 4, 1),
            Kind.OUTPATIENT,
            Hospital("T1", 0),
            (Line(LineClass.B, Decimal("900")),),
        ),
    ]
    result, _ = settle_year(policy, person, 2026, bills)
    assert result.encounters[1].route is Route.PILOT
    steps = [s for r in result.encounters for s in r.steps] + list(result.serious_illness.steps)
    assert {s.rule for s in steps} >= {
        "segment",
        "top_line_payment",
        "pilot_base",
        "pilot_assistance",
        "elsewhere",
    }
    for step in steps:
        if step.rule in CITED:
            assert step.ref is not None, step.rule
        json.dumps(step.to_dict(), ensure_ascii=False)  # storable as it is
    # The referral lowers the pilot's 70% by 10 points in hill-county.
    pilot_rate = next(s for s in result.encounters[1].steps if s.rule == "pilot_rate")
    assert pilot_rate.value == "60%"


def test_summaries_read_in_both_languages() -> None:
    policy = load_region("sample-city")
    result, _ = settle_year(policy, student(), 2026, [stay("E1", date(2026, 3, 2), "30500.00")])
    r = result.encounters[0]
    assert "21,000.00" in r.summary("en")
    assert "9,500.00" in r.summary("en")
    assert "基本医保基金支付21,000.00元" in r.summary("zh")
    assert "您需支付9,500.00元" in r.summary("zh")


def test_a_refusal_says_why_and_cites_the_rule() -> None:
    policy = load_region("sample-city")
    retiree = Person(
        "P9", date(1960, 1, 1), Scheme.EMPLOYEE, "sample-city", retired=True, contribution_years=19
    )
    r, acc = settle_encounter(
        policy, retiree, stay("E1", date(2026, 5, 1), "1000.00"), YearAccumulators(2026)
    )
    assert r.refused is not None
    assert r.refused.code == "contribution_years"
    assert "20" in r.refused.reason.en
    assert "19" in r.refused.reason.en
    assert r.personal == r.total
    assert r.eligible == 0
    step = r.steps[0]
    assert step.ref is not None
    assert step.ref.key == "refusals.retiree_min_contribution_years"
    assert acc.personal == Decimal("1000.00")
    assert acc.personal_on_eligible == 0


def test_accumulators_round_trip_exactly_through_json() -> None:
    acc = YearAccumulators(2026, pooled_cost=Decimal("40000.015")).with_threshold(
        "outpatient", Decimal("30.015")
    )
    acc = acc.with_threshold("outpatient", Decimal("1.000"))
    back = YearAccumulators.from_dict(json.loads(json.dumps(acc.to_dict())))
    assert back == acc
    assert back.threshold_charged("outpatient") == Decimal("31.015")


def test_bad_input_is_an_input_error_not_a_settlement() -> None:
    policy = load_region("sample-city")
    acc = YearAccumulators(2026)
    with pytest.raises(InputError, match="outside the year 2026"):
        settle_encounter(policy, student(), stay("E1", date(2025, 12, 31), "1.00"), acc)
    with pytest.raises(InputError, match="level 5"):
        settle_encounter(
            policy, student(), stay("E1", date(2026, 1, 1), "1.00", Hospital("H", 5)), acc
        )
    with pytest.raises(InputError, match="negative"):
        settle_encounter(policy, student(), stay("E1", date(2026, 1, 1), "-1.00"), acc)


def test_a_date_with_no_parameter_in_force_names_the_parameter() -> None:
    policy = load_region("sample-city")
    acc = YearAccumulators(2023)
    with pytest.raises(
        PolicyGapError, match=r"sample-city/region.yaml: schemes: no value in force on 2023-05-01"
    ):
        settle_encounter(policy, student(), stay("E1", date(2023, 5, 1), "100.00"), acc)
