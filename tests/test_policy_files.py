"""The strict loader of dated YAML policy folders (adapters/parameter_files.py).

Each negative test copies tests/regions/test-town into tmp_path, breaks one thing in one
file and checks that loading fails with a PolicyError naming the file and the dotted key.
"""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from yibao.adapters.parameter_files import (
    BUILTIN_DIR,
    PolicyError,
    load_region,
    load_region_dir,
)
from yibao.adapters.strict_yaml import load_text
from yibao.domain.parameters import PolicyGapError, RegionPolicy, TopLineOn

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
TEST_TOWN = TESTS / "regions" / "test-town"


@pytest.fixture
def town(tmp_path: Path) -> Path:
    """A private copy of test-town that a test may break."""
    folder = tmp_path / "test-town"
    shutil.copytree(TEST_TOWN, folder)
    return folder


def edit(folder: Path, file: str, old: str, new: str) -> None:
    """Replace exactly one occurrence of `old` in `file` (the test fails if it is not there once)."""
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def load_error(folder: Path) -> str:
    with pytest.raises(PolicyError) as info:
        load_region_dir(folder)
    return str(info.value)


# --- the region loads, with its own shape ---------------------------------------------


def test_test_town_loads_with_its_own_shape() -> None:
    policy = load_region_dir(TEST_TOWN)
    assert policy.code == "test-town"
    assert policy.admdvs == "990300"
    assert sorted(policy.schemes) == ["employee", "resident"]
    assert policy.offered.at(date(2026, 1, 1)).value == frozenset({"resident", "employee"})
    assert policy.pilot is None  # no child_major_disease.yaml: the pilot does not exist there
    assert policy.serious_illness is not None
    resident = policy.schemes["resident"]
    assert resident.special_outpatient is None
    assert resident.inpatient.rate.at(date(2026, 1, 1)).value.scale is None
    employee = policy.schemes["employee"]
    assert employee.inpatient.rate.at(date(2026, 1, 1)).value.scale is not None
    assert employee.retiree_min_contribution_years is not None
    assert employee.retiree_min_contribution_years.at(date(2026, 1, 1)).value == 25


@pytest.mark.parametrize("code", ["sample-city", "hill-county"])
def test_shipped_regions_load(code: str) -> None:
    policy = load_region_dir(BUILTIN_DIR / code)
    assert isinstance(policy, RegionPolicy)
    assert policy.code == code
    assert policy.pilot is not None
    assert policy.serious_illness is not None
    assert "resident" in policy.schemes


# --- unknown keys -----------------------------------------------------------------------


def test_unknown_top_level_key(town: Path) -> None:
    edit(town, "resident.yaml", 'insutype: "390"\n', 'insutype: "390"\ncolour: red\n')
    msg = load_error(town)
    assert "test-town/resident.yaml: colour: unknown key" in msg


def test_unknown_nested_key(town: Path) -> None:
    edit(town, "resident.yaml", "  fund_limit:\n", "  colour: red\n  fund_limit:\n")
    msg = load_error(town)
    assert "test-town/resident.yaml: outpatient.colour: unknown key" in msg


def test_unknown_key_inside_a_dated_value(town: Path) -> None:
    edit(town, "resident.yaml", 'value: "800.00",', 'value: "800.00", colour: red,')
    msg = load_error(town)
    assert "test-town/resident.yaml: outpatient.fund_limit[0].colour: unknown key" in msg


def test_unknown_key_in_region_file(town: Path) -> None:
    edit(town, "region.yaml", "other_place:\n", "other_place:\n  colour: red\n")
    msg = load_error(town)
    assert "test-town/region.yaml: other_place.colour: unknown key" in msg


def test_missing_required_key(town: Path) -> None:
    edit(town, "serious_illness.yaml", "top_line:\n", "old_top_line:\n")
    msg = load_error(town)
    assert "test-town/serious_illness.yaml: top_line: required key is missing" in msg


# --- brackets ---------------------------------------------------------------------------


def test_missing_bracket_rate(town: Path) -> None:
    edit(town, "employee.yaml", '{from: "50000", rate: "0.88"}', '{from: "50000"}')
    msg = load_error(town)
    assert "test-town/employee.yaml: inpatient.rate[0].brackets[1].rate: required key" in msg


def test_brackets_must_start_at_zero(town: Path) -> None:
    edit(town, "employee.yaml", '{from: "0", rate: "0.80"}', '{from: "100", rate: "0.80"}')
    msg = load_error(town)
    assert "test-town/employee.yaml: inpatient.rate[0].brackets:" in msg
    assert "must start from 0" in msg


def test_serious_illness_brackets_must_start_at_zero(town: Path) -> None:
    edit(town, "serious_illness.yaml", '{from: "0", rate: "0"}', '{from: "1", rate: "0"}')
    msg = load_error(town)
    assert "test-town/serious_illness.yaml: scale[0].brackets:" in msg
    assert "must start from 0" in msg


@pytest.mark.parametrize("lower", ['"40000"', '"50000"'])
def test_brackets_must_increase(town: Path, lower: str) -> None:
    edit(town, "employee.yaml", '{from: "150000", rate: "0.92"}', f"{{from: {lower}, rate: 0.92}}")
    msg = load_error(town)
    assert "test-town/employee.yaml: inpatient.rate[0].brackets:" in msg
    assert "bracket 2 must start above bracket 1" in msg


# --- levels -----------------------------------------------------------------------------


def test_missing_institution_level(town: Path) -> None:
    edit(town, "resident.yaml", ', 3: "1000.00"}', "}")
    msg = load_error(town)
    assert "test-town/resident.yaml: inpatient.threshold[0].by_level:" in msg
    assert "missing level 3" in msg


def test_unknown_institution_level(town: Path) -> None:
    edit(town, "resident.yaml", '3: "0.60"}', '3: "0.60", 4: "0.50"}')
    msg = load_error(town)
    assert "test-town/resident.yaml: inpatient.rate[0].by_level:" in msg
    assert "unknown level 4" in msg


def test_value_and_by_level_both_given(town: Path) -> None:
    edit(
        town,
        "resident.yaml",
        'value: "0.60",',
        'value: "0.60", by_level: {0: "0.6", 1: "0.6", 2: "0.6", 3: "0.6"},',
    )
    msg = load_error(town)
    assert "test-town/resident.yaml: outpatient.rate[1]: give exactly one of value, by_level" in msg


def test_neither_value_nor_by_level(town: Path) -> None:
    edit(town, "resident.yaml", 'value: "0.60", ', "")
    msg = load_error(town)
    assert "test-town/resident.yaml: outpatient.rate[1]: give exactly one of value, by_level" in msg


# --- rates ------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", ['"1.60"', '"1.0001"', '"-0.10"'])
def test_rate_outside_zero_to_one(town: Path, rate: str) -> None:
    edit(town, "resident.yaml", 'value: "0.60"', f"value: {rate}")
    msg = load_error(town)
    assert "test-town/resident.yaml: outpatient.rate[1].value:" in msg
    assert "not between 0 and 1" in msg


def test_rate_above_one_in_a_level(town: Path) -> None:
    edit(town, "resident.yaml", '0: "0.85"', '0: "1.5"')
    msg = load_error(town)
    assert "test-town/resident.yaml: inpatient.rate[0].by_level[0]:" in msg
    assert "not between 0 and 1" in msg


def test_negative_reduction_share(town: Path) -> None:
    edit(town, "region.yaml", 'emergency: "0.10"', 'emergency: "-0.10"')
    msg = load_error(town)
    assert "test-town/region.yaml: other_place.reduction[0].emergency:" in msg


def test_rate_of_exactly_one_and_zero_is_allowed(town: Path) -> None:
    edit(town, "resident.yaml", 'value: "0.60"', 'value: "1"')
    edit(town, "resident.yaml", 'value: "0.50"', 'value: "0"')
    policy = load_region_dir(town)
    rate = policy.schemes["resident"].outpatient.rate
    assert rate.at(date(2026, 7, 1)).value.flat == Decimal(1)
    assert rate.at(date(2026, 6, 30)).value.flat == Decimal(0)


# --- dates ------------------------------------------------------------------------------


def test_overlap_same_from(town: Path) -> None:
    edit(town, "resident.yaml", "{from: 2026-07-01,", "{from: 2024-01-01,")
    msg = load_error(town)
    assert "test-town/resident.yaml: outpatient.rate:" in msg
    assert "values from 2024-01-01 and from 2024-01-01 overlap" in msg


def test_overlap_until_past_next_from(town: Path) -> None:
    edit(town, "resident.yaml", "until: 2026-06-30", "until: 2026-07-01")
    msg = load_error(town)
    assert "test-town/resident.yaml: outpatient.rate:" in msg
    assert "values from 2024-01-01 and from 2026-07-01 overlap" in msg


def test_overlap_found_whatever_the_order_in_the_file(town: Path) -> None:
    edit(
        town,
        "serious_illness.yaml",
        "top_line:\n",
        "top_line:\n"
        '  - {from: 2025-01-01, value: "1.00", source: "[set] later"}\n'
        '  - {from: 2025-01-01, value: "2.00", source: "[set] later again"}\n',
    )
    msg = load_error(town)
    assert "test-town/serious_illness.yaml: top_line:" in msg
    assert "overlap" in msg


def test_until_before_from(town: Path) -> None:
    edit(town, "resident.yaml", "until: 2026-06-30", "until: 2023-12-31")
    msg = load_error(town)
    assert "test-town/resident.yaml: outpatient.rate:" in msg
    assert "ends before it starts" in msg


def test_not_a_date(town: Path) -> None:
    edit(town, "resident.yaml", "until: 2026-06-30", 'until: "30 June 2026"')
    msg = load_error(town)
    assert "test-town/resident.yaml: outpatient.rate[0].until:" in msg
    assert "is not a date" in msg


# --- amounts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ('"abc"', "is not a decimal amount"),
        ('"1e5"', "is not a decimal amount"),
        ("1e5", "is not a decimal amount"),  # a string to YAML: no dot
        ("1.0e+5", "is not a decimal amount"),  # a float to YAML: refused, not 100000
        ('"12.345"', "more than 2 decimal places"),
        ("12.345", "more than 2 decimal places"),
        ('"-5.00"', "is negative"),
        ('""', "is not a decimal amount"),
        ("true", "not an exact decimal"),
    ],
)
def test_non_decimal_amount(town: Path, raw: str, problem: str) -> None:
    edit(town, "resident.yaml", 'value: "800.00"', f"value: {raw}")
    msg = load_error(town)
    assert "test-town/resident.yaml: outpatient.fund_limit[0].value:" in msg
    assert problem in msg


def test_non_decimal_bracket_lower_bound(town: Path) -> None:
    edit(
        town, "serious_illness.yaml", '{from: "20000", rate: "0.50"}', '{from: "20k", rate: "0.50"}'
    )
    msg = load_error(town)
    assert "test-town/serious_illness.yaml: scale[0].brackets[1].from:" in msg


def test_count_must_be_a_whole_number(town: Path) -> None:
    edit(town, "employee.yaml", "value: 25,", 'value: "25",')
    msg = load_error(town)
    assert "test-town/employee.yaml: refusals.retiree_min_contribution_years[0].value:" in msg


# --- source notes -----------------------------------------------------------------------


@pytest.mark.parametrize("note", ["outpatient fund payments", "[txt] typo", "set] no bracket"])
def test_source_note_needs_text_or_set(town: Path, note: str) -> None:
    edit(
        town,
        "resident.yaml",
        '"[set] outpatient fund payments at most 800 a year"',
        f'"{note}"',
    )
    msg = load_error(town)
    assert "test-town/resident.yaml: outpatient.fund_limit[0].source:" in msg
    assert "[text]" in msg
    assert "[set]" in msg


# --- YAML itself ------------------------------------------------------------------------


def test_duplicate_key_names_the_line(town: Path) -> None:
    path = town / "resident.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("insutype:"))
    lines.insert(at + 1, 'insutype: "391"\n')
    path.write_text("".join(lines), encoding="utf-8")
    msg = load_error(town)
    assert msg.startswith("test-town/resident.yaml:")
    assert f"line {at + 2}: key 'insutype' appears twice" in msg


def test_duplicate_nested_key(town: Path) -> None:
    edit(town, "region.yaml", "    A:\n", "    A: []\n    A:\n")
    msg = load_error(town)
    assert "test-town/region.yaml:" in msg
    assert "key 'A' appears twice" in msg


def test_malformed_yaml(town: Path) -> None:
    edit(town, "employee.yaml", "label: {zh:", "label: [zh:")
    msg = load_error(town)
    assert msg.startswith("test-town/employee.yaml: line ")
    assert "not valid YAML" in msg


def test_file_that_is_not_a_mapping(town: Path) -> None:
    (town / "serious_illness.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    msg = load_error(town)
    assert "test-town/serious_illness.yaml: the file must hold a mapping" in msg


# --- the folder -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["notes.txt", "dental.yaml", "Resident.yaml", "student.json"])
def test_unknown_file_in_folder(town: Path, name: str) -> None:
    (town / name).write_text("x: 1\n", encoding="utf-8")
    msg = load_error(town)
    assert f"test-town/{name}: not a policy file" in msg


def test_region_name_must_match_folder(town: Path) -> None:
    edit(town, "region.yaml", "region: test-town\n", "region: other-town\n")
    msg = load_error(town)
    assert "test-town/region.yaml: region:" in msg
    assert "'other-town'" in msg
    assert "'test-town'" in msg


def test_offered_scheme_needs_its_file(town: Path) -> None:
    (town / "employee.yaml").unlink()
    msg = load_error(town)
    assert "test-town/region.yaml: schemes[0].value:" in msg
    assert "'employee' is offered but there is no employee.yaml" in msg


def test_scheme_file_must_name_its_own_scheme(town: Path) -> None:
    edit(town, "resident.yaml", "scheme: resident\n", "scheme: employee\n")
    msg = load_error(town)
    assert "test-town/resident.yaml: scheme: says 'employee' but the file is resident.yaml" in msg


def test_unknown_scheme_value(town: Path) -> None:
    edit(town, "resident.yaml", "scheme: resident\n", "scheme: farmer\n")
    msg = load_error(town)
    assert "test-town/resident.yaml: scheme:" in msg


def test_no_region_file(town: Path) -> None:
    (town / "region.yaml").unlink()
    msg = load_error(town)
    assert msg.startswith("test-town: no region.yaml")


def test_every_problem_of_a_file_is_listed(town: Path) -> None:
    edit(town, "resident.yaml", 'value: "800.00"', 'value: "abc"')
    edit(town, "resident.yaml", 'insutype: "390"\n', 'insutype: "390"\ncolour: red\n')
    lines = load_error(town).splitlines()
    assert any("outpatient.fund_limit[0].value:" in line for line in lines)
    assert any("colour: unknown key" in line for line in lines)
    assert all(line.startswith("test-town/resident.yaml: ") for line in lines)


# --- exact YAML -------------------------------------------------------------------------


def test_on_is_a_key_not_a_boolean() -> None:
    assert load_text("on: pooled_cost\noff: 1\nyes: no\n", "t.yaml") == {
        "on": "pooled_cost",
        "off": 1,
        "yes": "no",
    }
    assert load_text("a: true\nb: false\n", "t.yaml") == {"a": True, "b": False}


def test_top_line_on_is_read_from_the_files() -> None:
    policy = load_region_dir(TEST_TOWN)
    day = date(2026, 3, 1)
    resident_top = policy.schemes["resident"].inpatient.top_line
    employee_top = policy.schemes["employee"].inpatient.top_line
    assert resident_top is not None
    assert employee_top is not None
    assert resident_top.at(day).value.on is TopLineOn.FUND_PAYMENT
    assert resident_top.at(day).value.amount == Decimal("100000.00")
    assert employee_top.at(day).value.on is TopLineOn.POOLED_COST


def test_unquoted_decimal_is_exact(town: Path) -> None:
    value = load_text("x: 0.1\ny: 1_000.10\n", "t.yaml")
    assert value == {"x": Decimal("0.1"), "y": Decimal("1000.10")}
    assert isinstance(value["x"], Decimal)
    edit(town, "resident.yaml", 'value: "0.60"', "value: 0.1")
    edit(town, "resident.yaml", 'value: "800.00"', "value: 800.10")
    policy = load_region_dir(town)
    out = policy.schemes["resident"].outpatient
    rate = out.rate.at(date(2026, 7, 1)).value.flat
    assert rate == Decimal("0.1")
    assert str(rate) == "0.1"  # not 0.1000000000000000055511151231257827...
    assert str(out.fund_limit.at(date(2026, 7, 1)).value) == "800.10"


# --- Dated.at ---------------------------------------------------------------------------


def test_dated_value_in_force_on_each_side_of_the_switch() -> None:
    rate = load_region_dir(TEST_TOWN).schemes["resident"].outpatient.rate
    june = rate.at(date(2026, 6, 30))
    july = rate.at(date(2026, 7, 1))
    assert june.value.flat == Decimal("0.50")
    assert june.ref.since == date(2024, 1, 1)
    assert july.value.flat == Decimal("0.60")
    assert july.ref.since == date(2026, 7, 1)
    assert july.ref.source.startswith("[set]")
    assert str(july.ref) == "test-town/resident.yaml: outpatient.rate"
    assert rate.at(date(2024, 1, 1)).value.flat == Decimal("0.50")
    assert rate.at(date(2030, 1, 1)).value.flat == Decimal("0.60")


def test_dated_value_before_the_first_from_is_a_gap() -> None:
    rate = load_region_dir(TEST_TOWN).schemes["resident"].outpatient.rate
    with pytest.raises(PolicyGapError, match=r"outpatient\.rate: no value in force on 2023-12-31"):
        rate.at(date(2023, 12, 31))


def test_dated_value_after_a_closed_until_is_a_gap(town: Path) -> None:
    edit(
        town,
        "resident.yaml",
        '{from: 2026-07-01, value: "0.60",',
        '{from: 2026-07-01, until: 2026-12-31, value: "0.60",',
    )
    rate = load_region_dir(town).schemes["resident"].outpatient.rate
    assert rate.at(date(2026, 12, 31)).value.flat == Decimal("0.60")
    with pytest.raises(PolicyGapError):
        rate.at(date(2027, 1, 1))


# --- finding a region -------------------------------------------------------------------


def test_load_region_from_a_given_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    policy = load_region("test-town", [Path("tests/regions")])
    assert policy.code == "test-town"
    assert policy.name.en == "Test Town"


def test_load_region_unknown_lists_known_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_POLICY_PATH", raising=False)
    with pytest.raises(PolicyError) as info:
        load_region("nowhere")
    msg = str(info.value)
    assert "unknown region 'nowhere'" in msg
    assert "hill-county" in msg
    assert "sample-city" in msg


def test_load_region_unknown_lists_regions_of_given_folders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(PolicyError, match="test-town"):
        load_region("nowhere", [Path("tests/regions"), BUILTIN_DIR])


def test_load_region_finds_the_built_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_POLICY_PATH", raising=False)
    assert load_region("hill-county").code == "hill-county"
