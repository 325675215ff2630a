"""The columnar engine partitioned by person on Dask: the same frames as one machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import typer
from distributed import Client, LocalCluster
from typer.testing import CliRunner

from yibao.adapters.parameter_files import load_region, search_path
from yibao.batch.cluster import (
    RESULT_ENCOUNTERS,
    RESULT_PERSONS,
    PartSummary,
    partition,
    partition_of,
    read_results,
    settle_on_dask,
    settle_on_dask_to_files,
    write_partitions,
)
from yibao.batch.columnar import settle
from yibao.batch.frames import RegionYear, read_region_year
from yibao.batch.generate import generate
from yibao.entrypoints import cli_batch as cli

TESTS = Path(__file__).resolve().parent.parent
POLICY_PATH = [TESTS / "regions", *search_path()]


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module", params=["sample-city", "test-town"])
def year(request: pytest.FixtureRequest) -> RegionYear:
    return generate(2_500, 2026, 21, request.param, POLICY_PATH)


def test_a_persons_year_is_in_one_partition(year: RegionYear) -> None:
    parts = partition(year, 7)
    assert len(parts) == 7
    seen = pl.concat([p.persons.select("person") for p in parts])
    assert seen.height == year.persons.height
    assert seen.get_column("person").n_unique() == year.persons.height
    for part in parts:
        persons = part.persons.get_column("person")
        assert part.encounters.get_column("person").is_in(persons.implode()).all()
    assert sum(p.encounters.height for p in parts) == year.encounters.height
    # The hash is arithmetic: the same in every process and version.
    keys = pl.DataFrame({"person": [0, 1, 2, 3, 1_000_000]})
    assert keys.select(partition_of(pl.col("person"), 7)).to_series().to_list() == [
        (k * 11400714819323198485 % 2**64 >> 32) % 7 for k in [0, 1, 2, 3, 1_000_000]
    ]


def test_dask_settles_to_the_same_frames(client: Client, year: RegionYear) -> None:
    policy = load_region(year.region, POLICY_PATH)
    alone = settle(policy, year)
    spread = settle_on_dask(policy, client, partition(year, 5))
    assert spread.places == alone.places
    assert spread.encounters.equals(alone.encounters)
    assert spread.persons.equals(alone.persons)


def test_workers_read_their_partition_files(
    client: Client, year: RegionYear, tmp_path: Path
) -> None:
    policy = load_region(year.region, POLICY_PATH)
    folders = write_partitions(year, tmp_path, 4)
    assert [f.name for f in folders] == [f"part-{i:05d}" for i in range(4)]
    spread = settle_on_dask(policy, client, folders)
    alone = settle(policy, year)
    assert spread.encounters.equals(alone.encounters)
    assert spread.persons.equals(alone.persons)


def test_tasks_write_their_results_beside_their_partitions(
    client: Client, year: RegionYear, tmp_path: Path
) -> None:
    """Each task writes its partition's results next to its input and returns only its
    totals; read back, the results are the single-machine run, frame for frame."""
    policy = load_region(year.region, POLICY_PATH)
    folders = write_partitions(year, tmp_path, 5)
    summaries = settle_on_dask_to_files(policy, client, folders)
    assert [type(s) for s in summaries] == [PartSummary] * 5
    assert [s.folder for s in summaries] == [str(f) for f in folders]
    for folder, summary in zip(folders, summaries, strict=True):
        own = settle(policy, read_region_year(folder))
        written = pl.read_parquet(folder / RESULT_ENCOUNTERS)
        assert written.equals(own.encounters)
        assert pl.read_parquet(folder / RESULT_PERSONS).equals(own.persons)
        assert (summary.persons, summary.encounters) == (own.persons.height, written.height)
        assert summary.basic == written["basic"].sum()
        assert summary.serious_illness == own.persons["serious_illness"].sum()
        assert sorted(p.name for p in folder.iterdir()) == [
            "encounters.parquet",
            "persons.parquet",
            RESULT_ENCOUNTERS,
            RESULT_PERSONS,
        ]
    alone = settle(policy, year)
    back = read_results(folders)
    assert back.places == alone.places
    assert back.encounters.equals(alone.encounters)
    assert back.persons.equals(alone.persons)
    enc, persons = alone.encounters, alone.persons
    assert sum(s.encounters for s in summaries) == enc.height == year.encounters.height
    assert sum(s.persons for s in summaries) == persons.height
    for layer in ("total", "basic", "assistance", "institution", "personal"):
        assert sum(getattr(s, layer) for s in summaries) == enc[layer].sum(), layer
    fund = enc["basic"].sum() + enc["assistance"].sum() + persons["serious_illness"].sum()
    assert sum(s.fund for s in summaries) == fund


def test_batch_settle_on_a_scheduler(client: Client, tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("generate")(cli.generate)
    app.add_typer(cli.batch_app, name="batch")
    runner = CliRunner()
    data = tmp_path / "sc"
    assert runner.invoke(app, ["generate", "--out", str(data), "--persons", "300"]).exit_code == 0
    alone = runner.invoke(app, ["batch", "settle", str(data), "--out", str(tmp_path / "a.pq")])
    address = client.scheduler.address
    spread = runner.invoke(
        app, ["batch", "settle", str(data), "--dask", address, "--out", str(tmp_path / "b.pq")]
    )
    assert alone.exit_code == 0, alone.output
    assert spread.exit_code == 0, spread.output
    assert pl.read_parquet(tmp_path / "a.pq").equals(pl.read_parquet(tmp_path / "b.pq"))
    table = [line for line in spread.output.splitlines() if "settled in" not in line]
    assert table == [line for line in alone.output.splitlines() if "settled in" not in line]


def test_partitions_settled_from_the_command_line(client: Client, tmp_path: Path) -> None:
    """`batch partition`, then `batch settle` of the partitions here and on a scheduler:
    the same results written beside each partition, the same totals as the whole year."""
    app = typer.Typer()
    app.command("generate")(cli.generate)
    app.add_typer(cli.batch_app, name="batch")
    runner = CliRunner()
    data, parts = tmp_path / "sc", tmp_path / "parts"
    assert runner.invoke(app, ["generate", "--out", str(data), "--persons", "300"]).exit_code == 0
    done = runner.invoke(
        app, ["batch", "partition", str(data), "--out", str(parts), "--partitions", "3"]
    )
    assert done.exit_code == 0, done.output
    assert "in 3 partitions" in done.output
    folders = sorted(parts.iterdir())
    here = runner.invoke(app, ["batch", "settle", str(parts)])
    assert here.exit_code == 0, here.output
    written = [pl.read_parquet(f / RESULT_ENCOUNTERS) for f in folders]
    spread = runner.invoke(app, ["batch", "settle", str(parts), "--dask", client.scheduler.address])
    assert spread.exit_code == 0, spread.output
    for folder, before in zip(folders, written, strict=True):
        assert pl.read_parquet(folder / RESULT_ENCOUNTERS).equals(before)

    def table(output: str) -> list[str]:
        return [line for line in output.splitlines() if "settled in" not in line]

    assert table(here.output) == table(spread.output)
    policy = load_region("sample-city", POLICY_PATH)
    alone = settle(policy, read_region_year(data))
    assert read_results(folders).encounters.equals(alone.encounters)
    basic = alone.encounters["basic"].sum()
    assert f"{basic // 100:,}.{basic % 100:02d}" in here.output
    refused = runner.invoke(app, ["batch", "settle", str(parts), "--out", str(tmp_path / "x")])
    assert refused.exit_code == 2
    assert "written beside each partition" in refused.output


def test_whatif_on_a_scheduler(client: Client, tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("whatif")(cli.whatif)
    app.command("generate")(cli.generate)
    change = tmp_path / "change.yaml"
    change.write_text(
        "changes:\n  - {file: resident, key: outpatient.rate, from: 2026-04-01, value: '0.65'}\n",
        encoding="utf-8",
    )
    args = ["whatif", "--change", str(change), "--persons", "400", "--seed", "5"]
    runner = CliRunner()
    alone = runner.invoke(app, args)
    spread = runner.invoke(app, [*args, "--dask", client.scheduler.address])
    assert alone.exit_code == 0, alone.output
    assert spread.exit_code == 0, spread.output

    def tables(output: str) -> list[str]:
        return [line for line in output.splitlines() if "compared in" not in line]

    assert tables(spread.output) == tables(alone.output)
    assert "difference by scheme" in alone.output
