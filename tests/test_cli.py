"""The `yibao` command, run as a user runs it: the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SHARED = ROOT / "examples"  # copies of the shared example scenarios
TEST_REGIONS = TESTS / "regions"
TEST_TOWN_SCENARIOS = TEST_REGIONS / "test-town-scenarios"
YIBAO = shutil.which("yibao") or str(Path(sys.executable).parent / "yibao")

AMOUNT = re.compile(r"^\d+\.\d\d$")
CJK = re.compile(r"[\u4e00-\u9fff]")


def yibao(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "YIBAO_POLICY_PATH"}
    environment["PYTHONIOENCODING"] = "utf-8"
    environment.update(env or {})
    return subprocess.run(
        [YIBAO, *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        env=environment,
        timeout=120,
        check=False,
    )


def run_json(*args: str | Path) -> dict[str, Any]:
    done = yibao("scenario", "run", *args)
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def by_id(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in out["encounters"]}


def scenario_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.suffix in (".yaml", ".yml", ".json"))


def test_the_command_is_installed() -> None:
    assert Path(YIBAO).exists(), YIBAO
    done = yibao("--help")
    assert done.returncode == 0
    assert "scenario" in done.stdout
    assert "policy" in done.stdout


# --- scenario run -----------------------------------------------------------------------


def test_run_prints_the_scenario_json() -> None:
    out = run_json(SHARED / "student-inpatient-segments.yaml")
    assert set(out) >= {"encounters", "year"}
    fields = {
        "id",
        "total",
        "eligible",
        "basic",
        "assistance",
        "institution",
        "personal",
        "refused",
        "explanation",
    }
    for encounter in out["encounters"]:
        assert set(encounter) >= fields
        for name in ("total", "eligible", "basic", "assistance", "institution", "personal"):
            assert AMOUNT.match(encounter[name]), (name, encounter[name])
        assert encounter["refused"] is None
        assert isinstance(encounter["explanation"], list)
        assert all(isinstance(line, str) and line for line in encounter["explanation"])
    e = by_id(out)
    assert [enc["id"] for enc in out["encounters"]] == ["E1", "E2", "E3"]
    assert (e["E1"]["total"], e["E1"]["basic"], e["E1"]["personal"]) == (
        "30500.00",
        "21000.00",
        "9500.00",
    )
    assert (e["E2"]["basic"], e["E2"]["personal"]) == ("64000.00", "16500.00")
    assert (e["E3"]["basic"], e["E3"]["personal"]) == ("81000.00", "19500.00")
    assert out["year"]["serious_illness"] == "0.00"
    assert out["year"]["personal"] == "45500.00"


def test_run_pilot_amounts_and_refusal_reason() -> None:
    e = by_id(run_json(SHARED / "pilot-leukaemia-assistance.yaml"))["E1"]
    assert (e["basic"], e["assistance"], e["institution"], e["personal"]) == (
        "56000.00",
        "16000.00",
        "12000.00",
        "11000.00",
    )
    refused = by_id(run_json(SHARED / "employee-outpatient-special.yaml"))["E5"]
    assert isinstance(refused["refused"], str)
    assert refused["refused"]
    assert refused["personal"] == refused["total"] == "5000.00"


def test_run_english_explanation_by_default() -> None:
    e = by_id(run_json(SHARED / "student-inpatient-segments.yaml"))["E1"]
    text = "\n".join(e["explanation"])
    assert not CJK.search(text)
    assert "sample-city/student.yaml: inpatient.rate" in text


def test_run_lang_zh_gives_chinese_explanation() -> None:
    out = run_json(SHARED / "student-inpatient-segments.yaml", "--lang", "zh")
    e = by_id(out)["E1"]
    assert e["basic"] == "21000.00"
    assert all(CJK.search(line) for line in e["explanation"])
    assert any("起付" in line for line in e["explanation"])
    refused = by_id(run_json(SHARED / "employee-outpatient-special.yaml", "--lang", "zh"))["E5"]
    assert CJK.search(refused["refused"])


def test_run_json_scenario(tmp_path: Path) -> None:
    scenario = {
        "region": "sample-city",
        "year": 2026,
        "person": {"id": "P1", "birth_date": "2012-06-01", "scheme": "student"},
        "encounters": [
            {
                "id": "E1",
                "date": "2026-03-02",
                "kind": "inpatient",
                "hospital": {"id": "H3", "level": 3},
                "lines": [{"class": "A", "amount": "30500.00"}],
            }
        ],
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps(scenario), encoding="utf-8")
    e = by_id(run_json(path))["E1"]
    assert (e["basic"], e["personal"]) == ("21000.00", "9500.00")


def test_run_test_town_on_each_side_of_the_rate_switch() -> None:
    june = by_id(
        run_json(
            "--policies",
            TEST_REGIONS,
            TEST_TOWN_SCENARIOS / "tt-resident-outpatient-june-30-old-rate.yaml",
        )
    )["E1"]
    july = by_id(
        run_json(
            "--policies",
            TEST_REGIONS,
            TEST_TOWN_SCENARIOS / "tt-resident-outpatient-july-1-new-rate.yaml",
        )
    )["E1"]
    assert (june["basic"], june["personal"]) == ("400.00", "600.00")
    assert (july["basic"], july["personal"]) == ("480.00", "520.00")
    assert any("50%" in line and "outpatient.rate" in line for line in june["explanation"])
    assert any("60%" in line and "outpatient.rate" in line for line in july["explanation"])


def test_run_test_town_needs_its_folder() -> None:
    path = TEST_TOWN_SCENARIOS / "tt-resident-outpatient-july-1-new-rate.yaml"
    done = yibao("scenario", "run", path)
    assert done.returncode == 2
    assert "error: unknown region 'test-town'" in done.stderr
    done = yibao("scenario", "run", path, env={"YIBAO_POLICY_PATH": str(TEST_REGIONS)})
    assert done.returncode == 0, done.stderr
    assert by_id(json.loads(done.stdout))["E1"]["basic"] == "480.00"


# --- scenario check ---------------------------------------------------------------------


def test_check_shared_folder_passes() -> None:
    # the shared scenarios only: examples/regions/ holds regions from real texts with
    # their own scenarios (tests/test_example_regions.py)
    files = sorted(SHARED.glob("*.yaml"))
    count = len(files)
    done = yibao("scenario", "check", *files)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"{count} passed, 0 failed"


def test_check_test_town_scenarios_pass() -> None:
    files = scenario_files(TEST_TOWN_SCENARIOS)
    assert len(files) >= 6
    done = yibao(
        "scenario", "check", "--policies", "tests/regions", "tests/regions/test-town-scenarios"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"{len(files)} passed, 0 failed"


def test_check_reports_a_mismatch(tmp_path: Path) -> None:
    source = (SHARED / "student-inpatient-segments.yaml").read_text(encoding="utf-8")
    old = 'E2: {basic: "64000.00"'
    assert source.count(old) == 1
    path = tmp_path / "changed.yaml"
    path.write_text(source.replace(old, 'E2: {basic: "64000.01"'), encoding="utf-8")
    shutil.copy(SHARED / "student-outpatient-cap.yaml", tmp_path / "untouched.yaml")
    done = yibao("scenario", "check", tmp_path)
    assert done.returncode == 1
    lines = done.stdout.strip().splitlines()
    assert f"{path}: E2.basic: expected 64000.01, got 64000.00" in lines
    assert lines[-1] == "1 passed, 1 failed"
    assert "Traceback" not in done.stdout + done.stderr


def test_check_reports_a_year_mismatch_and_refusal(tmp_path: Path) -> None:
    source = (SHARED / "employee-outpatient-special.yaml").read_text(encoding="utf-8")
    source = source.replace('personal: "9410.00"', 'personal: "9410.10"')
    source = source.replace(
        'E1: {basic: "0.00"', 'E1: {refused: true, basic: "0.00"'
    )  # E1 is not refused
    path = tmp_path / "changed.yaml"
    path.write_text(source, encoding="utf-8")
    done = yibao("scenario", "check", path)
    assert done.returncode == 1
    assert f"{path}: year.personal: expected 9410.10, got 9410.00" in done.stdout
    assert f"{path}: E1.refused: expected True, got not refused" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "0 passed, 1 failed"


def test_check_without_expectations_is_an_error(tmp_path: Path) -> None:
    source = (SHARED / "student-inpatient-segments.yaml").read_text(encoding="utf-8")
    (tmp_path / "no-expect.yaml").write_text(source.split("expect:")[0], encoding="utf-8")
    done = yibao("scenario", "check", tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error:")


def test_check_missing_path() -> None:
    done = yibao("scenario", "check", "no/such/folder")
    assert done.returncode == 2
    assert "error: no/such/folder: no such file or folder" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


# --- bad input --------------------------------------------------------------------------

BASE = "student-outpatient-cap.yaml"


@pytest.mark.parametrize(
    ("label", "old", "new", "place"),
    [
        (
            "malformed YAML",
            'lines: [{class: A, amount: "120.00"}]}',
            'lines: [{class: A, amount: "120.00"}}',
            "line 13: not valid YAML",
        ),
        ("unknown line class", "{class: B,", "{class: C,", "encounters[0].lines[1].class:"),
        ("unknown kind", "kind: outpatient\n", "kind: dental\n", "encounters[0].kind:"),
        (
            "level 7",
            "hospital: {id: C1, level: 1}\n",
            "hospital: {id: C1, level: 7}\n",
            "encounters[0].hospital.level: level 7 is not one of 0, 1, 2, 3",
        ),
        ("unknown scheme", "scheme: student}", "scheme: farmer}", "person.scheme:"),
        (
            "negative amount",
            'amount: "250.00"',
            'amount: "-250.00"',
            "encounters[0].lines[1].amount: '-250.00' is negative",
        ),
        (
            "date outside the year",
            "date: 2026-02-03",
            "date: 2025-02-03",
            "encounters[0].date: 2025-02-03 is outside the year 2026",
        ),
        (
            "unknown key",
            "scheme: student}",
            "scheme: student, colour: red}",
            "person.colour: unknown key",
        ),
        (
            "amount with three decimals",
            'amount: "250.00"',
            "amount: 250.001",
            "encounters[0].lines[1].amount:",
        ),
        (
            "expectation for no encounter",
            "    E4: {",
            "    E9: {",
            "expect.encounters.E9: no encounter has that id",
        ),
        ("duplicate key", "year: 2026\n", "year: 2026\nyear: 2027\n", "key 'year' appears twice"),
    ],
)
def test_bad_scenario_exits_2(tmp_path: Path, label: str, old: str, new: str, place: str) -> None:
    source = (SHARED / BASE).read_text(encoding="utf-8")
    assert source.count(old) == 1, label
    path = tmp_path / "bad.yaml"
    path.write_text(source.replace(old, new), encoding="utf-8")
    done = yibao("scenario", "run", path)
    assert done.returncode == 2, (label, done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines
    assert all(line.startswith("error: ") for line in lines), lines
    assert lines[0].startswith(f"error: {path}: ")
    assert place in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_unknown_region_exits_2(tmp_path: Path) -> None:
    source = (SHARED / BASE).read_text(encoding="utf-8")
    path = tmp_path / "bad.yaml"
    path.write_text(source.replace("region: sample-city", "region: nowhere"), encoding="utf-8")
    done = yibao("scenario", "run", path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert all(line.startswith("error: ") for line in lines)
    assert "unknown region 'nowhere'" in done.stderr
    assert "hill-county" in done.stderr
    assert "sample-city" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    done = yibao("scenario", "run", path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {path}: cannot be read")
    assert "Traceback" not in done.stdout + done.stderr


def test_scenario_that_is_not_a_mapping_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- region: sample-city\n", encoding="utf-8")
    done = yibao("scenario", "run", path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {path}: ")
    assert "Traceback" not in done.stdout + done.stderr


def test_malformed_json_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"region": "sample-city",\n "year": }', encoding="utf-8")
    done = yibao("scenario", "run", path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {path}: line 2: not valid JSON")
    assert "Traceback" not in done.stdout + done.stderr


def test_encounter_before_the_policy_exists_exits_2(tmp_path: Path) -> None:
    source = (TEST_TOWN_SCENARIOS / "tt-resident-outpatient-june-30-old-rate.yaml").read_text(
        encoding="utf-8"
    )
    source = source.replace("year: 2026", "year: 2023").replace("2026-06-30", "2023-06-30")
    path = tmp_path / "early.yaml"
    path.write_text(source, encoding="utf-8")
    done = yibao("scenario", "run", "--policies", TEST_REGIONS, path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: test-town/")
    assert "no value in force on 2023-06-30" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_broken_policy_folder_exits_2(tmp_path: Path) -> None:
    regions = tmp_path / "regions"
    shutil.copytree(TEST_REGIONS / "test-town", regions / "test-town")
    resident = regions / "test-town" / "resident.yaml"
    resident.write_text(
        resident.read_text(encoding="utf-8").replace('value: "0.60"', 'value: "1.60"'),
        encoding="utf-8",
    )
    path = TEST_TOWN_SCENARIOS / "tt-resident-outpatient-july-1-new-rate.yaml"
    done = yibao("scenario", "run", "--policies", regions, path)
    assert done.returncode == 2
    assert "error: test-town/resident.yaml: outpatient.rate[1].value:" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


# --- policy show ------------------------------------------------------------------------


def test_policy_show_one_scheme() -> None:
    done = yibao("policy", "show", "sample-city", "--scheme", "student", "--on", "2026-03-01")
    assert done.returncode == 0, done.stderr
    assert "inpatient.rate" in done.stdout
    assert "[text]" in done.stdout
    assert "[set]" in done.stdout
    assert "sample-city/student.yaml" in done.stdout
    assert "sample-city/region.yaml" in done.stdout
    assert "sample-city/employee.yaml" not in done.stdout
    assert "sample-city/resident.yaml" not in done.stdout
    assert "2026-03-01" in done.stdout


def test_policy_show_prints_a_decision_table_row_by_row() -> None:
    done = yibao("policy", "show", "river-county", "--scheme", "resident", "--on", "2026-03-01")
    assert done.returncode == 0, done.stderr
    lines = [" ".join(line.split()) for line in done.stdout.splitlines()]
    assert any("┃ when ┃" in line for line in lines)
    # (a long condition wraps within its cell)
    assert any("│ level 2, type tcm, place │ 400.00 per stay │" in line for line in lines)
    assert any("│ place unfiled │ 1500.00 per stay │" in line for line in lines)
    assert any("│ category general │ 300000.00 │" in line for line in lines)
    assert any("│ category low_income or │ none │" in line for line in lines)


def test_policy_show_test_town_on_the_switch() -> None:
    before = yibao("policy", "show", "test-town", "--policies", TEST_REGIONS, "--on", "2026-06-30")
    after = yibao("policy", "show", "test-town", "--policies", TEST_REGIONS, "--on", "2026-07-01")
    assert before.returncode == 0, before.stderr
    assert after.returncode == 0, after.stderr
    assert "2026-07-01" not in before.stdout.replace("2026-06-30", "")
    # the title names the day; a row cites the date the new outpatient rate took effect
    assert after.stdout.count("2026-07-01") >= 2
    assert "child_major_disease" not in after.stdout


def test_policy_show_before_any_value_says_none_in_force() -> None:
    done = yibao("policy", "show", "test-town", "--policies", TEST_REGIONS, "--on", "2020-01-01")
    assert done.returncode == 0, done.stderr
    assert "(none in force)" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("sample-city", "--scheme", "farmer"),
            "error: --scheme: sample-city has no scheme 'farmer'",
        ),
        (("hill-county", "--scheme", "employee"), "error: --scheme: hill-county has no scheme"),
        (("nowhere",), "error: unknown region 'nowhere'"),
        (("sample-city", "--on", "2026-02-30"), "error: --on: '2026-02-30' is not a date"),
    ],
)
def test_policy_show_bad_input_exits_2(args: tuple[str, ...], message: str) -> None:
    done = yibao("policy", "show", *args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(message)
    assert "Traceback" not in done.stdout + done.stderr
