"""The explanation's words, as a family reads them: every step of every example and test
scenario, in English and Chinese, names a scheme and a line class in words people use,
never by the code the policy files and the engine use."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from yibao.adapters.parameter_files import search_path
from yibao.adapters.scenario_files import load_scenario
from yibao.bootstrap import PolicyLoader
from yibao.domain.explain import Step
from yibao.service.scenarios import run

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([*(ROOT / "examples").rglob("*.yaml"), *(ROOT / "tests/scenarios").glob("*.yaml")])
# A scheme's or a class's code where a word belongs: "(student)", "the employee scheme",
# "self_pay", and the old "Basic fund" nobody says.
CODES = re.compile(
    r"\((?:student|resident|employee)\)|(?:student|resident|employee) scheme|self_pay|Basic fund"
)


def sentences(path: Path, lang: str) -> list[str]:
    result = run(load_scenario(path), PolicyLoader(search_path([ROOT / "examples" / "regions"])))
    steps = [s for r in result.encounters for s in r.steps] + list(result.serious_illness.steps)
    # The family reads the sentence without its citation of the policy file.
    return [s.text(lang).split(" [", 1)[0] for s in steps]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_step_names_a_scheme_or_class_by_its_code(lang: str) -> None:
    scenarios = [p for p in FILES if "expect" in p.read_text(encoding="utf-8")]
    assert len(scenarios) > 20, "the walk read the scenarios"
    found = {t for p in scenarios for t in sentences(p, lang) if CODES.search(t)}
    assert not found, sorted(found)[:10]


def test_the_fund_step_names_the_scheme_as_its_policy_labels_it() -> None:
    hill = ROOT / "tests/scenarios"
    path = next(p for p in sorted(hill.glob("hc-*.yaml")) if "scheme: student" in p.read_text())
    texts = {lang: sentences(path, lang) for lang in ("en", "zh")}
    assert any(
        t.startswith("Residents' basic medical insurance (students and children): the fund pays ")
        for t in texts["en"]
    ), texts["en"]
    assert any(t.startswith("城乡居民基本医疗保险（学生儿童）基金支付") for t in texts["zh"])


def test_a_step_stored_without_the_label_still_reads_in_words() -> None:
    """A step written before it carried the scheme's label, and a self-pay class."""
    old = Step("basic", Decimal("150"), args={"scheme": "student", "scheme_zh": "学生儿童"})
    assert (
        old.text("en") == "Students' and children's basic medical insurance: the fund pays 150.00"
    )
    line = Step(
        "eligible_share", Decimal(0), value="0%", base=Decimal(30), args={"cls": "self_pay"}
    )
    assert line.text("en").startswith("Self-pay lines 30.00 × eligible share 0%")
    assert CODES.search("Basic fund (student) pays 150.00")
    assert CODES.search("Class self_pay lines")
    assert CODES.search("does not cover the employee scheme")
    assert not CODES.search("Students' and children's basic medical insurance; residents' fund")
