"""The batch load carries the facts river-county's decision tables read (issue 14): the
persons' dated categories, the institutions' type and province, and a stay's referral
link, on SQLite and PostgreSQL. Each must reach the database, or `verify` (which settles
the year again from what is stored) finds the loaded year settling otherwise."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from yibao.adapters.db import tables as t
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import search_path
from yibao.batch import loader as loader_module
from yibao.batch.columnar import settle
from yibao.batch.frames import CATEGORY, RegionYear, to_scalar
from yibao.batch.generate import generate
from yibao.batch.load import LoadError, card_number, load_region_year, person_id
from yibao.batch.load_facts import check_facts
from yibao.batch.load_places import institution_rows
from yibao.batch.load_scalar import as_at_the_counter
from yibao.bootstrap import PolicyLoader
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.engine import settle_encounter, settle_year
from yibao.domain.engine.settle import order_of_settlement
from yibao.domain.model import Encounter, Hospital, Kind, Line, LineClass, Person
from yibao.domain.money import from_fen
from yibao.domain.parameters import RegionPolicy
from yibao.entrypoints.cli import app
from yibao.service.demo import catalogue
from yibao.service.encounter_details import EncounterDetails
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine
from yibao.service.verify import verify
from yibao.service.yearly import settle_serious_illness

TESTS = Path(__file__).resolve().parent.parent
REGION, YEAR = "river-county", 2026


def _spans(key: int) -> list[dict[str, Any]]:
    """A third of the persons low-income from 1 March on; a sixth special-hardship to
    31 August, then poverty-registered: categories with their dates."""
    if key % 3 == 0:
        return [{"category": "low_income", "valid_from": date(YEAR, 3, 1), "valid_to": None}]
    if key % 6 == 1:
        return [
            {"category": "special_hardship", "valid_from": None, "valid_to": date(YEAR, 8, 31)},
            {"category": "poverty_registered", "valid_from": date(YEAR, 9, 1), "valid_to": None},
        ]
    return []


def with_facts(data: RegionYear) -> RegionYear:
    """A generated river-county year with issue 14's facts: categories; the hospitals
    whose id ends in an even digit TCM hospitals; a stay elsewhere of an even person in
    another province; each inpatient stay after a person's first referred from the one
    before it (in the order of settlement)."""
    keys = data.persons.get_column("person").to_list()
    spans = pl.Series("categories", [_spans(k) for k in keys], dtype=pl.List(CATEGORY))
    persons = data.persons.with_columns(spans)
    stays = (
        data.encounters.filter(pl.col("kind") == Kind.INPATIENT.value)
        .sort("person", "date", "seq")
        .select("encounter", pl.col("encounter").shift(1).over("person").alias("referred_from"))
    )
    elsewhere = pl.col("hospital_region") != REGION
    encounters = data.encounters.join(
        stays, on="encounter", how="left", maintain_order="left"
    ).with_columns(
        pl.when(pl.col("hospital").str.slice(-1).cast(pl.Int32) % 2 == 0)
        .then(pl.lit("tcm"))
        .otherwise(pl.lit("general"))
        .alias("hospital_type"),
        pl.when(elsewhere & (pl.col("person") % 2 == 0))
        .then(pl.lit("other"))
        .otherwise(pl.lit("same"))
        .alias("province"),
        pl.lit(None, dtype=pl.String).alias("cause"),
        pl.lit(None, dtype=pl.String).alias("delivery"),
    )
    return RegionYear(data.region, data.year, persons, encounters)


@pytest.fixture(scope="module")
def facts_year() -> RegionYear:
    return with_facts(generate(600, YEAR, 5, REGION, [TESTS / "regions", *search_path()]))


def _without(data: RegionYear, fact: str) -> RegionYear:
    if fact == "category":
        return RegionYear(data.region, data.year, data.persons.drop("categories"), data.encounters)
    column = {"referral link": "referred_from", "institution type": "hospital_type"}[fact]
    return RegionYear(data.region, data.year, data.persons, data.encounters.drop(column))


def test_each_fact_changes_the_year(policies: PolicyLoader, facts_year: RegionYear) -> None:
    """Without any one of the facts the year settles otherwise, so a load that dropped it
    could not verify (the test below)."""
    policy = policies(REGION)
    split = ["encounter", "threshold", "basic", "personal"]
    whole = settle(policy, facts_year).encounters.select(split).sort("encounter")
    for fact in ("category", "referral link", "institution type"):
        less = settle(policy, _without(facts_year, fact)).encounters.select(split)
        assert not whole.equals(less.sort("encounter")), fact


def test_the_facts_load_and_the_year_verifies(
    engine: Engine, policies: PolicyLoader, facts_year: RegionYear
) -> None:
    result = settle(policies(REGION), facts_year)
    summary = load_region_year(engine, policies(REGION), facts_year, chunk=250)
    expected_spans = [
        (person_id(REGION, YEAR, key), s["category"], s["valid_from"], s["valid_to"])
        for key in sorted(facts_year.persons["person"])
        for s in _spans(key)
    ]
    assert summary.categories == len(expected_spans) > 0
    with engine.connect() as conn:
        c = t.person_categories.c
        stored_spans = [
            (r.person_id, r.category, r.valid_from, r.valid_to)
            for r in conn.execute(select(t.person_categories).order_by(c.id))
        ]
        assert stored_spans == expected_spans
        types = {r.id: r.type for r in conn.execute(select(t.institutions))}
        rows = list(conn.execute(select(t.settlements)))
    # The registry's type is the bills' (the counter reads it there).
    for hospital in set(facts_year.encounters["hospital"]):
        assert types[hospital] == ("tcm" if int(hospital[-1]) % 2 == 0 else "general")
    assert {r.hospital_type for r in rows} == {"tcm", None}
    assert {r.hospital_province for r in rows} == {"other", None}

    # Each referral link is the settlement of the stay before, as the counter stores it.
    place = {int(r.id): (r.person_id, r.seq) for r in rows}
    stored_links = {
        (r.person_id, r.seq): place[int(r.referred_from)][1]
        for r in rows
        if r.referred_from is not None
    }
    settled = facts_year.encounters.sort("person", "date", "seq").with_columns(
        (pl.int_range(pl.len()).over("person") + 1).alias("n")
    )
    seq_of = dict(zip(settled["encounter"], settled["n"], strict=True))
    links = settled.filter(pl.col("referred_from").is_not_null())
    assert stored_links == {
        (person_id(REGION, YEAR, p), n): seq_of[origin]
        for p, n, origin in links.select("person", "n", "referred_from").iter_rows()
    }
    assert len(stored_links) >= 5

    report = verify(lambda: UnitOfWork(engine), policies, year=YEAR, region=REGION)
    assert report.problems == []
    assert report.settlements == facts_year.encounters.height
    yearly = settle_serious_illness(lambda: UnitOfWork(engine), policies, REGION, YEAR)
    assert yearly.total == from_fen(int(result.persons["serious_illness"].sum()))


@pytest.mark.parametrize("fact", ["category", "referral link", "institution type"])
def test_a_fact_the_load_dropped_would_not_verify(
    engine: Engine,
    policies: PolicyLoader,
    facts_year: RegionYear,
    monkeypatch: pytest.MonkeyPatch,
    fact: str,
) -> None:
    """The check above can fail: a load that wrote no categories, no referral links or
    no hospital types leaves a year that `verify` settles otherwise."""
    if fact == "category":
        monkeypatch.setattr(loader_module, "category_rows", lambda *a: pl.DataFrame())
    elif fact == "referral link":
        real_origins = loader_module.with_origins

        def no_links(rows: pl.DataFrame) -> pl.DataFrame:
            return real_origins(rows).with_columns(pl.lit(None, dtype=pl.Int64).alias("origin"))

        monkeypatch.setattr(loader_module, "with_origins", no_links)
    else:
        real_facts = loader_module.facts_columns

        def no_types(rows: pl.DataFrame) -> dict[str, pl.Expr]:
            return real_facts(rows) | {"hospital_type": pl.lit(None, dtype=pl.String)}

        monkeypatch.setattr(loader_module, "facts_columns", no_types)
    load_region_year(engine, policies(REGION), facts_year)
    report = verify(lambda: UnitOfWork(engine), policies, year=YEAR, region=REGION)
    assert any("settles as" in p or "accumulators" in p for p in report.problems), fact


def _continuing(
    policy: RegionPolicy, data: RegionYear
) -> tuple[Person, list[Encounter], YearAccumulators, str]:
    """A low-income person whose last local stay is a stay of a chain that has charged
    less than a level-3 TCM hospital's threshold (600): the person, bills, the year's
    accumulators (stays under the counter's keys) and that stay's key."""
    for person, bills in to_scalar(data):
        if int(person.id) % 3:
            continue
        keyed, _ = as_at_the_counter(bills, YEAR)
        _, acc = settle_year(policy, person, YEAR, keyed)
        local = [
            e.id
            for e in order_of_settlement(keyed)
            if e.kind is Kind.INPATIENT and e.hospital.region == REGION and e.id in acc.stays
        ]
        if local and acc.stays[local[-1]][1] < 600:
            return person, bills, acc, local[-1]
    raise AssertionError("no such person in the generated year")


def test_a_card_settlement_continues_a_loaded_river_county_year(
    engine: Engine, policies: PolicyLoader, services: Services, facts_year: RegionYear
) -> None:
    """A low-income person's new stay at a level-3 TCM hospital, referred from their last
    loaded stay: the counter reads the category and the hospital's type from the registry
    and continues the chain from the loaded year's stays, as the scalar engine does."""
    policy = policies(REGION)
    load_region_year(engine, policy, facts_year)
    person, bills, acc, origin_key = _continuing(policy, facts_year)
    key = int(person.id)
    with UnitOfWork(engine) as uow:
        pid = person_id(REGION, YEAR, key)
        assert uow.ledger.read_person_year(pid, YEAR) == acc
        assert [s.category for s in uow.registry.categories(pid)] == ["low_income"]
        seq = int(origin_key.split("/")[1])
        origin = next(r for r in uow.history.settlements(pid, YEAR) if r.seq == seq)
        inst = next(
            i
            for i in (uow.registry.institution(f"H3-00{n}") for n in range(1, 10))
            if i is not None and i.type == "tcm" and i.designated and i.region == REGION
        )
    item = next(i for i in catalogue() if i.cls is LineClass.A and i.unit_price is None)
    bill = Bill(
        institution_id=inst.id,
        card_number=card_number(REGION, YEAR, key),
        kind=Kind.INPATIENT,
        date=date(YEAR, 12, 31),
        lines=(BillLine(item.code, Decimal(1), Decimal("5000.00")),),
        diagnosis="K35.8",
        details=EncounterDetails(referred_from=int(origin.id)),
    )
    status, view = services.settlements.settle(bill)
    assert status == 201, view
    assert view["seq"] == len(bills) + 1
    stay = Encounter(
        f"{YEAR}/{len(bills) + 1}",
        bill.date,
        Kind.INPATIENT,
        Hospital(inst.id, 3, True, REGION, False, "tcm"),
        (Line(LineClass.A, Decimal("5000.00")),),
        diagnosis="K35.8",
        referred_from=origin_key,
    )
    expected, after = settle_encounter(policy, person, stay, acc)
    rules = {s.rule for s in expected.steps}
    assert "threshold_continued" in rules  # the loaded chain continues at the counter
    # The category and the hospital's type, read from the registry, each decide this bill.
    general = replace(person, categories=())
    assert settle_encounter(policy, general, stay, acc)[0].basic != expected.basic
    at_general = replace(stay, hospital=replace(stay.hospital, type="general"))
    assert settle_encounter(policy, person, at_general, acc)[0].threshold != expected.threshold
    for layer in ("total", "threshold", "basic", "assistance", "personal"):
        assert Decimal(view[layer]) == getattr(expected, layer), layer
    with UnitOfWork(engine) as uow:
        assert uow.ledger.read_person_year(person_id(REGION, YEAR, key), YEAR) == after
    report = verify(lambda: UnitOfWork(engine), policies, year=YEAR, region=REGION)
    assert report.problems == []


def _refused(data: RegionYear, persons: dict[str, Any], encounters: dict[str, Any]) -> RegionYear:
    return RegionYear(
        data.region,
        data.year,
        data.persons.with_columns(**persons),
        data.encounters.with_columns(**encounters),
    )


def test_facts_the_registry_or_the_counter_would_refuse_load_nothing(
    engine: Engine, policies: PolicyLoader, facts_year: RegionYear
) -> None:
    first = int(facts_year.persons["person"][0])
    overlapping = [
        {"category": "low_income", "valid_from": date(YEAR, 1, 1), "valid_to": date(YEAR, 6, 30)},
        {"category": "special_hardship", "valid_from": date(YEAR, 6, 30), "valid_to": None},
    ]
    spans = pl.Series(
        [overlapping if k == first else [] for k in facts_year.persons["person"]],
        dtype=pl.List(CATEGORY),
    )
    bad = _refused(facts_year, {"categories": spans}, {})
    with pytest.raises(LoadError, match=rf"person {first}: categories\[1\] \(special_hardship\) "):
        load_region_year(engine, policies(REGION), bad)
    with engine.connect() as conn:
        assert list(conn.execute(select(t.persons.c.id))) == []
        assert list(conn.execute(select(t.person_categories.c.id))) == []


def _first_stay(data: RegionYear, *, linked: bool) -> dict[str, Any]:
    stays = data.encounters.filter(
        (pl.col("kind") == Kind.INPATIENT.value) & (pl.col("referred_from").is_not_null() == linked)
    )
    return stays.row(0, named=True)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("unknown category", r"person \d+: categories\[0\]: category 'poor' is not one of"),
        ("general category", r"categories\[0\]: category 'general' is not one of .*every other"),
        ("span backwards", r"person \d+: categories\[0\]: ends \(2026-01-31\) before it starts"),
        ("unknown type", r"encounter \d+ \(person \d+\): hospital_type 'herbal' is not one of"),
        ("unknown province", r"encounter \d+ \(person \d+\): province 'far' is not one of"),
        ("no such origin", r"encounter \d+ \(person \d+\): referred_from: 999999 is not an enc"),
        ("another's origin", r"referred_from: \d+ is a bill of person \d+"),
        ("later origin", r"referred_from: \d+ is not settled before it"),
        ("outpatient link", r"referred_from: only an inpatient stay has one \(this bill is outp"),
    ],
)
def test_each_refusal_names_the_row(facts_year: RegionYear, change: str, message: str) -> None:
    data = facts_year
    persons, encounters = data.persons, data.encounters
    first = int(persons["person"][0])

    def spans(*span: dict[str, Any]) -> pl.Series:
        values = [list(span) if k == first else [] for k in persons["person"]]
        return pl.Series("categories", values, dtype=pl.List(CATEGORY))

    def at(encounter: int, column: str, value: Any, dtype: Any) -> pl.Expr:
        return (
            pl.when(pl.col("encounter") == encounter)
            .then(pl.lit(value, dtype=dtype))
            .otherwise(pl.col(column))
            .alias(column)
        )

    stay, linked = _first_stay(data, linked=False), _first_stay(data, linked=True)
    other = encounters.filter(pl.col("person") != linked["person"]).row(0, named=True)
    outpatient = encounters.filter(pl.col("kind") == Kind.OUTPATIENT.value).row(0, named=True)
    edits: dict[str, pl.Series | pl.Expr] = {
        "unknown category": spans({"category": "poor", "valid_from": None, "valid_to": None}),
        "general category": spans({"category": "general", "valid_from": None, "valid_to": None}),
        "span backwards": spans(
            {
                "category": "low_income",
                "valid_from": date(YEAR, 2, 1),
                "valid_to": date(YEAR, 1, 31),
            }
        ),
        "unknown type": at(stay["encounter"], "hospital_type", "herbal", pl.String),
        "unknown province": at(stay["encounter"], "province", "far", pl.String),
        "no such origin": at(stay["encounter"], "referred_from", 999999, pl.Int64),
        "another's origin": at(linked["encounter"], "referred_from", other["encounter"], pl.Int64),
        "later origin": at(linked["referred_from"], "referred_from", linked["encounter"], pl.Int64),
        "outpatient link": at(
            outpatient["encounter"], "referred_from", stay["encounter"], pl.Int64
        ),
    }
    edit = edits[change]
    if isinstance(edit, pl.Series):
        persons = persons.with_columns(edit)
    else:
        encounters = encounters.with_columns(edit)
    with pytest.raises(LoadError, match=message):
        check_facts(RegionYear(data.region, data.year, persons, encounters))
    check_facts(data)  # the year itself is fine


def test_an_institution_s_province_as_its_bills_had_it() -> None:
    """The registry keeps two digits: the insured region's for `same`, the region's own
    where the database knows it in another province, else a stand-in of another."""
    new = pl.DataFrame(
        {
            "hospital": ["L", "S", "K", "U", "P"],
            "hospital_region": [REGION, "lake-city", "far-city", "nowhere", "lake-city"],
            "level": [3, 2, 2, 1, 0],
            "designated": [True] * 5,
            "pilot": [False] * 5,
            "hospital_type": ["tcm", "general", "general", "tcm", "general"],
            "province": ["same", "same", "other", "other", "other"],
            "pharmacy": [False, False, False, False, True],
        }
    )
    known = {"lake-city": "990700", "far-city": "370100"}
    rows = institution_rows(new, REGION, "990400", known)
    assert rows.select("id", "type", "province", "kind").rows() == [
        ("L", "tcm", None, "hospital"),
        ("S", "general", "99", "hospital"),
        ("K", "general", "37", "hospital"),
        ("U", "tcm", "11", "hospital"),
        ("P", "general", "11", "pharmacy"),  # lake-city is in the same province: a stand-in
    ]
    assert institution_rows(new, "sample-city", "110100", {})["province"].to_list()[2:] == [
        "12",
        "12",
        "12",
    ]


def test_batch_load_reads_the_facts_from_parquet(tmp_path: Path, facts_year: RegionYear) -> None:
    """`yibao batch load DIR`: the facts written with the frames reach the database (the
    frames' reader keeps them), the year verifies, and a bad fact is one line, exit 2."""
    folder, database = tmp_path / "rc", f"sqlite:///{tmp_path / 'y.sqlite3'}"
    facts_year.write(folder)
    runner = CliRunner()
    done = runner.invoke(app, ["batch", "load", str(folder), "--database", database])
    assert done.exit_code == 0, done.output
    spans = int(facts_year.persons["categories"].list.len().sum())
    assert f"{spans:,} categories" in done.output
    done = runner.invoke(app, ["verify", "--year", str(YEAR), "--database", database])
    assert done.exit_code == 0, done.output
    assert ", 0 problems" in done.output

    first = int(facts_year.persons["person"][0])
    poor = [{"category": "poor", "valid_from": None, "valid_to": None}]
    spans_column = pl.Series(
        "categories",
        [poor if k == first else [] for k in facts_year.persons["person"]],
        dtype=pl.List(CATEGORY),
    )
    bad = tmp_path / "bad"
    RegionYear(
        REGION, YEAR, facts_year.persons.with_columns(spans_column), facts_year.encounters
    ).write(bad)
    other = f"sqlite:///{tmp_path / 'z.sqlite3'}"
    done = runner.invoke(app, ["batch", "load", str(bad), "--database", other])
    assert done.exit_code == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"error: person {first}: categories[0]: category 'poor'")
