"""The engine against an independent calculator of the reference policies
(tests/oracle/calculator.py, written from reference-policies.md alone): generated years of
bills for the three regions of the reference, and every scenario file, must come out the
same to the fen, encounter by encounter and for the year."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from oracle import calculator
from oracle.edges import edge_scenarios
from oracle.strategies import scenarios
from yibao.adapters.parameter_files import search_path
from yibao.adapters.scenario_files import parse_scenario, scenario_files
from yibao.adapters.strict_yaml import load_text
from yibao.bootstrap import PolicyLoader
from yibao.domain.engine import YearResult
from yibao.service import scenarios as engine_scenarios

TESTS = Path(__file__).resolve().parents[1]
SHARED = TESTS.parents[1] / "shared" / "scenarios"
POLICIES = PolicyLoader(search_path())
FILES = scenario_files([p for p in (TESTS / "scenarios", SHARED) if p.is_dir()])


def engine(data: dict[str, Any]) -> YearResult:
    return engine_scenarios.run(parse_scenario(data, "generated"), POLICIES)


def fen(x: Decimal) -> str:
    return str(calculator.fen(x))


def differences(data: dict[str, Any]) -> list[str]:
    """Every place where the engine and the calculator disagree, one line each."""
    ours = engine(data)
    theirs = calculator.settle(data)
    found: list[str] = []
    by_id = {r.encounter_id: r for r in ours.encounters}
    for want in theirs.encounters:
        got = by_id[want.id]
        if (got.refused is not None) != (want.refused is not None):
            found.append(f"{want.id}.refused: calculator {want.refused}, engine {got.refused}")
            continue
        pairs = [
            ("total", got.total, want.total),
            ("basic", got.basic, want.basic),
            ("assistance", got.assistance, want.assistance),
            ("institution", got.institution, want.institution),
            ("personal", got.personal, want.personal),
        ]
        if want.refused is None:
            pairs += [
                ("eligible", got.eligible, want.eligible),
                ("over_limit", got.over_limit, want.over_limit),
                ("full_self_pay", got.self_pay, want.full_self_pay),
                ("first_self_pay", got.first_self_pay, want.first_self_pay),
            ]
        for name, engine_value, calculator_value in pairs:
            if fen(engine_value) != fen(calculator_value):
                found.append(
                    f"{want.id}.{name}: calculator {fen(calculator_value)},"
                    f" engine {fen(engine_value)}"
                )
    for name, engine_value, calculator_value in (
        ("serious_illness", ours.serious_illness.payment, theirs.serious_illness),
        ("personal", ours.personal, theirs.personal),
    ):
        if fen(engine_value) != fen(calculator_value):
            found.append(
                f"year.{name}: calculator {fen(calculator_value)}, engine {fen(engine_value)}"
            )
    return found


@given(scenarios())
def test_the_engine_settles_as_the_calculator(data: dict[str, Any]) -> None:
    assert differences(data) == []


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_scenario_file_settles_the_same_in_both(path: Path) -> None:
    """The files' own expectations are checked by `yibao scenario check`; here the
    calculator must agree with the engine on every field of every encounter."""
    assert differences(load_text(path.read_text(encoding="utf-8"), str(path))) == []


EDGES = edge_scenarios()


@pytest.mark.parametrize("data", [s for _, s in EDGES], ids=[name for name, _ in EDGES])
def test_every_hand_picked_edge_settles_the_same_in_both(data: dict[str, Any]) -> None:
    assert differences(data) == []
