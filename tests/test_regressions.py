"""Bugs found in review, each kept fixed by a test."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from test_cli import SHARED, yibao
from yibao.adapters.parameter_files import PolicyError, load_region_dir
from yibao.domain.parameters import Dated, Period, PolicyGapError

TEST_TOWN = Path(__file__).resolve().parent / "regions" / "test-town"


def _scenario(tmp_path: Path, old: str, new: str) -> Path:
    source = (SHARED / "student-outpatient-cap.yaml").read_text(encoding="utf-8")
    assert old in source
    path = tmp_path / "bad.yaml"
    path.write_text(source.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("2026-02-03", "2026-02-30", "day is out of range"),
        ('amount: "300.00"', "amount: .nan", "not a finite number"),
        (
            "region: sample-city",
            "region: sample-city\n? [a, b]\n: 1",
            "a key must be a plain value",
        ),
    ],
)
def test_unreadable_yaml_values_are_errors_not_tracebacks(
    tmp_path: Path, old: str, new: str, says: str
) -> None:
    done = yibao("scenario", "run", _scenario(tmp_path, old, new))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert says in done.stderr
    assert "bad.yaml" in done.stderr


def test_a_yml_policy_file_is_refused_rather_than_ignored(tmp_path: Path) -> None:
    town = tmp_path / "test-town"
    shutil.copytree(TEST_TOWN, town)
    (town / "serious_illness.yaml").rename(town / "serious_illness.yml")
    with pytest.raises(PolicyError, match=r"test-town/serious_illness.yml: not a policy file"):
        load_region_dir(town)


def test_a_misspelt_scheme_in_an_optional_file_is_an_error(tmp_path: Path) -> None:
    town = tmp_path / "test-town"
    shutil.copytree(TEST_TOWN, town)
    path = town / "serious_illness.yaml"
    text = path.read_text(encoding="utf-8")
    assert "[resident]" in text
    path.write_text(text.replace("[resident]", "[residnet]", 1), encoding="utf-8")
    with pytest.raises(
        PolicyError, match=r"test-town/serious_illness.yaml: schemes\[0\]\.value\[0\]"
    ):
        load_region_dir(town)


def test_scenario_check_names_the_file_when_the_policy_cannot_run_it(tmp_path: Path) -> None:
    shutil.copy(SHARED / "student-outpatient-cap.yaml", tmp_path / "good.yaml")
    _scenario(tmp_path, "region: sample-city", "region: nowhere")
    done = yibao("scenario", "check", tmp_path)
    assert done.returncode == 2
    assert "bad.yaml: unknown region 'nowhere'" in done.stderr
    assert "1 passed, 0 failed, 1 could not run" in done.stdout


def test_an_open_ended_value_ends_when_the_next_one_starts() -> None:
    dated = Dated(
        "r/x.yaml",
        "k",
        (
            Period(date(2024, 1, 1), None, "A", "[set]"),
            Period(date(2025, 1, 1), date(2025, 12, 31), "B", "[set]"),
        ),
    )
    assert dated.at(date(2024, 12, 31)).value == "A"
    assert dated.at(date(2025, 6, 1)).value == "B"
    with pytest.raises(PolicyGapError):
        dated.at(date(2026, 3, 1))
