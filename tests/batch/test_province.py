"""A province's year out of core (issue 18, item 5): generated straight into partitions
by person, settled one partition at a time and on Dask, the same frames as the whole
region-year settled in memory."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import polars as pl
import pytest
import typer
from distributed import Client, LocalCluster
from typer.testing import CliRunner

from yibao.adapters.parameter_files import load_region, search_path
from yibao.batch.cluster import partition_of, read_results, settle_on_dask_to_files
from yibao.batch.columnar import settle
from yibao.batch.frames import RegionYear, read_region_year
from yibao.batch.generate import bill_count, generate
from yibao.batch.province import (
    ALLOCATOR,
    Layout,
    _environment,
    generate_partitioned,
    read_layout,
    settle_partitions,
    totals,
    worker_environment,
)
from yibao.entrypoints import cli_batch as cli

TESTS = Path(__file__).resolve().parent.parent
POLICY_PATH = [TESTS / "regions", *search_path()]
PARTITIONS = 5


@pytest.fixture(scope="module", params=["sample-city", "test-town"])
def province(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Layout]:
    root = tmp_path_factory.mktemp("province")
    layout = generate_partitioned(
        root,
        persons=3_000,
        year=2026,
        seed=5,
        region=request.param,
        partitions=PARTITIONS,
        chunk_persons=700,  # 5 chunks, the last of 200
        policy_path=POLICY_PATH,
    )
    return root, layout


def _whole(root: Path, layout: Layout) -> RegionYear:
    parts = [read_region_year(f) for f in layout.folders(root)]
    return RegionYear(
        layout.region,
        layout.year,
        pl.concat([p.persons for p in parts]),
        pl.concat([p.encounters for p in parts]),
    )


def test_each_person_is_written_to_the_partition_of_its_hash(
    province: tuple[Path, Layout],
) -> None:
    root, layout = province
    assert read_layout(root) == layout
    assert (layout.persons, layout.partitions, layout.chunks) == (3_000, PARTITIONS, 5)
    persons, bills = 0, 0
    for p, folder in enumerate(layout.folders(root)):
        assert len(list(folder.glob("persons-*.parquet"))) == 5
        part = read_region_year(folder)
        assert part.region == layout.region
        hashed = part.persons.select(partition_of(pl.col("person"), PARTITIONS)).to_series()
        assert (hashed == p).all()
        assert part.encounters.get_column("person").is_in(part.persons["person"].implode()).all()
        persons += part.persons.height
        bills += part.encounters.height
    whole = _whole(root, layout)
    assert persons == whole.persons["person"].n_unique() == 3_000
    assert bills == whole.encounters["encounter"].n_unique() == layout.encounters
    assert set(whole.persons["person"]) == set(range(3_000))


def test_out_of_core_settles_to_the_frames_of_the_in_memory_run(
    province: tuple[Path, Layout],
) -> None:
    root, layout = province
    policy = load_region(layout.region, POLICY_PATH)
    summaries = settle_partitions(policy, layout.folders(root))
    in_memory = settle(policy, _whole(root, layout))
    back = read_results(layout.folders(root))
    assert back.places == in_memory.places
    assert back.encounters.equals(in_memory.encounters)
    assert back.persons.equals(in_memory.persons)
    summed = totals(summaries)
    assert summed["encounters"] == layout.encounters
    assert summed["persons"] == layout.persons
    for layer in ("total", "basic", "assistance", "institution", "personal"):
        assert summed[layer] == in_memory.encounters[layer].sum()
    assert summed["serious_illness"] == in_memory.persons["serious_illness"].sum()
    assert summed["fund"] > 0


def test_two_processes_settle_the_partitions_as_one(province: tuple[Path, Layout]) -> None:
    root, layout = province
    policy = load_region(layout.region, POLICY_PATH)
    folders = layout.folders(root)
    alone = settle_partitions(policy, folders)
    one = read_results(folders)
    seen: list[tuple[int, int]] = []
    both = settle_partitions(
        policy, folders, progress=lambda i, n: seen.append((i, n)), processes=2, threads=1
    )
    assert both == alone
    assert seen == [(i, PARTITIONS) for i in range(1, PARTITIONS + 1)]
    back = read_results(folders)
    assert back.encounters.equals(one.encounters)
    assert back.persons.equals(one.persons)
    with pytest.raises(ValueError, match="at least one process"):
        settle_partitions(policy, folders, processes=0)


def test_workers_get_their_threads_and_allocator(monkeypatch: pytest.MonkeyPatch) -> None:
    name, conf = ALLOCATOR
    monkeypatch.setenv(name, "narenas:1")
    monkeypatch.delenv("POLARS_MAX_THREADS", raising=False)
    assert worker_environment(1) == {"POLARS_MAX_THREADS": "1", name: conf}
    assert worker_environment(None) == {"POLARS_MAX_THREADS": None, name: conf}
    with _environment({"POLARS_MAX_THREADS": "3", name: None}):
        assert os.environ["POLARS_MAX_THREADS"] == "3"
        assert os.environ[name] == "narenas:1"
    assert "POLARS_MAX_THREADS" not in os.environ
    assert os.environ[name] == "narenas:1"


def _allocator_seen(_: int) -> str:
    return os.environ["_RJEM_MALLOC_CONF"]


def test_a_started_worker_ends_with_the_allocator_settings() -> None:
    # Polars, imported in the worker, puts its own settings first: ours must come last.
    with (
        _environment(worker_environment(1)),
        ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool,
    ):
        seen = pool.submit(_allocator_seen, 0).result()
    assert seen.endswith(ALLOCATOR[1])


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def test_dask_settles_the_partitions_as_here(client: Client, province: tuple[Path, Layout]) -> None:
    root, layout = province
    policy = load_region(layout.region, POLICY_PATH)
    folders = layout.folders(root)
    here = settle_partitions(policy, folders)
    alone = read_results(folders)
    spread = settle_on_dask_to_files(policy, client, folders)
    assert spread == here
    back = read_results(folders)
    assert back.encounters.equals(alone.encounters)
    assert back.persons.equals(alone.persons)


def test_the_same_seed_writes_the_same_partitions(tmp_path: Path) -> None:
    def written(root: Path, processes: int = 1) -> tuple[Layout, list[pl.DataFrame]]:
        layout = generate_partitioned(
            root, persons=500, year=2026, seed=9, region="sample-city", partitions=3,
            chunk_persons=200, processes=processes,
        )  # fmt: skip
        return layout, [pl.read_parquet(p) for p in sorted(root.glob("part-*/*.parquet"))]

    layout, first = written(tmp_path / "a")
    again = written(tmp_path / "b")
    assert len(first) == 3 * 3 * 2
    assert again[0] == layout
    assert all(x.equals(y) for x, y in zip(first, again[1], strict=True))
    # Two processes, chunks numbered before they are drawn: the same files.
    both = written(tmp_path / "c", processes=2)
    assert both[0] == layout
    assert len(both[1]) == len(first)
    assert all(x.equals(y) for x, y in zip(first, both[1], strict=True))
    bills = pl.concat(f for f in first if "encounter" in f.columns)["encounter"]
    assert sorted(bills) == list(range(layout.encounters))


@pytest.mark.parametrize("seed", [1, 9, 123])
def test_bill_count_counts_what_generate_draws(seed: int) -> None:
    for region in ("sample-city", "test-town"):
        data = generate(700, 2026, seed, region, POLICY_PATH)
        assert bill_count(700, 2026, seed, region, POLICY_PATH) == data.encounters.height


def test_batch_settle_settles_a_partitioned_province(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(cli.generate)
    args = ["--persons", "400", "--seed", "3", "--out", str(tmp_path), "--partitions", "2"]
    made = CliRunner().invoke(app, args)
    assert made.exit_code == 0, made.output
    assert "400 persons" in made.output
    assert "2 partitions" in made.output
    layout = read_layout(tmp_path)
    refused = CliRunner().invoke(app, [*args, "--load"])
    assert refused.exit_code == 2
    assert "cannot --load" in refused.output
    done = CliRunner().invoke(cli.batch_app, ["settle", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert "2 partitions" in done.output
    assert f"{layout.encounters:,}" in done.output
    for folder in layout.folders(tmp_path):
        assert (folder / "result-encounters.parquet").exists()


def test_bad_layouts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no province\.json"):
        read_layout(tmp_path)
    with pytest.raises(ValueError, match="at least 1"):
        generate_partitioned(
            tmp_path, persons=10, year=2026, seed=1, region="sample-city", partitions=0
        )
