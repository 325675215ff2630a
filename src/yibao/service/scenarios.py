"""Run a scenario's year through the engine, render it as the scenario JSON, check its
expectations. The scenario comes read (adapters/scenario_files.py), the region's policy
from the policy source the caller gives (bootstrap.policy_source over the policy path)."""

from __future__ import annotations

from typing import Any

from yibao.domain.engine import (
    EncounterResult,
    InputError,
    YearResult,
    outside_the_year,
    settle_year,
)
from yibao.domain.money import fmt
from yibao.service.ports import PolicySource
from yibao.service.ports.files import Scenario


def run(scenario: Scenario, policies: PolicySource) -> YearResult:
    policy = policies(scenario.region)
    # Which days make up `year` is the region's (its insurance year may start on another
    # day than 1 January), so the file's dates are checked here, not when it is read.
    for i, enc in enumerate(scenario.encounters):
        outside = outside_the_year(policy, scenario.year, enc.date)
        if outside is not None:
            raise InputError(f"{scenario.name}: encounters[{i}].date: {outside}")
    result, _ = settle_year(policy, scenario.person, scenario.year, scenario.encounters)
    return result


def _encounter_json(r: EncounterResult, lang: str) -> dict[str, Any]:
    return {
        "id": r.encounter_id,
        "total": fmt(r.total),
        "over_limit": fmt(r.over_limit),
        "full_self_pay": fmt(r.self_pay),
        "first_self_pay": fmt(r.first_self_pay),
        "eligible": fmt(r.eligible),
        "basic": fmt(r.basic),
        "assistance": fmt(r.assistance),
        "institution": fmt(r.institution),
        "personal": fmt(r.personal),
        "refused": None if r.refused is None else r.refused.reason.get(lang),
        "explanation": [step.text(lang) for step in r.steps],
        "summary": {"zh": r.summary("zh"), "en": r.summary("en")},
    }


def to_json(result: YearResult, lang: str = "en") -> dict[str, Any]:
    """The output of `yibao scenario run`, as in scenario-format.md (plus summaries)."""
    return {
        "encounters": [_encounter_json(r, lang) for r in result.encounters],
        "year": {
            "serious_illness": fmt(result.serious_illness.payment),
            "personal": fmt(result.personal),
            "explanation": [step.text(lang) for step in result.serious_illness.steps],
        },
    }


# Expectation fields and the result's attribute each is checked against.
_CHECKED = (
    ("total", "total"),
    ("over_limit", "over_limit"),
    ("full_self_pay", "self_pay"),
    ("first_self_pay", "first_self_pay"),
    ("eligible", "eligible"),
    ("basic", "basic"),
    ("assistance", "assistance"),
    ("institution", "institution"),
    ("personal", "personal"),
)


def check(scenario: Scenario, result: YearResult) -> list[str]:
    """Every difference between the scenario's `expect` block and the result, one line each."""
    if scenario.expect is None:
        return []
    problems: list[str] = []
    by_id = {r.encounter_id: r for r in result.encounters}
    for eid, want in scenario.expect.encounters.items():
        got = by_id[eid]
        for name, attr in _CHECKED:
            expected = getattr(want, name)
            actual = getattr(got, attr)
            if expected is not None and fmt(expected) != fmt(actual):
                problems.append(
                    f"{scenario.name}: {eid}.{name}: expected {fmt(expected)}, got {fmt(actual)}"
                )
        if want.refused is not None and want.refused != (got.refused is not None):
            actual_text = (
                "not refused" if got.refused is None else f"refused ({got.refused.reason.en})"
            )
            problems.append(
                f"{scenario.name}: {eid}.refused: expected {want.refused}, got {actual_text}"
            )
    year = scenario.expect.year
    if year is not None:
        pairs = (("serious_illness", result.serious_illness.payment), ("personal", result.personal))
        for name, actual in pairs:
            expected = getattr(year, name)
            if expected is not None and fmt(expected) != fmt(actual):
                problems.append(
                    f"{scenario.name}: year.{name}: expected {fmt(expected)}, got {fmt(actual)}"
                )
    return problems
