"""Regions from real published texts (issue 14 item 4), shipped as data only under
examples/regions/: each folder <region> beside <region>-scenarios holding one scenario
per official worked example (with the official numbers), and any of our own. Every
scenario settles as it expects, through the scenario service and the CLI; every value
of these regions names its source, and the values the official examples use come from
the text ([text]), not from us."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from yibao.adapters.parameter_files import load_region, region_names, search_path
from yibao.adapters.scenario_files import load_scenario, scenario_files
from yibao.bootstrap import PolicyLoader
from yibao.service import scenarios

ROOT = Path(__file__).resolve().parents[1]
REGIONS = ROOT / "examples" / "regions"
POLICY_PATH = search_path([REGIONS])
NAMES = sorted(d.name for d in REGIONS.iterdir() if (d / "region.yaml").is_file())
FILES = scenario_files([REGIONS / f"{name}-scenarios" for name in NAMES])
# Real texts without a worked example yibao reproduces: jiamusi-2018 has none. Its
# scenarios are ours, computed from the text's rules, and docs/policies.md says so.
WITHOUT_OFFICIAL_EXAMPLE = {
    "jiamusi-2018": "no official example",
}
DOCS = ROOT / "docs" / "policies.md"


def test_the_example_regions_are_there() -> None:
    assert {"shandong-2014", "jiamusi-2018", "ningbo-2014"} <= set(NAMES)
    assert set(NAMES) <= set(region_names(POLICY_PATH))


@pytest.mark.parametrize("name", NAMES)
def test_the_region_loads_and_has_an_official_example(name: str) -> None:
    policy = load_region(name, POLICY_PATH)
    assert policy.code == name
    files = scenario_files([REGIONS / f"{name}-scenarios"])
    official = [p for p in files if "official" in p.stem]
    assert files, f"{name}: no scenarios"
    if name in WITHOUT_OFFICIAL_EXAMPLE:
        assert not official, f"{name}: the text has no worked example to call official"
    else:
        assert official, f"{name}: no scenario of an official example"
    docs = DOCS.read_text(encoding="utf-8")
    heading = next((line for line in docs.splitlines() if line.startswith(f"### {name}:")), None)
    assert heading is not None, f"{name}: not in docs/policies.md"
    if name in WITHOUT_OFFICIAL_EXAMPLE:
        assert WITHOUT_OFFICIAL_EXAMPLE[name] in heading


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_the_scenario_settles_as_it_expects(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.expect is not None
    result = scenarios.run(scenario, PolicyLoader(POLICY_PATH))
    assert scenarios.check(scenario, result) == []


def _sources(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [str(node["source"])] if "source" in node else []
        for value in node.values():
            found.extend(_sources(value))
        return found
    if isinstance(node, list):
        return [s for item in node for s in _sources(item)]
    return []


@pytest.mark.parametrize("name", NAMES)
def test_every_value_names_its_source(name: str) -> None:
    for path in sorted((REGIONS / name).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key, value in data.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                # a dated value at the top level
                assert all("source" in v for v in value), f"{path.name}: {key}"
        for source in _sources(data):
            assert source.startswith(("[text] ", "[set] ")), f"{path.name}: {source}"


def test_shandong_official_example_rests_on_the_text() -> None:
    """The serious-illness layer of the official example uses only [text] rows: the
    explanation of the year names them; the stand-in basic scheme is [set]."""
    path = REGIONS / "shandong-2014-scenarios" / "sd-official-example-farmer-300000.yaml"
    result = scenarios.run(load_scenario(path), PolicyLoader(POLICY_PATH))
    explained = scenarios.to_json(result)["year"]["explanation"]
    lines = [line for line in explained if "serious_illness.yaml" in line]
    assert len(lines) == 2
    assert all(line.endswith("[text]]") for line in lines)


def test_the_cli_checks_the_example_regions() -> None:
    yibao = Path(sys.executable).parent / "yibao"
    done = subprocess.run(
        [str(yibao), "scenario", "check", "--policies", str(REGIONS), *map(str, FILES)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"{len(FILES)} passed, 0 failed"


def test_ningbo_official_example_rests_on_the_texts_year() -> None:
    """The official example is about the year: the year's first day is the text's
    ([text]), and its stay, discharged on 2 September 2014, is settled in the year 2014
    together with a stay of March 2015 (one year, one serious-illness deductible)."""
    policy = load_region("ningbo-2014", POLICY_PATH)
    assert policy.year_start.describe() == "09-01"
    assert policy.year_start.source.startswith("[text] ")
    path = REGIONS / "ningbo-2014-scenarios" / "nb-official-example-stay-across-1-september.yaml"
    scenario = load_scenario(path)
    assert scenario.year == 2014
    assert [e.date.isoformat() for e in scenario.encounters] == ["2014-09-02", "2015-03-10"]
    result = scenarios.run(scenario, PolicyLoader(POLICY_PATH))
    assert scenarios.to_json(result)["year"]["serious_illness"] == "1220.00"
