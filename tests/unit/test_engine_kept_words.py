"""The words the engine keeps between bills (a line's label, a threshold's words, a
scheme's): each kept by everything it is made of, so a bill never shows another item's,
another amount's or another policy's words."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from yibao.adapters.parameter_files import load_region
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.conditions import CodeSpan
from yibao.domain.engine import settle_encounter
from yibao.domain.engine.benefits import charge_threshold
from yibao.domain.engine.scope import place_of
from yibao.domain.model import Encounter, Hospital, Kind, Line, LineClass, Person, Scheme
from yibao.domain.parameters import (
    ByLevel,
    DiagnosisGroup,
    Param,
    Ref,
    Text,
    Threshold,
    ThresholdPer,
)

POLICY = load_region("sample-city")
DAY = date(2026, 3, 2)
ADULT = Person("P1", date(1980, 6, 1), Scheme.RESIDENT, "sample-city")
REF = Ref("x.yaml", "outpatient.threshold", date(2020, 1, 1), "[set] test")


def _item(code: str, name: str, cls: LineClass = LineClass.A) -> Line:
    entry = Ref("catalogue", code, date(2026, 1, 1), f"[catalogue] {name}")
    return Line.item(cls, Decimal("2"), Decimal("10.00"), code=code, name=name, entry=entry)


def _line_args(*lines: Line, policy: Any = POLICY) -> list[dict[str, str]]:
    enc = Encounter("E1", DAY, Kind.OUTPATIENT, Hospital("H3", 3), lines)
    result, _ = settle_encounter(policy, ADULT, enc, YearAccumulators(year=2026))
    return [s.args for s in result.steps if s.rule == "line_first_self_pay"]  # type: ignore[misc]


def test_a_line_label_is_the_item_own_at_its_place_on_the_bill() -> None:
    first = _line_args(_item("X1", "甲药"))
    # The same code at the same place under another name, another class, another place.
    renamed = _line_args(_item("X1", "乙药"))
    reclassed = _line_args(_item("X1", "甲药", LineClass.B))
    second = _line_args(_item("Y2", "丙药"), _item("X1", "甲药"))
    assert first[0]["item"] == " 甲药 (X1)"
    assert first[0]["no"] == "1"
    assert renamed[0]["item"] == " 乙药 (X1)"
    assert renamed[0]["item_zh"] == " 乙药（X1）"
    assert (reclassed[0]["cls"], reclassed[0]["cls_zh"]) == ("B", "乙类")
    assert [a["no"] for a in second] == ["1", "2"]
    assert second[1]["item"] == " 甲药 (X1)"


def test_a_line_whose_ratio_is_its_own_says_so_and_the_kept_label_is_not_changed() -> None:
    own = replace(_item("X1", "甲药"), ratio=Decimal("0.2"))
    (mine,) = _line_args(own)
    (default,) = _line_args(_item("X1", "甲药"))
    assert (mine["whose"], default["whose"]) == ("the item's own", "the region's default")
    assert mine["first"] == "4.00"
    assert default["first"] == "0.00"
    mine["first"] = "changed"  # a step's args are its own: the next bill's are not touched
    (again,) = _line_args(own)
    assert again["first"] == "4.00"


def _threshold(amount: str, per: ThresholdPer = ThresholdPer.YEAR) -> Param[Threshold]:
    return Param(Threshold(per, ByLevel(Decimal(amount), {})), REF)


def test_threshold_words_follow_the_amount_the_level_and_the_period() -> None:
    acc = YearAccumulators(year=2026)
    words = []
    for param, level in (
        (_threshold("200"), 1),
        (_threshold("300"), 1),
        (_threshold("300"), 2),
        (_threshold("300", ThresholdPer.STAY), 2),
        (_threshold("300.00"), 2),  # equal amounts show alike
    ):
        _, _, step = charge_threshold(param, level, "outpatient", None, Decimal("50"), acc)
        assert step is not None
        words.append((step.value, step.args["per"], step.args["charged_before"]))
    assert words == [
        ("200.00", "per year, level 1", "0.00"),
        ("300.00", "per year, level 1", "0.00"),
        ("300.00", "per year, level 2", "0.00"),
        ("300.00", "per stay, level 2", "0.00"),
        ("300.00", "per year, level 2", "0.00"),
    ]
    charged = acc.with_threshold("outpatient", Decimal("120.50"))
    _, _, step = charge_threshold(_threshold("300"), 2, "outpatient", None, Decimal("50"), charged)
    assert step is not None
    assert step.args["charged_before"] == "120.50"


def test_the_basic_step_names_the_scheme_of_each_policy() -> None:
    rules = POLICY.schemes[Scheme.RESIDENT]
    other = replace(POLICY, schemes={**POLICY.schemes, Scheme.RESIDENT: replace(
        rules, label=Text(zh="另一个名称", en="Another name")
    )})  # fmt: skip
    enc = Encounter("E1", DAY, Kind.OUTPATIENT, Hospital("H3", 3), (_item("X1", "甲药"),))
    shown = []
    for policy in (POLICY, other, POLICY):
        result, _ = settle_encounter(policy, ADULT, enc, YearAccumulators(year=2026))
        (basic,) = [s for s in result.steps if s.rule == "basic"]
        shown.append(basic.args["scheme_name"])
    assert shown == [rules.label.en, "Another name", rules.label.en]


def test_facts_are_made_for_a_region_with_decision_tables_only() -> None:
    assert load_region("river-county").decision_tables
    assert not POLICY.decision_tables
    # Without tables the bill's diagnosis group still counts for the yearly layer.
    grouped = replace(
        POLICY,
        diagnosis_groups={"tumour": DiagnosisGroup("tumour", Text("肿瘤", "Tumour"), (
            CodeSpan.parse("C00-C97"),
        ), "[test]")},
    )  # fmt: skip
    assert not grouped.decision_tables
    enc = Encounter(
        "E1", DAY, Kind.OUTPATIENT, Hospital("H3", 3), (_item("X1", "甲药"),), diagnosis="C50.9"
    )
    result, acc = settle_encounter(grouped, ADULT, enc, YearAccumulators(year=2026))
    assert acc.si_groups == {"tumour": result.personal_on_eligible}
    assert result.personal_on_eligible > 0
    _, plain = settle_encounter(POLICY, ADULT, enc, YearAccumulators(year=2026))
    assert dict(plain.si_groups) == {}


def test_a_place_elsewhere_is_its_reduction_its_class_and_its_region() -> None:
    policy = load_region("hill-county")
    person = Person("P2", date(1980, 6, 1), Scheme.RESIDENT, "hill-county")
    shown = []
    for how, region in (("unfiled", "sample-city"), ("referral", "sample-city"),
                        ("unfiled", "river-county"), ("unfiled", "sample-city")):  # fmt: skip
        enc = Encounter("E1", DAY, Kind.OUTPATIENT, Hospital("H9", 2, region=region), ())
        place, step = place_of(policy, person, enc, how, None)
        assert step is not None
        shown.append((place.how, place.points, step.args["region"], step.args["method"]))
    assert shown[0] == shown[3]
    assert len(set(shown[:3])) == 3
    assert [s[2] for s in shown] == ["sample-city", "sample-city", "river-county", "sample-city"]
    # Another reduction (another policy's Param): its own place and words.
    reduction = policy.reduction.at(DAY)
    other = Param(replace(reduction.value, unfiled=Decimal("0.25")), reduction.ref)
    changed = replace(policy, reduction=replace(policy.reduction, periods=(
        replace(policy.reduction.periods[-1], value=other.value, start=date(2020, 1, 1)),
    )))  # fmt: skip
    enc = Encounter("E1", DAY, Kind.OUTPATIENT, Hospital("H9", 2, region="sample-city"), ())
    place, step = place_of(changed, person, enc, "unfiled", None)
    assert step is not None
    assert place.points == Decimal("0.25")
    assert step.args["method"] == "every fund rate is lowered by 25 points"
