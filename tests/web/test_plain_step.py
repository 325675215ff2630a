"""A step as a family reads it: without the policy file's citation, and naming the
region and the hospital by their names, never their codes."""

from __future__ import annotations

from decimal import Decimal

from yibao.domain.explain import Step
from yibao.entrypoints.web.words import plain_step

REGIONS = {"hill-county": "Hill County"}


def test_the_region_of_treatment_elsewhere_by_its_name() -> None:
    step = Step(
        "elsewhere",
        Decimal(0),
        value="50%",
        args={
            "region": "hill-county",
            "how": "unfiled",
            "how_zh": "未备案、未转诊",
            "method": "the fund's payment is reduced by 50%",
            "method_zh": "基金支付降低50%",
        },
    ).to_dict()
    assert plain_step(step, "en", REGIONS) == (
        "Treated in Hill County (unfiled): the fund's payment is reduced by 50%"
    )
    assert plain_step(step, "zh", {"hill-county": "山县"}).startswith("在山县就医")
    assert "hill-county" in plain_step(step, "en")  # the names are what turns codes away


def test_the_hospital_by_its_name_and_a_claims_hospital_in_words() -> None:
    outside = Step(
        "not_designated", Decimal(80), base=Decimal(80), args={"hospital": "X9"}
    ).to_dict()
    assert plain_step(outside, "en", {}, {"X9": "Private Clinic"}).startswith(
        "Private Clinic is not a designated institution"
    )
    claimed = Step("emergency_anywhere", Decimal(0), args={"hospital": "claim-7"}).to_dict()
    assert plain_step(claimed, "en", {}, {}, "the hospital") == (
        "Emergency at the hospital: settled at the insured place's rates even though it is "
        "not designated"
    )
    first = Step(
        "not_designated", Decimal(80), base=Decimal(80), args={"hospital": "claim-7"}
    ).to_dict()
    assert plain_step(first, "en", {}, {}, "the hospital").startswith(
        "The hospital is not a designated institution"
    )
    assert plain_step(first, "zh", {}, {}, "该医院").startswith("该医院不是定点医疗机构")
