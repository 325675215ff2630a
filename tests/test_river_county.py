"""river-county (reference §10) and delta-town (tests only): regions written as data with
the rule kinds of issue 14. Every scenario of theirs settles as it expects; delta-town
uses every new rule kind, in other combinations than river-county, and needed no code."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from yibao.adapters.parameter_files import load_region, search_path
from yibao.adapters.scenario_files import load_scenario, scenario_files
from yibao.bootstrap import PolicyLoader
from yibao.domain.engine import settle_year
from yibao.domain.parameters import ReferralThreshold, RegionPolicy
from yibao.service import scenarios

TESTS = Path(__file__).resolve().parent
POLICY_PATH = search_path([TESTS / "regions"])
RIVER = TESTS / "scenarios" / "river-county"
DELTA = TESTS / "regions" / "delta-town-scenarios"
FILES = scenario_files([RIVER, DELTA])


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_the_scenario_settles_as_it_expects(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.expect is not None
    result = scenarios.run(scenario, PolicyLoader(POLICY_PATH))
    assert scenarios.check(scenario, result) == []


def test_every_rule_of_section_10_has_scenarios() -> None:
    assert len(scenario_files([RIVER])) >= 18
    assert len(scenario_files([DELTA])) >= 4


def _kinds(policy: RegionPolicy) -> set[str]:
    """The new rule kinds a region uses."""
    found = set()
    for rules in policy.schemes.values():
        inp = rules.inpatient
        if inp.referral_threshold is not None and any(
            p.value is ReferralThreshold.CONTINUED for p in inp.referral_threshold.periods
        ):
            found.add("referral chains")
        if inp.rate_points is not None:
            found.add("points on rates")
        if rules.fixed_sum is not None:
            found.add("fixed sums")
        if rules.cause_cap is not None:
            found.add("cause caps")
        if any(p.when is not None and "place" in p.when.dims for p in inp.rate.periods):
            found.add("place classes replace threshold and rate")
    si = policy.serious_illness
    if si is not None and si.scale.conditional:
        found.add("serious illness by table")
    return found


def test_delta_town_uses_every_new_rule_kind_in_other_combinations() -> None:
    river = load_region("river-county", POLICY_PATH)
    delta = load_region("delta-town", POLICY_PATH)
    assert _kinds(river) == _kinds(delta)
    assert len(_kinds(delta)) == 6
    delta_rules = delta.schemes["resident"]
    assert delta_rules.fixed_sum is not None
    river_rules = river.schemes["resident"]
    assert river_rules.fixed_sum is not None
    # Other combinations: fixed sums by diagnosis group, not delivery; points by age too;
    # the serious-illness layer by diagnosis group, not category.
    assert {d for p in delta_rules.fixed_sum.periods if p.when for d in p.when.dims} == {
        "kind",
        "diagnosis",
    }
    assert {d for p in river_rules.fixed_sum.periods if p.when for d in p.when.dims} == {"delivery"}
    assert delta.serious_illness is not None
    assert delta.serious_illness.separate_groups == {"cancer"}


def test_the_explanation_names_the_row_of_the_table() -> None:
    scenario = load_scenario(RIVER / "rc-thresholds-by-level-and-type.yaml")
    policy = load_region("river-county", POLICY_PATH)
    year, _ = settle_year(policy, scenario.person, scenario.year, scenario.encounters)
    tcm = year.encounters[3]
    texts = [step.text("en") for step in tcm.steps]
    assert any(
        "river-county/resident.yaml: inpatient.threshold (level 2, type tcm, place local)" in t
        for t in texts
    ), texts
    threshold = next(s for s in tcm.steps if s.rule == "threshold")
    assert threshold.to_dict()["parameter"]["when"] == "level 2, type tcm, place local"
    assert threshold.ref is not None
    assert threshold.ref.since == date(2018, 1, 1)
