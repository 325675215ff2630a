"""A province's year out of core: a region-year larger than memory, settled partition by
partition (issue 18, item 5).

A person's year never crosses persons, so a region-year cut by the hash of the person
key (`cluster.partition_of`) settles one partition at a time, each with the very same
`columnar.settle`, and only one partition (and its results) is ever in memory.

`generate_partitioned` writes a generated region-year straight into that layout, never
holding it whole: it draws the persons in chunks (`generate` with a seed of the chunk's
own, the chunk's person and bill keys moved past the earlier chunks' so that they stay
unique), and writes each chunk's rows of partition p to `part-PPPPP/persons-CCCCC.parquet`
and `part-PPPPP/encounters-CCCCC.parquet`. A partition folder is thus an ordinary
region-year folder whose two frames come in several files (`frames.read_region_year`
reads `persons*.parquet`), so `cluster.settle_part_to_files` settles it here or as a
Dask task (`cluster.settle_on_dask_to_files`), writing its results beside its input.

`settle_partitions` settles the folders one after the other in this process, or in
`processes` worker processes side by side, and gives each partition's `PartSummary`
(counts and totals in fen); `totals` adds them up. `generate_partitioned` too draws its
chunks in `processes` workers if asked, writing the same files.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import polars as pl

from yibao.batch.cluster import PartSummary, partition_of, settle_part_to_files
from yibao.batch.generate import bill_count, generate
from yibao.domain.parameters import RegionPolicy

MANIFEST = "province.json"
CHUNK_PERSONS = 1_000_000  # persons drawn at once: about 2.5 million bills


@dataclass(frozen=True)
class Layout:
    """What `generate_partitioned` wrote (also kept as `province.json` in the folder)."""

    region: str
    year: int
    seed: int
    persons: int
    encounters: int
    partitions: int
    chunks: int

    def folders(self, root: Path) -> list[Path]:
        return [root / part_name(p) for p in range(self.partitions)]


def part_name(partition: int) -> str:
    return f"part-{partition:05d}"


def generate_partitioned(
    root: Path,
    *,
    persons: int,
    year: int,
    seed: int,
    region: str,
    partitions: int,
    chunk_persons: int = CHUNK_PERSONS,
    progress: Callable[[int, int], None] | None = None,
    policy_path: Sequence[Path] | None = None,
    processes: int = 1,
) -> Layout:
    """Generate `persons` persons and their bills into `partitions` partition folders
    under `root`, `chunk_persons` at a time; the layout written.

    With `processes` above 1, that many worker processes generate a chunk each at a
    time. A chunk's bill keys follow the earlier chunks' bills, so the workers first
    count each chunk's bills (`generate.bill_count`, the persons' draws replayed up to
    the counts) and then generate the chunks knowing where each one's keys start: the
    files are those one process writes, byte for byte."""
    if persons < 1 or partitions < 1 or chunk_persons < 1 or processes < 1:
        raise ValueError("persons, partitions, chunk size and processes must be at least 1")
    chunks = -(-persons // chunk_persons)
    for p in range(partitions):
        (root / part_name(p)).mkdir(parents=True, exist_ok=True)
    jobs = [
        _Chunk(root, c, min(chunk_persons, persons - c * chunk_persons), c * chunk_persons)
        for c in range(chunks)
    ]
    common = (year, seed, region, partitions, policy_path)
    if processes == 1 or chunks == 1:
        encounters = 0
        for job in jobs:
            encounters += _generate_chunk(job, encounters, *common)
            if progress is not None:
                progress(job.chunk + 1, chunks)
    else:
        encounters = _generate_in_parallel(jobs, common, processes, progress)
    layout = Layout(region, year, seed, persons, encounters, partitions, chunks)
    (root / MANIFEST).write_text(json.dumps(asdict(layout), indent=2) + "\n")
    return layout


@dataclass(frozen=True)
class _Chunk:
    root: Path
    chunk: int
    persons: int
    first_person: int  # the chunk's persons' keys start here


_Common = tuple[int, int, str, int, Sequence[Path] | None]  # year, seed, region, partitions, path


def _chunk_seed(seed: int, chunk: int) -> int:
    return seed * 100_003 + chunk


def _generate_chunk(
    job: _Chunk,
    first_bill: int,
    year: int,
    seed: int,
    region: str,
    partitions: int,
    policy_path: Sequence[Path] | None,
) -> int:
    """Draw one chunk, move its keys past the earlier chunks' and write its rows of each
    partition; its number of bills."""
    data = generate(job.persons, year, _chunk_seed(seed, job.chunk), region, policy_path)
    people = data.persons.with_columns(pl.col("person") + job.first_person)
    bills = data.encounters.with_columns(
        pl.col("person") + job.first_person, pl.col("encounter") + first_bill
    )
    _write_chunk(job.root, job.chunk, partitions, people, bills)
    return bills.height


def _count_chunk(
    job: _Chunk, year: int, seed: int, region: str, policy_path: Sequence[Path] | None
) -> int:
    return bill_count(job.persons, year, _chunk_seed(seed, job.chunk), region, policy_path)


def _generate_in_parallel(
    jobs: Sequence[_Chunk],
    common: _Common,
    processes: int,
    progress: Callable[[int, int], None] | None,
) -> int:
    """The chunks generated by `processes` workers; the number of bills written."""
    year, seed, region, _, policy_path = common
    context = multiprocessing.get_context("spawn")  # not forked: see settle_partitions
    with ProcessPoolExecutor(min(processes, len(jobs)), mp_context=context) as pool:
        counts = [
            f.result()
            for f in [pool.submit(_count_chunk, j, year, seed, region, policy_path) for j in jobs]
        ]
        firsts = [sum(counts[:i]) for i in range(len(jobs))]
        futures = [
            pool.submit(_generate_chunk, j, f, *common) for j, f in zip(jobs, firsts, strict=True)
        ]
        for done, _ in enumerate(as_completed(futures), start=1):
            if progress is not None:
                progress(done, len(jobs))
        written = [f.result() for f in futures]
    if written != counts:  # the replay and the generation drew different streams
        raise AssertionError(f"chunks counted {counts} bills but generated {written}")
    return sum(written)


def _write_chunk(
    root: Path, chunk: int, partitions: int, persons: pl.DataFrame, encounters: pl.DataFrame
) -> None:
    """One chunk's rows of each partition, in a file of their own per partition (a
    partition nobody of the chunk hashed to gets empty files: the schema stays known)."""
    for name, frame in (("persons", persons), ("encounters", encounters)):
        parts = frame.with_columns(partition_of(pl.col("person"), partitions).alias("_p"))
        by_part = parts.partition_by("_p", as_dict=True, include_key=False)
        for p in range(partitions):
            rows = by_part.get((p,), frame.clear())
            rows.write_parquet(root / part_name(p) / f"{name}-{chunk:05d}.parquet")


def read_layout(root: Path) -> Layout:
    """The layout `generate_partitioned` wrote under `root`."""
    path = root / MANIFEST
    if not path.is_file():
        raise ValueError(f"{root}: no {MANIFEST} (not written by generate_partitioned)")
    return Layout(**json.loads(path.read_text()))


def settle_partitions(
    policy: RegionPolicy,
    folders: Sequence[Path],
    progress: Callable[[int, int], None] | None = None,
    processes: int = 1,
    threads: int | None = None,
) -> list[PartSummary]:
    """Settle each partition folder, its results written beside it; the partitions'
    summaries, in the order of the folders.

    With `processes` above 1, that many worker processes (started fresh, not forked: a
    forked Polars can deadlock on its thread pool's locks) settle one partition each at
    a time, each with `threads` Polars threads (default: Polars' own choice). A
    partition's settlement is mostly single-threaded work (docs/batch.md), so on a
    machine of two cores two processes of one thread each keep both cores busy where one
    process mostly keeps one; memory is that of `processes` partitions at once."""
    if processes < 1:
        raise ValueError("at least one process")
    if processes == 1 or len(folders) < 2:
        return _settle_here(policy, folders, progress)
    context = multiprocessing.get_context("spawn")
    done = 0
    with (
        _environment(worker_environment(threads)),
        ProcessPoolExecutor(min(processes, len(folders)), mp_context=context) as pool,
    ):
        # The workers start at the first submit, inside the environment above.
        futures = [pool.submit(settle_part_to_files, policy, str(f)) for f in folders]
        for _ in as_completed(futures):
            done += 1
            if progress is not None:
                progress(done, len(folders))
        return [f.result() for f in futures]


def _settle_here(
    policy: RegionPolicy,
    folders: Sequence[Path],
    progress: Callable[[int, int], None] | None,
) -> list[PartSummary]:
    summaries = []
    for i, folder in enumerate(folders):
        summaries.append(settle_part_to_files(policy, str(folder)))
        if progress is not None:
            progress(i + 1, len(folders))
    return summaries


# Polars' allocator (jemalloc) in a worker: freed pages kept for the next partition
# rather than handed back to the kernel after a few seconds. Each partition otherwise
# faults its gigabytes in afresh, a quarter of its CPU spent in the kernel; kept, a
# worker's resident memory stays at about one partition's peak (2.4 GiB for 2.5 million
# bills, against 1.6 GiB), settled partition after partition.
ALLOCATOR: Final = ("_RJEM_MALLOC_CONF", "dirty_decay_ms:-1,muzzy_decay_ms:-1")


@contextmanager
def _environment(values: dict[str, str | None]) -> Iterator[None]:
    """This process's environment (which a process started inside inherits) with
    `values` set (None: left as it is) while inside. Polars reads its thread count and
    its allocator its settings once, as it is imported: a worker's must be in its
    environment when it starts."""
    before = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is not None:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def worker_environment(threads: int | None) -> dict[str, str | None]:
    """The environment of a worker process settling partitions: `threads` Polars
    threads (None: Polars' choice) and the allocator's `ALLOCATOR` settings. Polars,
    as it is imported, puts its own allocator settings before what it finds in the
    environment, so the last ones (these) win; in this process they are already Polars'
    own, which are not passed on."""
    name, conf = ALLOCATOR
    return {"POLARS_MAX_THREADS": None if threads is None else str(threads), name: conf}


def totals(summaries: Sequence[PartSummary]) -> dict[str, int]:
    """The partitions' counts and layers added up (fen)."""
    names = ("persons", "encounters", "total", "basic", "assistance", "institution")
    out = {name: sum(getattr(s, name) for s in summaries) for name in names}
    out["personal"] = sum(s.personal for s in summaries)
    out["serious_illness"] = sum(s.serious_illness for s in summaries)
    out["fund"] = sum(s.fund for s in summaries)
    return out
