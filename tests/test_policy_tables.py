"""Decision tables in policy files (docs/policies.md): rows chosen by facts about the bill,
checked strictly when the region is loaded."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from yibao.adapters.parameter_files import BUILTIN_DIR, PolicyError, load_region_dir
from yibao.domain.conditions import CodeSpan, Facts
from yibao.domain.parameters import PolicyGapError

DAY = date(2026, 6, 1)


@pytest.fixture
def river(tmp_path: Path) -> Path:
    """A private copy of river-county that a test may break."""
    folder = tmp_path / "river-county"
    shutil.copytree(BUILTIN_DIR / "river-county", folder)
    return folder


def edit(folder: Path, file: str, old: str, new: str) -> None:
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def load_error(folder: Path) -> str:
    with pytest.raises(PolicyError) as info:
        load_region_dir(folder)
    return str(info.value)


def facts(**kw: str) -> Facts:
    base = {"place": "local", "level": "2", "type": "general", "province": "same"}
    base.update(kw)
    return Facts(**base)  # type: ignore[arg-type]


def test_a_row_is_chosen_by_the_facts_and_cited(river: Path) -> None:
    policy = load_region_dir(river)
    threshold = policy.schemes["resident"].inpatient.threshold
    general = threshold.at(DAY, facts())
    tcm = threshold.at(DAY, facts(type="tcm"))
    elsewhere = threshold.at(DAY, facts(place="referred", province="other"))
    assert general.value.amount.for_level(2) == 500
    assert tcm.value.amount.for_level(2) == 400
    assert elsewhere.value.amount.for_level(2) == 1500
    assert (
        str(tcm.ref)
        == "river-county/resident.yaml: inpatient.threshold (level 2, type tcm, place local)"
    )


def test_a_table_without_facts_is_a_clear_error(river: Path) -> None:
    threshold = load_region_dir(river).schemes["resident"].inpatient.threshold
    with pytest.raises(PolicyGapError, match="depends on level, place, province, type"):
        threshold.at(DAY)


def test_overlapping_rows_name_file_key_and_rows(river: Path) -> None:
    edit(
        river,
        "resident.yaml",
        "when: {place: local, level: 2, type: tcm}",
        "when: {place: local, level: 2}",
    )
    msg = load_error(river)
    assert "river-county/resident.yaml: inpatient.threshold (from 2018-01-01): rows" in msg
    assert "[level 2, type general, place local] and [level 2, place local] overlap" in msg


def test_a_gap_names_the_facts_no_row_covers(river: Path) -> None:
    edit(
        river,
        "resident.yaml",
        "when: {place: unfiled}, per: stay",
        "when: {place: unfiled, province: same}, per: stay",
    )
    msg = load_error(river)
    assert "inpatient.threshold (from 2018-01-01): no row applies to" in msg
    assert "province other, place unfiled (a gap)" in msg


def test_an_unknown_condition_is_an_error(river: Path) -> None:
    edit(
        river,
        "resident.yaml",
        "when: {place: unfiled}, per: stay",
        "when: {where: unfiled}, per: stay",
    )
    msg = load_error(river)
    assert "river-county/resident.yaml: inpatient.threshold[8].when.where: unknown key" in msg


def test_an_unknown_value_is_an_error(river: Path) -> None:
    edit(
        river,
        "resident.yaml",
        "when: {place: unfiled}, per: stay",
        "when: {place: abroad}, per: stay",
    )
    msg = load_error(river)
    assert "inpatient.threshold[8].when.place: 'abroad' is not a place" in msg


def test_rows_of_a_table_need_a_when(river: Path) -> None:
    edit(
        river,
        "resident.yaml",
        "- {from: 2018-01-01, when: {place: unfiled}, per: stay",
        "- {from: 2018-01-01, per: stay",
    )
    assert "rows of a table each need their `when`" in load_error(river)


def test_an_unknown_diagnosis_group_is_an_error(river: Path) -> None:
    edit(
        river,
        "resident.yaml",
        "when: {cause: accident}",
        "when: {cause: accident, diagnosis: burns}",
    )
    assert "diagnosis group burns is not one of the region's (other)" in load_error(river)


def test_diagnosis_groups_may_not_share_codes(river: Path) -> None:
    edit(
        river,
        "region.yaml",
        "other_place:",
        "diagnosis_groups:\n"
        "  cancer: {name: {zh: 癌, en: cancer}, codes: [C00-C97], source: '[set] x'}\n"
        "  leukaemia: {name: {zh: 白血病, en: leukaemia}, codes: [C91], source: '[set] x'}\n"
        "other_place:",
    )
    assert "groups cancer (C00-C97) and leukaemia (C91) share codes" in load_error(river)


def test_a_partial_table_may_leave_bills_out(river: Path) -> None:
    rules = load_region_dir(river).schemes["resident"]
    assert rules.fixed_sum is not None
    assert rules.fixed_sum.find(DAY, facts(delivery="none")) is None
    found = rules.fixed_sum.find(DAY, facts(delivery="caesarean"))
    assert found is not None
    assert found.value == 1500


def test_icd_spans() -> None:
    span = CodeSpan.parse("C00-C97")
    assert span.covers("C91.0")
    assert span.covers("C97")
    assert span.covers("c00.1")
    assert not span.covers("D00")
    assert not span.covers("B99")
    assert CodeSpan.parse("I21").covers("I21.4")
    assert not CodeSpan.parse("I21").covers("I22")
