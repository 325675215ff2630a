"""What-if: a change file over the base region, settled twice, compared."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from yibao.adapters.parameter_files import load_region, load_region_dir
from yibao.adapters.scenario_files import load_scenario
from yibao.batch.columnar import settle
from yibao.batch.frames import RegionYear
from yibao.batch.generate import generate
from yibao.batch.whatif import WhatIfError, compare, load_change, region_folder
from yibao.domain.engine.settle import settle_year
from yibao.domain.money import fmt
from yibao.domain.parameters import RegionPolicy
from yibao.entrypoints import cli_batch as cli

app = typer.Typer()
app.command("whatif")(cli.whatif)
app.command("generate")(cli.generate)

RAISE = """\
title: outpatient 60% and inpatient +5 points for residents
changes:
  - file: resident.yaml
    key: outpatient.rate
    from: 2026-03-01
    value: "0.60"
  - file: resident
    key: inpatient.rate
    from: 2026-01-01
    brackets:
      - {from: "0", rate: "0.75"}
      - {from: "40000", rate: "0.85"}
      - {from: "100000", rate: "0.95"}
"""


@pytest.fixture(scope="module")
def year() -> RegionYear:
    return generate(3_000, 2026, 11, "sample-city")


def _write(tmp_path: Path, text: str, name: str = "change.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_raised_rate_costs_what_two_separate_runs_give(tmp_path: Path, year: RegionYear) -> None:
    change = load_change(_write(tmp_path, RAISE), "sample-city")
    # The same change written by hand into a copy of the region's folder.
    folder = tmp_path / "by-hand" / "sample-city"
    shutil.copytree(region_folder("sample-city"), folder)
    resident = folder / "resident.yaml"
    text = resident.read_text(encoding="utf-8")
    old_out = '    - {from: 2024-01-01, value: "0.50", source: "[set] §2: the fund pays 50% of eligible outpatient cost"}\n'
    assert old_out in text
    text = text.replace(
        old_out,
        old_out + '    - {from: 2026-03-01, value: "0.60", source: "[set] by hand"}\n',
    )
    text = text.replace('rate: "0.70"}', 'rate: "0.75"}', 1)
    text = text.replace('rate: "0.80"}', 'rate: "0.85"}', 1)
    text = text.replace('rate: "0.90"}', 'rate: "0.95"}', 1)
    resident.write_text(text, encoding="utf-8")
    by_hand = load_region_dir(folder)

    base_run = settle(load_region("sample-city"), year)
    hand_run = settle(by_hand, year)
    changed_run = settle(change.policy, year)
    assert changed_run.encounters.equals(hand_run.encounters)
    assert changed_run.persons.equals(hand_run.persons)
    result = compare(year, base_run, changed_run)

    def fund(run: object) -> int:
        assert hasattr(run, "encounters")
        enc = run.encounters.select(pl.col("basic", "assistance").sum()).row(0)
        si = run.persons.get_column("serious_illness").sum()
        return int(enc[0] + enc[1] + si)

    layers = {r["layer"]: r for r in result.layers.iter_rows(named=True)}
    expected = fund(hand_run) - fund(base_run)
    assert expected > 0
    assert layers["fund"]["difference"] == expected
    assert layers["fund"]["base"] == fund(base_run)
    assert int(result.by_scheme.get_column("d_fund").sum()) == expected
    assert int(result.by_age.get_column("d_fund").sum()) == expected
    basic = int(hand_run.encounters["basic"].sum() - base_run.encounters["basic"].sum())
    assert layers["basic"]["difference"] == basic
    assert int(result.by_level.get_column("d_basic").sum()) == basic
    # Only residents are touched, and the most affected are the largest changes.
    schemes = {r["scheme"]: r["d_fund"] for r in result.by_scheme.iter_rows(named=True)}
    assert schemes["employee"] == schemes["student"] == 0
    top = result.most_affected.get_column("d_personal").abs().to_list()
    assert len(top) == 10
    assert top == sorted(top, reverse=True)
    assert top[-1] >= result.persons.get_column("d_personal").abs().sort()[-10]


def test_an_unchanged_value_gives_no_difference(tmp_path: Path, year: RegionYear) -> None:
    same = """\
changes:
  - file: resident.yaml
    key: outpatient.rate
    from: 2026-01-01
    value: "0.50"
  - {file: serious_illness.yaml, key: top_line, from: 2026-01-01, value: "400000.00"}
"""
    change = load_change(_write(tmp_path, same), "sample-city")
    result = compare(year, settle(load_region("sample-city"), year), settle(change.policy, year))
    assert result.layers.get_column("difference").to_list() == [0] * 6
    deltas = result.persons.select(pl.col("^d_.*$").abs().max()).row(0)
    assert deltas == (0,) * len(deltas)
    assert result.by_level.select(pl.col("^d_.*$").abs().max()).row(0) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("changes: [\n", "change.yaml: line"),
        ("changes: []\n", "change.yaml: changes: a list of at least one change"),
        ("chnages: []\n", "change.yaml: unknown key chnages"),
        (
            "changes:\n  - {file: inpatient.yaml, key: rate, from: 2026-01-01, value: '0.8'}\n",
            "changes[0].file: 'inpatient.yaml' is not a file of sample-city",
        ),
        (
            "changes:\n  - {file: resident, key: inpatient.rat, from: 2026-01-01, value: '0.8'}\n",
            "changes[0].key: sample-city/resident.yaml has no 'inpatient.rat'",
        ),
        (
            "changes:\n  - {file: resident, key: inpatient, from: 2026-01-01, value: '0.8'}\n",
            "changes[0].key: sample-city/resident.yaml inpatient is not a dated parameter",
        ),
        (
            "changes:\n  - {file: resident, key: outpatient.rate, value: '0.8'}\n",
            "changes[0]: missing from",
        ),
        (
            "changes:\n  - {file: resident, key: outpatient.rate, from: soon, value: '0.8'}\n",
            "changes[0].from: 'soon' is not a date",
        ),
        (
            "changes:\n  - {file: resident, key: outpatient.rate, from: 2026-01-01}\n",
            "changes[0]: no field of the new entry",
        ),
        (
            "changes:\n  - {file: resident, key: outpatient.rate, from: 2026-01-01, value: '1.5'}\n",
            "sample-city/resident.yaml: outpatient.rate",
        ),
        (
            "changes:\n  - {file: resident, key: outpatient.rate, from: 2026-01-01, vaule: '0.6'}\n",
            "sample-city/resident.yaml: outpatient.rate",
        ),
    ],
)
def test_a_bad_change_file_is_one_clear_error(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(WhatIfError, match=None) as caught:
        load_change(path, "sample-city")
    assert expected in str(caught.value)
    done = CliRunner().invoke(app, ["whatif", "--change", str(path), "--persons", "10"])
    assert done.exit_code == 2
    assert done.output.startswith("error: change.yaml")
    assert expected in done.output
    assert "Traceback" not in done.output


def test_the_command_prints_the_tables_and_writes_a_chart(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "sc"
    done = runner.invoke(app, ["generate", "--out", str(data), "--persons", "400", "--seed", "3"])
    assert done.exit_code == 0, done.output
    chart = tmp_path / "whatif.svg"
    done = runner.invoke(
        app,
        [
            "whatif",
            "--base",
            "sample-city",
            "--change",
            str(_write(tmp_path, RAISE)),
            "--year",
            "2026",
            "--data",
            str(data),
            "--chart",
            str(chart),
        ],
    )
    assert done.exit_code == 0, done.output
    for heading in (
        "outpatient 60% and inpatient +5 points",
        "difference by scheme",
        "difference by age band",
        "difference by institution level",
        "the 10 persons most affected",
    ):
        assert heading in done.output
    svg = ElementTree.parse(chart).getroot()
    assert svg.tag.endswith("svg")
    bars = [e for e in svg.iter() if e.tag.endswith("rect")]
    assert len(bars) == 1 + 6 + 3 + 3 + 4  # background, layers, schemes, age bands, levels
    done = runner.invoke(
        app,
        ["whatif", "--change", str(_write(tmp_path, RAISE)), "--data", str(data), "--year", "2025"],
    )
    assert done.exit_code == 2
    assert "not sample-city 2025" in done.output


# --- rows of decision tables --------------------------------------------------------------

TESTS = Path(__file__).resolve().parent.parent
RC_TYPES = TESTS / "scenarios" / "river-county" / "rc-thresholds-by-level-and-type.yaml"
TCM_ROW = """\
title: level-3 TCM hospitals' threshold 300 from July
changes:
  - file: resident
    key: inpatient.threshold
    from: 2026-07-01
    when: {level: 3, type: tcm}
    value: "300.00"
"""


def _paid(policy: object, path: Path) -> dict[str, str]:
    scenario = load_scenario(path)
    assert isinstance(policy, RegionPolicy)
    result, _ = settle_year(policy, scenario.person, scenario.year, scenario.encounters)
    return {r.encounter_id: fmt(r.basic) for r in result.encounters}


def test_a_change_file_addresses_a_row_of_a_decision_table(tmp_path: Path) -> None:
    """river-county's level-3 TCM threshold (600) becomes 300 from 1 July: the TCM stays of
    July and August are paid 60% of 300 more, the stays before July and at every other
    hospital as they were."""
    base = _paid(load_region("river-county"), RC_TYPES)
    change = load_change(_write(tmp_path, TCM_ROW), "river-county")
    changed = _paid(change.policy, RC_TYPES)
    assert base["E7"] == "0.00"  # 600 at the 600 threshold
    assert changed["E7"] == "180.00"  # (600 - 300) x 60%
    assert changed["E8"] == "180.01"
    assert {k: v for k, v in changed.items() if k not in ("E7", "E8")} == {
        k: v for k, v in base.items() if k not in ("E7", "E8")
    }
    # The other rows of the new table keep their sources; the changed one says what-if.
    threshold = change.policy.schemes["resident"].inpatient.threshold
    rows = threshold.rows_at(date(2026, 7, 1))
    assert len(rows) == 9
    changed_rows = [r for r in rows if "what-if" in r.source]
    assert [r.when.describe() for r in changed_rows if r.when] == ["level 3, type tcm, place local"]
    before = {r.source for r in threshold.rows_at(date(2026, 6, 30))}
    tcm3 = {s for s in before if "level 3 TCM hospital" in s}
    assert len(tcm3) == 1
    assert {r.source for r in rows if "what-if" not in r.source} == before - tcm3


def test_two_rows_changed_from_one_day_make_one_table(tmp_path: Path) -> None:
    text = TCM_ROW + (
        "  - {file: resident, key: inpatient.threshold, from: 2026-07-01,"
        " when: {level: 3, type: general}, value: '700.00'}\n"
    )
    change = load_change(_write(tmp_path, text), "river-county")
    paid = _paid(change.policy, RC_TYPES)
    assert paid["E7"] == "180.00"  # the first change is kept
    threshold = change.policy.schemes["resident"].inpatient.threshold
    rows = threshold.rows_at(date(2026, 7, 1))
    assert len(rows) == 9
    assert sum("what-if" in r.source for r in rows) == 2


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            "{file: resident, key: inpatient.threshold, from: 2026-07-01,"
            " when: {level: 3, type: herbal}, value: '300.00'}",
            "change.yaml: changes[0].when: river-county/resident.yaml inpatient.threshold "
            "(from 2018-01-01) has no row [level 3, type herbal]: its rows are "
            "[place local, level 0];",
        ),
        (
            "{file: resident, key: inpatient.threshold, from: 2026-07-01, value: '300.00'}",
            "change.yaml: changes[0]: river-county/resident.yaml inpatient.threshold is a "
            "decision table on 2026-07-01: name the rows to change with when",
        ),
        (
            "{file: resident, key: outpatient.fund_limit, from: 2026-07-01,"
            " when: {level: 3}, value: '400.00'}",
            "changes[0].when: river-county/resident.yaml outpatient.fund_limit is not a "
            "decision table on 2026-07-01",
        ),
        (
            "{file: resident, key: inpatient.threshold, from: 2026-07-01, when: tcm,"
            " value: '300.00'}",
            "changes[0].when: a mapping of conditions",
        ),
        (
            "{file: resident, key: inpatient.threshold, from: 2017-07-01,"
            " when: {level: 3, type: tcm}, value: '300.00'}",
            "river-county/resident.yaml inpatient.threshold no value is in force on 2017-07-01",
        ),
    ],
)
def test_a_row_that_is_not_there_is_one_clear_error(
    tmp_path: Path, change: str, expected: str
) -> None:
    path = _write(tmp_path, f"changes:\n  - {change}\n")
    with pytest.raises(WhatIfError) as caught:
        load_change(path, "river-county")
    assert expected in str(caught.value)
    done = CliRunner().invoke(
        app, ["whatif", "--base", "river-county", "--change", str(path), "--persons", "10"]
    )
    assert done.exit_code == 2
    assert expected in done.output
    assert "Traceback" not in done.output


def test_a_row_change_costs_what_the_table_written_by_hand_costs(tmp_path: Path) -> None:
    """The columnar engine over a generated river-county year: the level-0 threshold 100
    from July (a change of one row) settles to the same frames as the table split by hand
    in a copy of the region, and costs the fund more."""
    text = """\
changes:
  - {file: resident, key: inpatient.threshold, from: 2026-07-01,
     when: {place: local, level: 0}, value: "100.00"}
"""
    change = load_change(_write(tmp_path, text), "river-county")
    folder = tmp_path / "by-hand" / "river-county"
    shutil.copytree(region_folder("river-county"), folder)
    resident = folder / "resident.yaml"
    lines = resident.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, ln in enumerate(lines) if ln.startswith("  threshold:") and i > 10)
    rows = []
    i = start + 1
    while lines[i].startswith("    - {from: 2018-01-01"):
        rows.append(lines[i])
        i += 1
    assert len(rows) == 9
    later = [
        ln.replace("from: 2018-01-01", "from: 2026-07-01").replace(
            'value: "200.00"', 'value: "100.00"'
        )
        for ln in rows
    ]
    lines[start + 1 : i] = [
        ln.replace("from: 2018-01-01,", "from: 2018-01-01, until: 2026-06-30,") for ln in rows
    ] + later
    resident.write_text("".join(lines), encoding="utf-8")
    by_hand = load_region_dir(folder)
    year = generate(2_000, 2026, 5, "river-county")
    base_run = settle(load_region("river-county"), year)
    hand_run = settle(by_hand, year)
    changed_run = settle(change.policy, year)
    assert changed_run.encounters.equals(hand_run.encounters)
    assert changed_run.persons.equals(hand_run.persons)
    layers = {
        r["layer"]: r for r in compare(year, base_run, changed_run).layers.iter_rows(named=True)
    }
    assert layers["basic"]["difference"] > 0
