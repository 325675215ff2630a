"""Loading a region-year into the database, on SQLite and PostgreSQL: the registry it
needs and its bills as settlements in the service's own shape, so that `verify` finds
nothing, the yearly run pays what the columnar engine computed, and a card settlement at
the counter continues a loaded person's year."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection, Engine
from typer.testing import CliRunner

from yibao.adapters.db import tables as t
from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.schema import metadata
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import search_path
from yibao.adapters.scenario_files import load_scenario, scenario_files
from yibao.batch import load as load_module
from yibao.batch import loader as loader_module
from yibao.batch.columnar import BatchResult, settle
from yibao.batch.frames import RegionYear, from_domain, to_scalar
from yibao.batch.generate import generate
from yibao.batch.load import (
    EngineMismatchError,
    LoadError,
    card_number,
    load_region_year,
    person_id,
)
from yibao.batch.params import fact_dims
from yibao.bootstrap import PolicyLoader
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.engine import settle_encounter, settle_year
from yibao.domain.ids import parse_resident_id
from yibao.domain.model import Encounter, Hospital, Kind, Line, LineClass, Person
from yibao.domain.money import from_fen
from yibao.entrypoints.cli import app
from yibao.service.demo import catalogue, load_demo
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine
from yibao.service.verify import verify
from yibao.service.yearly import settle_serious_illness

TESTS = Path(__file__).resolve().parent.parent
EXAMPLES = TESTS.parent / "examples" / "regions"
SHARED = TESTS.parent.parent / "shared" / "scenarios"  # the reference's, beside the worktree
POLICY_PATH = [TESTS / "regions", *search_path()]
YEAR = 2026
PERSONS = 400


def _rows(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _count(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return _rows(conn, table)


def _counts(engine: Engine) -> dict[str, int]:
    return {table.name: _count(engine, table) for table in metadata.sorted_tables}


def _load(engine: Engine, policies: PolicyLoader, data: RegionYear) -> Any:
    return load_region_year(engine, policies(data.region), data)


@pytest.fixture(scope="module")
def year() -> RegionYear:
    return generate(PERSONS, YEAR, 11, "sample-city", POLICY_PATH)


def test_a_loaded_year_is_the_columnar_year_and_verifies(
    engine: Engine, policies: PolicyLoader, year: RegionYear
) -> None:
    calls: list[tuple[int, int]] = []
    summary = load_region_year(
        engine, policies("sample-city"), year, chunk=150, progress=lambda *c: calls.append(c)
    )
    assert calls == [(150, PERSONS), (300, PERSONS), (400, PERSONS)]
    result = settle(policies("sample-city"), year)
    bills = year.encounters.height
    assert (summary.persons, summary.settlements) == (PERSONS, bills)

    with engine.connect() as conn:
        persons = list(conn.execute(select(t.persons)))
        assert len(persons) == PERSONS
        numbers = set()
        for p in persons:
            number = parse_resident_id(p.id_number)  # GB 11643, check character included
            assert number.address_code == "990100"
            assert (number.birth_date, number.sex) == (p.birth_date, p.sex)
            numbers.add(p.id_number)
        assert len(numbers) == PERSONS
        by_key = {int(str(p.id).split("-")[1]): p for p in persons}
        frame = year.persons.sort("person")
        for row in frame.iter_rows(named=True):
            p = by_key[row["person"]]
            assert p.id == person_id("sample-city", YEAR, row["person"])
            assert (p.birth_date, p.assistance, p.retired) == (
                row["birth_date"],
                row["assistance"],
                row["retired"],
            )
        enrolments = list(conn.execute(select(t.enrolments)))
        assert len(enrolments) == PERSONS
        assert {(e.year, e.status, e.valid_from, e.valid_to) for e in enrolments} == {
            (YEAR, "active", date(YEAR, 1, 1), date(YEAR, 12, 31))
        }
        schemes = dict(zip(frame["person"], frame["scheme"], strict=True))
        assert all(e.scheme == schemes[int(e.person_id.split("-")[1])] for e in enrolments)
        cards = list(conn.execute(select(t.cards)))
        assert {c.status for c in cards} == {"active"}
        assert {c.number for c in cards} == {
            card_number("sample-city", YEAR, k) for k in frame["person"]
        }
        approvals = frame.select(pl.col("approvals").list.len().sum()).item()
        filings = frame.select(pl.col("filings").list.len().sum()).item()
        assert _rows(conn, t.approvals) == approvals > 0
        assert _rows(conn, t.filings) == filings > 0
        referred = year.encounters.filter(
            pl.col("referral") & (pl.col("hospital_region") != "sample-city")
        )
        assert 0 < _rows(conn, t.referrals) <= referred.height
        named = set(year.encounters["hospital"]) | {
            a["hospital"] for lst in frame["approvals"] for a in lst
        }
        registered = {r.id for r in conn.execute(select(t.institutions.c.id))}
        assert named <= registered

        # The settlements: the columnar engine's splits, in the order of settlement.
        stored = pl.DataFrame(
            [
                r._asdict()
                for r in conn.execute(
                    select(t.settlements).order_by(t.settlements.c.person_id, t.settlements.c.seq)
                )
            ]
        )
        assert stored.height == bills
        assert set(stored["channel"]) == {"card"}
        assert set(stored["status"]) == {"settled"}
        ours = result.encounters.with_columns(
            pl.col("person").map_elements(
                lambda k: person_id("sample-city", YEAR, k), return_dtype=pl.String
            )
        ).sort("person", "order")
        for a, b in (
            ("total_fen", "total"),
            ("basic_fen", "basic"),
            ("assistance_fen", "assistance"),
            ("institution_fen", "institution"),
            ("personal_fen", "personal"),
            ("self_pay_fen", "self_pay"),
            ("route", "route"),
            ("refused_code", "refused"),
        ):
            assert stored[a].to_list() == ours[b].to_list(), a
        seqs = stored.group_by("person_id", maintain_order=True).agg("seq")["seq"].to_list()
        assert all(s == list(range(1, len(s) + 1)) for s in seqs)
        for r in stored.head(50).iter_rows(named=True):
            steps = json.loads(r["explanation"])
            assert {"rule", "result", "text"} <= set(steps[-1])
            assert steps[-1]["rule"] in ("personal", "refused", "not_designated", "no_prescription")
        refused = stored.filter(pl.col("refused_code").is_not_null())
        assert refused.height > 0
        assert all("en" in json.loads(x) for x in refused["refused_reason"])

        # Lines add up to each bill; the ledger holds what the funds owe each institution.
        lines = conn.execute(select(func.sum(t.settlement_lines.c.amount_fen))).scalar_one()
        assert lines == stored["total_fen"].sum()
        ledger = dict(
            conn.execute(
                select(t.fund_ledger.c.layer, func.sum(t.fund_ledger.c.amount_fen)).group_by(
                    t.fund_ledger.c.layer
                )
            ).all()
        )
        assert ledger.get("basic", 0) == result.encounters["basic"].sum() == summary.basic_fen
        assert ledger.get("assistance", 0) == result.encounters["assistance"].sum()
        years = list(conn.execute(select(t.person_years)))
        assert len(years) == year.encounters["person"].n_unique() == summary.person_years

    report = verify(lambda: UnitOfWork(engine), policies, year=YEAR)
    assert (report.person_years, report.settlements) == (len(years), bills)
    assert report.problems == []


def test_every_scenario_loads_and_verifies(engine: Engine) -> None:
    """Every scenario file of a region and year as one region-year: all the features the
    hand-computed scenarios cover, loaded, verified, and the yearly run paying what the
    columnar engine computed for each person. The regions of the tests, the shipped ones
    and those from real texts (examples/regions), with the reference's own scenarios
    when present."""
    policies = PolicyLoader(search_path([TESTS / "regions", EXAMPLES]))
    groups: dict[tuple[str, int], list[tuple[Person, list[Encounter]]]] = defaultdict(list)
    folders = [
        TESTS / "scenarios",
        *sorted((TESTS / "regions").glob("*-scenarios")),
        *sorted(EXAMPLES.glob("*-scenarios")),
        *([SHARED] if SHARED.is_dir() else []),
    ]
    for path in scenario_files(folders):
        s = load_scenario(path)
        groups[s.region, s.year].append((s.person, list(s.encounters)))
    assert sum(len(g) for g in groups.values()) >= 87
    facts = {region for region, _ in groups if fact_dims(policies(region))}
    assert {"river-county", "delta-town"} <= facts  # decision tables on issue 14's facts
    with UnitOfWork(engine) as uow:  # the deployment's regions, known before any bill
        for code in sorted({region for region, _ in groups}):
            p = policies(code)
            uow.registry.add_region(p.code, p.name.zh, p.name.en, p.admdvs)
        uow.commit()
    for (region, y), people in sorted(groups.items()):
        data, _ = from_domain(region, y, people)
        result = settle(policies(region), data)
        summary = _load(engine, policies, data)
        assert summary.settlements == data.encounters.height
        report = verify(lambda: UnitOfWork(engine), policies, year=y, region=region)
        assert report.problems == [], (region, y)
        assert report.settlements == data.encounters.height
        yearly = settle_serious_illness(lambda: UnitOfWork(engine), policies, region, y)
        assert yearly.total == from_fen(int(result.persons["serious_illness"].sum()))
        with UnitOfWork(engine) as uow:
            for row in result.persons.iter_rows(named=True):
                stored = uow.yearly.get(person_id(region, y, row["person"]), y)
                paid = 0 if stored is None else stored.payment_fen
                assert paid == row["serious_illness"], (region, y, row["person"])
    assert {"river-county", "delta-town", "shandong-2014"} <= {region for region, _ in groups}


def _continuing(result: BatchResult) -> int:
    """A loaded person whose outpatient year is well under way: the most paid so far."""
    paid = (
        result.encounters.filter(pl.col("route") == "outpatient")
        .group_by("person")
        .agg(pl.col("basic").sum())
        .sort("basic", "person", descending=[True, False])
    )
    return int(paid["person"][0])


def test_a_card_settlement_continues_a_loaded_year(
    engine: Engine, policies: PolicyLoader, services: Services, year: RegionYear
) -> None:
    policy = policies("sample-city")
    _load(engine, policies, year)
    key = _continuing(settle(policy, year))
    person, bills = next((p, b) for p, b in to_scalar(year) if p.id == str(key))
    _, acc = settle_year(policy, person, YEAR, bills)
    with UnitOfWork(engine) as uow:
        assert uow.ledger.read_person_year(person_id("sample-city", YEAR, key), YEAR) == acc
        inst = next(
            i
            for i in (uow.registry.institution(f"H{lv}-00{n}") for lv in (1, 2) for n in (1, 2, 3))
            if i is not None and i.designated and i.region == "sample-city"
        )
    item = next(i for i in catalogue() if i.cls is LineClass.A and i.unit_price is None)
    bill = Bill(
        institution_id=inst.id,
        card_number=card_number("sample-city", YEAR, key),
        kind=Kind.OUTPATIENT,
        date=date(YEAR, 12, 31),
        lines=(BillLine(item.code, Decimal(3), Decimal("125.50")),),
        diagnosis="J18.9",
    )
    status, view = services.settlements.settle(bill)
    assert status == 201
    assert view["seq"] == len(bills) + 1
    expected, after = settle_encounter(
        policy,
        person,
        Encounter(
            "new",
            bill.date,
            Kind.OUTPATIENT,
            Hospital(inst.id, inst.level, inst.designated, inst.region, inst.pilot),
            (Line(LineClass.A, Decimal("376.50")),),
            diagnosis="J18.9",
        ),
        acc,
    )
    assert acc.outpatient_fund_paid > 0  # the year so far decides this bill
    for layer in ("total", "threshold", "basic", "assistance", "personal"):
        assert Decimal(view[layer]) == getattr(expected, layer), layer
    with UnitOfWork(engine) as uow:
        stored = uow.ledger.read_person_year(person_id("sample-city", YEAR, key), YEAR)
    assert stored == after
    assert stored != YearAccumulators(year=YEAR)
    report = verify(lambda: UnitOfWork(engine), policies, year=YEAR)
    assert report.problems == []
    assert report.settlements == year.encounters.height + 1


def test_a_region_with_the_year_is_refused_and_nothing_is_written(
    engine: Engine, policies: PolicyLoader, year: RegionYear
) -> None:
    _load(engine, policies, year)
    before = _counts(engine)
    with pytest.raises(LoadError, match="already has persons enrolled for 2026"):
        _load(engine, policies, year)
    assert _counts(engine) == before


def test_a_loaded_person_never_takes_a_registered_id_number(
    engine: Engine, policies: PolicyLoader
) -> None:
    """The demo's persons of 2026 are there; a region-year of 2027 born on the very same
    days loads beside them, with ID numbers of its own."""
    load_demo(lambda: UnitOfWork(engine), policies, persons=300, year=YEAR)
    with pytest.raises(LoadError, match="already has persons enrolled for 2026"):
        _load(engine, policies, generate(50, YEAR, 3, "sample-city", POLICY_PATH))
    with engine.connect() as conn:
        demo = list(
            conn.execute(
                select(t.persons.c.birth_date, t.persons.c.id_number).where(
                    t.persons.c.region == "sample-city"  # not the demo's neighbour's
                )
            )
        )
    data = generate(300, YEAR + 1, 3, "sample-city", POLICY_PATH)
    days = pl.Series([d for d, _ in demo] * 2, dtype=pl.Date)[: data.persons.height]
    data = RegionYear(
        data.region, data.year, data.persons.with_columns(days.alias("birth_date")), data.encounters
    )
    summary = _load(engine, policies, data)
    assert summary.persons == 300
    with engine.connect() as conn:
        numbers = [
            r[0]
            for r in conn.execute(
                select(t.persons.c.id_number).where(t.persons.c.region == "sample-city")
            )
        ]
    assert len(numbers) == len(set(numbers)) == 600
    report = verify(lambda: UnitOfWork(engine), policies, year=YEAR + 1)
    assert report.problems == []


def test_engines_that_disagree_load_nothing(
    engine: Engine, policies: PolicyLoader, year: RegionYear, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fen of difference between the engines, found late in the load, leaves no row."""

    def off_by_a_fen(policy: Any, data: RegionYear) -> BatchResult:
        result = settle(policy, data)
        last = result.encounters.height - 1
        changed = result.encounters.with_columns(
            pl.when(pl.int_range(pl.len()) == last)
            .then(pl.col("personal") + 1)
            .otherwise(pl.col("personal"))
            .alias("personal")
        )
        return BatchResult(result.places, changed, result.persons)

    monkeypatch.setattr(load_module, "settle", off_by_a_fen)
    before = _counts(engine)
    with pytest.raises(EngineMismatchError, match="the engines disagree"):
        load_region_year(engine, policies("sample-city"), year, chunk=100)
    assert _counts(engine) == before


def test_a_row_the_database_refuses_loads_nothing(
    engine: Engine, policies: PolicyLoader, year: RegionYear, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bulk write that fails in the middle of the bills (on PostgreSQL in the thread
    that COPYs them) is one error, and the transaction leaves no row behind."""
    real = loader_module.line_rows

    def doubled(rows: pl.DataFrame) -> pl.DataFrame:
        lines = real(rows)
        if rows["person"].max() < 300:
            return lines
        # A line written twice: its key (settlement, line number) is taken. (Lines no
        # longer carry a foreign key to their settlement, migration 0021.)
        return pl.concat([lines, lines.head(1)])

    monkeypatch.setattr(loader_module, "line_rows", doubled)
    before = _counts(engine)
    with pytest.raises(LoadError, match="refused a row"):
        load_region_year(engine, policies("sample-city"), year, chunk=100)
    assert _counts(engine) == before


def test_the_commands(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'y.sqlite3'}"
    folder = tmp_path / "sc"
    runner = CliRunner()
    args = ["--persons", "150", "--seed", "4", "--database", database]
    done = runner.invoke(app, ["demo", "generate", "--out", str(folder), "--load", *args])
    assert done.exit_code == 0, done.output
    assert "150 persons and" in done.output
    done = runner.invoke(app, ["batch", "load", str(folder), "--database", database])
    assert done.exit_code == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: sample-city already has persons enrolled for 2026")
    done = runner.invoke(app, ["verify", "--year", "2026", "--database", database])
    assert done.exit_code == 0, done.output
    assert ", 0 problems" in done.output
    done = runner.invoke(app, ["batch", "load", str(tmp_path / "none"), "--database", database])
    assert done.exit_code == 2
    assert done.stderr.startswith("error: ")
    assert done.stderr.count("\n") == 1
    done = runner.invoke(app, ["demo", "generate", "--persons", "5"])
    assert (done.exit_code, done.stderr) == (2, "error: give --out DIR, --load, or both\n")
    engine = make_engine(database)
    try:
        assert _count(engine, t.persons) == 150
    finally:
        engine.dispose()
