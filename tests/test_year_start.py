"""A region's insurance year starting on another day than 1 January (region.yaml
`year_start`; docs/policies.md): which days make up year Y, a bill on either side of the
year's first and last day, the serious-illness layer on the year's last day, both engines
alike, the loader's checks, and the settlement service refusing such a region (it keeps
calendar person-years). Ningbo's official example (examples/regions/ningbo-2014) is the
region under test: its year runs from 1 September to 31 August."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yibao.adapters.parameter_files import PolicyError, load_region, load_region_dir, search_path
from yibao.batch.columnar import settle as settle_columnar
from yibao.batch.frames import from_domain
from yibao.bootstrap import PolicyLoader, policy_source
from yibao.domain.engine import InputError, settle_year
from yibao.domain.model import Encounter, Hospital, Kind, Line, LineClass, Person, Scheme
from yibao.domain.money import from_fen
from yibao.domain.parameters import RegionPolicy, YearStart
from yibao.entrypoints.cli import app
from yibao.service.errors import ServiceError
from yibao.service.services import calendar_years_only

ROOT = Path(__file__).resolve().parents[1]
REGIONS = ROOT / "examples" / "regions"
NINGBO = "ningbo-2014"


def ningbo() -> RegionPolicy:
    return load_region(NINGBO, [REGIONS])


def person() -> Person:
    return Person(id="P1", birth_date=date(1950, 3, 15), scheme=Scheme.RESIDENT, region=NINGBO)


def stay(eid: str, day: date, amount: str, level: int = 3) -> Encounter:
    return Encounter(
        id=eid,
        date=day,
        kind=Kind.INPATIENT,
        hospital=Hospital(id=f"NB-H{level}", level=level, region=NINGBO),
        lines=(Line(LineClass.A, Decimal(amount)),),
    )


def test_year_y_runs_from_1_september_y_to_31_august_y_plus_1() -> None:
    policy = ningbo()
    assert policy.year_start == YearStart(9, 1, policy.year_start.source)
    assert policy.year_span(2014) == (date(2014, 9, 1), date(2015, 8, 31))
    assert policy.year_span(2015) == (date(2015, 9, 1), date(2016, 8, 31))
    # Every other region keeps the calendar year.
    sample = load_region("sample-city", search_path())
    assert sample.year_start.calendar
    assert sample.year_span(2026) == (date(2026, 1, 1), date(2026, 12, 31))


@pytest.mark.parametrize(
    ("day", "inside"),
    [
        (date(2014, 8, 31), False),  # the last day of the 2013 year
        (date(2014, 9, 1), True),  # the first day of the 2014 year
        (date(2014, 12, 31), True),
        (date(2015, 1, 1), True),  # the calendar year turns, the insurance year does not
        (date(2015, 8, 31), True),  # the last day of the 2014 year
        (date(2015, 9, 1), False),  # the 2015 year
    ],
)
def test_a_stay_belongs_to_the_year_its_discharge_falls_in(day: date, inside: bool) -> None:
    policy = ningbo()
    bills = [stay("E1", day, "40000.00")]
    if inside:
        result, acc = settle_year(policy, person(), 2014, bills)
        assert acc.year == 2014
        assert result.encounters[0].basic == Decimal("21450.00")
    else:
        with pytest.raises(InputError, match=r"outside the year 2014 \(2014-09-01 to 2015-08-31\)"):
            settle_year(policy, person(), 2014, bills)


def test_the_official_example_counts_one_year_where_calendar_years_would_count_two() -> None:
    """The stay discharged on 2 September 2014 and one in March 2015 add up for the
    20,000 deductible in Ningbo's year; the same bills in two calendar years never do."""
    policy = ningbo()
    e1, e2 = stay("E1", date(2014, 9, 2), "40000.00"), stay("E2", date(2015, 3, 10), "10000.00", 2)
    one_year, _ = settle_year(policy, person(), 2014, [e1, e2])
    assert one_year.serious_illness.base == Decimal("22440.00")
    assert one_year.serious_illness.payment == Decimal("1220.00")
    calendar = replace(policy, year_start=YearStart())
    for year, bills in ((2014, [e1]), (2015, [e2])):
        alone, _ = settle_year(calendar, person(), year, bills)
        assert alone.serious_illness.payment == Decimal("0.00")


def _with_scale_change(tmp_path: Path) -> RegionPolicy:
    """ningbo-2014 with the layer's first bracket paying 70% from 1 June 2015 (ours)."""
    folder = tmp_path / NINGBO
    shutil.copytree(REGIONS / NINGBO, folder)
    path = folder / "serious_illness.yaml"
    text = path.read_text(encoding="utf-8")
    scale = text[text.index("scale:") : text.index("top_line:")]
    later = (
        scale.replace("scale:\n  - from: 2014-09-01", "  - from: 2015-06-01")
        .replace('rate: "0.50"', 'rate: "0.70"')
        .replace("[text] N", "[set] a test's change")
    )
    text = text.replace(
        scale,
        scale.replace("  - from: 2014-09-01", "  - from: 2014-09-01\n    until: 2015-05-31", 1)
        + later,
    )
    path.write_text(text, encoding="utf-8")
    return load_region_dir(folder)


def test_the_serious_illness_layer_uses_the_values_of_the_years_last_day(tmp_path: Path) -> None:
    policy = _with_scale_change(tmp_path)
    # On 31 August 2015 the first bracket pays 70% (on 31 December 2014 it paid 50%).
    result, _ = settle_year(policy, person(), 2014, [stay("E1", date(2014, 10, 1), "50000.00")])
    # 50,000 - 1,000 = 49,000 × 55% = 26,950 basic; personal 23,050; (23,050 - 20,000) × 70%.
    assert result.serious_illness.payment == Decimal("2135.00")


@pytest.mark.parametrize("with_change", [False, True])
def test_the_columnar_engine_settles_the_same_year(tmp_path: Path, with_change: bool) -> None:
    policy = _with_scale_change(tmp_path) if with_change else ningbo()
    bills = [
        stay("E1", date(2014, 9, 2), "40000.00"),
        stay("E2", date(2015, 3, 10), "10000.00", 2),
        stay("E3", date(2015, 8, 31), "9000.00", 1),
        stay("E4", date(2014, 9, 1), "2500.00", 2),
    ]
    people = [(person(), bills), (replace(person(), id="P2"), bills[:1])]
    data, keys = from_domain(NINGBO, 2014, people)
    result = settle_columnar(policy, data)
    by_key = {r["encounter"]: r for r in result.encounters.iter_rows(named=True)}
    persons = {r["person"]: r for r in result.persons.iter_rows(named=True)}
    for p_key, (who, own) in enumerate(people):
        scalar, _ = settle_year(policy, who, 2014, own)
        for r in scalar.encounters:
            e_key = next(k for k, ids in keys.encounters.items() if ids == (who.id, r.encounter_id))
            assert from_fen(by_key[e_key]["basic"]) == r.basic
            assert from_fen(by_key[e_key]["personal"]) == r.personal
        assert from_fen(persons[p_key]["serious_illness"]) == scalar.serious_illness.payment
        assert from_fen(persons[p_key]["personal"]) == scalar.personal


def test_the_columnar_engine_refuses_a_bill_outside_the_year() -> None:
    data, _ = from_domain(NINGBO, 2014, [(person(), [stay("E1", date(2014, 8, 31), "100.00")])])
    with pytest.raises(InputError, match=r"outside the year 2014 \(2014-09-01 to 2015-08-31\)"):
        settle_columnar(ningbo(), data)


@pytest.mark.parametrize(
    ("value", "problem"),
    [("02-29", "not a day that every year has"), ("13-01", "not a day"), ("9-1", "pattern")],
)
def test_the_loader_refuses_a_year_start_that_is_not_a_day_of_every_year(
    tmp_path: Path, value: str, problem: str
) -> None:
    folder = tmp_path / NINGBO
    shutil.copytree(REGIONS / NINGBO, folder)
    path = folder / "region.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('value: "09-01"', f'value: "{value}"'),
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match="year_start") as err:
        load_region_dir(folder)
    assert problem in str(err.value)


def test_the_settlement_service_refuses_a_region_whose_year_is_not_the_calendar_year() -> None:
    policies = calendar_years_only(lambda code: load_region(code, [REGIONS, *search_path()]))
    assert policies("sample-city").code == "sample-city"
    with pytest.raises(ServiceError) as err:
        policies(NINGBO)
    assert err.value.code == "year_not_calendar"
    assert "09-01" in err.value.message


def test_the_service_entry_points_policy_source_refuses_it_too() -> None:
    """The API, the CLI's service commands, the demo, the yearly run and verify all read
    policies through bootstrap.policy_source; the scenario commands do not."""
    policies = policy_source([REGIONS])
    assert policies("sample-city").code == "sample-city"
    with pytest.raises(ServiceError, match="counts its insurance year from 09-01"):
        policies(NINGBO)
    assert PolicyLoader([REGIONS])(NINGBO).year_start.describe() == "09-01"


def test_policy_show_names_the_year_start_only_where_it_is_not_1_january() -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["policy", "show", NINGBO, "--policies", str(REGIONS)])
    assert shown.exit_code == 0, shown.output
    assert "year_start" in shown.output
    assert "09-01" in shown.output
    calendar = runner.invoke(app, ["policy", "show", "sample-city"])
    assert calendar.exit_code == 0, calendar.output
    assert "year_start" not in calendar.output
