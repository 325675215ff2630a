"""The explanation as stored (steps as data, words made when read) reads in the same words
as the steps the engine made, and a row stored with its words reads as it was stored."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import orjson

from yibao.adapters.parameter_files import search_path
from yibao.adapters.scenario_files import load_scenario
from yibao.bootstrap import PolicyLoader
from yibao.domain.explain import Step, read_steps, stored_steps
from yibao.domain.parameters import Ref
from yibao.service.scenarios import run

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([*(ROOT / "examples").rglob("*.yaml"), *(ROOT / "tests/scenarios").glob("*.yaml")])


def test_every_scenario_step_reads_the_same_after_storage() -> None:
    policies = PolicyLoader(search_path([ROOT / "examples" / "regions"]))
    steps = []
    for path in FILES:
        if "expect" not in path.read_text(encoding="utf-8"):
            continue
        result = run(load_scenario(path), policies)
        steps += [s for r in result.encounters for s in r.steps]
        steps += list(result.serious_illness.steps)
    assert len(steps) > 200, "the walk read the scenarios"
    rules = {s.rule for s in steps}
    assert {"threshold", "segment", "basic", "personal"} <= rules
    # Through JSON, as the database keeps it.
    kept = orjson.loads(orjson.dumps(stored_steps(steps)))
    assert read_steps(kept) == [s.to_dict() for s in steps]


def test_the_stored_form_is_data_without_words_and_smaller() -> None:
    ref = Ref("sample-city/resident.yaml", "outpatient.rate", date(2026, 1, 1), "[set] §8")
    step = Step("outpatient_rate", Decimal("24.3000"), ref, "45%", Decimal("54.00"))
    stored = step.stored()
    assert stored == [
        "outpatient_rate",
        "24.3000",
        "45%",
        "54.00",
        {},
        ["sample-city/resident.yaml", "outpatient.rate", "2026-01-01", "[set] §8", ""],
    ]
    assert "Fund pays" not in json.dumps(stored)
    assert len(orjson.dumps(stored)) * 3 < len(orjson.dumps(step.to_dict()))
    # Trailing defaults are left out, and come back.
    bare = Step("basic", Decimal("150"))
    assert bare.stored() == ["basic", "150"]
    assert Step.from_stored(bare.stored()) == bare
    assert Step.from_stored(stored) == step


def test_a_step_stored_with_its_words_reads_as_it_was_stored() -> None:
    """Rows written before the compact form (and the batch load's) keep their words, even
    where today's sentence would read otherwise."""
    old = Step(
        "basic", Decimal("150"), args={"scheme": "student", "scheme_zh": "学生儿童"}
    ).to_dict()
    old["text"] = {"en": "Basic fund (student) pays 150.00", "zh": "基本医保基金支付150.00元"}
    new = Step(
        "personal", Decimal("10"), base=Decimal("30"), args={"fund": "20", "institution": "0"}
    )
    shown = read_steps([old, new.stored()])
    assert shown[0] is old
    assert shown[1] == new.to_dict()
    assert shown[1]["text"]["en"] == "You pay 10.00 = total 30.00 − fund 20 − hospital 0"
