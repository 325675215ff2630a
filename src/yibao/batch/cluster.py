"""The columnar engine partitioned by person, on a Dask cluster.

A person's whole year is settled together (the order of settlement, the yearly
counters and the serious-illness layer never cross persons), so the region-year is cut
by a hash of the person key into partitions that are settled independently, one task
each, with the very same `columnar.settle`, and put back together: the encounters in
the order of settlement (by person, then each person's own order), the persons by key.
The result equals the single-machine run frame for frame.

The hash is plain integer arithmetic (Fibonacci hashing of the key), the same in every
process and every version, so partitions can be cut once and written as files
(`write_partitions`): each worker then reads only its own partition's two Parquet files
(`settle_on_dask(policy, client, [folders])`), and no machine ever holds the region.

When the results do not fit one machine either, `settle_on_dask_to_files` has each task
write its partition's results beside its input (`part-NNNNN/result-encounters.parquet`,
`part-NNNNN/result-persons.parquet`) and return only a `PartSummary` (counts, totals in
fen); `read_results` reads them back, in the single-machine run's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import polars as pl

from yibao.batch.columnar import BatchResult, settle
from yibao.batch.frames import RegionYear, read_region_year
from yibao.domain.parameters import RegionPolicy

if TYPE_CHECKING:
    from distributed import Client

GOLDEN = 11400714819323198485  # 2**64 / φ, odd: Fibonacci hashing


def partition_of(person: pl.Expr, partitions: int) -> pl.Expr:
    """The partition of each person key: a multiplicative hash, stable everywhere."""
    hashed = (person.cast(pl.UInt64) * pl.lit(GOLDEN, dtype=pl.UInt64)) // pl.lit(
        2**32, dtype=pl.UInt64
    )
    return (hashed % partitions).cast(pl.Int64)


def partition(data: RegionYear, partitions: int) -> list[RegionYear]:
    """The region-year cut by person hash; every person with all their bills in one part."""
    if partitions < 1:
        raise ValueError("at least one partition")
    part = partition_of(pl.col("person"), partitions).alias("_part")
    persons = data.persons.with_columns(part).partition_by("_part", as_dict=True)
    encounters = data.encounters.with_columns(part).partition_by("_part", as_dict=True)
    out: list[RegionYear] = []
    for i in range(partitions):
        p = persons.get((i,))
        e = encounters.get((i,))
        if p is None and e is None:
            continue  # nobody hashed here
        out.append(
            RegionYear(
                data.region,
                data.year,
                data.persons.clear() if p is None else p.drop("_part"),
                data.encounters.clear() if e is None else e.drop("_part"),
            )
        )
    return out or [data]


def write_partitions(data: RegionYear, folder: Path, partitions: int) -> list[Path]:
    """Write each partition as its own region-year folder `part-NNNNN`; the folders."""
    paths: list[Path] = []
    for i, part in enumerate(partition(data, partitions)):
        path = folder / f"part-{i:05d}"
        part.write(path)
        paths.append(path)
    return paths


def settle_part(policy: RegionPolicy, part: RegionYear | str) -> BatchResult:
    """One task: settle a partition given in memory or as a folder the worker reads."""
    if isinstance(part, str):
        part = read_region_year(Path(part))
    return settle(policy, part)


RESULT_ENCOUNTERS = "result-encounters.parquet"
RESULT_PERSONS = "result-persons.parquet"
PLACES = "yibao.places"  # the result files' metadata: the exact columns' decimal places
# LZ4: a partition's results take about 30% less CPU to write than with Polars' default
# zstd (and read back faster), for about 50% more disk.
RESULT_COMPRESSION: Final = "lz4"
LAYERS = ("total", "basic", "assistance", "institution", "personal")


@dataclass(frozen=True)
class PartSummary:
    """What a task that wrote its results returns: a few numbers, not the frames."""

    folder: str
    places: int
    persons: int
    encounters: int
    total: int  # fen, the bills' layers summed
    basic: int
    assistance: int
    institution: int
    personal: int  # before the serious-illness layer
    serious_illness: int  # fen, the year's layer summed over the persons

    @property
    def fund(self) -> int:
        """What the funds pay: basic, assistance and the serious-illness layer, in fen."""
        return self.basic + self.assistance + self.serious_illness


def settle_part_to_files(policy: RegionPolicy, folder: str) -> PartSummary:
    """One task: settle the partition in `folder`, write its results there, return totals.

    The files are written under a temporary name and renamed, so a task run twice (a
    worker lost and the task retried) leaves whole files only."""
    path = Path(folder)
    result = settle(policy, read_region_year(path))
    for frame, name in ((result.encounters, RESULT_ENCOUNTERS), (result.persons, RESULT_PERSONS)):
        partial = path / f".{name}.partial"
        frame.write_parquet(
            partial, compression=RESULT_COMPRESSION, metadata={PLACES: str(result.places)}
        )
        partial.replace(path / name)
    sums = result.encounters.select(pl.col(c).sum() for c in LAYERS).row(0)
    return PartSummary(
        folder=str(path),
        places=result.places,
        persons=result.persons.height,
        encounters=result.encounters.height,
        **{c: int(v or 0) for c, v in zip(LAYERS, sums, strict=True)},
        serious_illness=int(result.persons.get_column("serious_illness").sum()),
    )


def settle_on_dask_to_files(
    policy: RegionPolicy, client: Client, folders: Sequence[Path]
) -> list[PartSummary]:
    """Settle every partition folder as one Dask task that writes its results beside its
    input; the tasks' summaries, in the order of the folders."""
    if not folders:
        raise ValueError("no partition to settle")
    remote_policy = client.scatter(policy, broadcast=True)  # type: ignore[no-untyped-call]
    futures = [
        client.submit(settle_part_to_files, remote_policy, str(f), pure=False) for f in folders
    ]
    summaries: list[PartSummary] = client.gather(futures)  # type: ignore[no-untyped-call]
    return summaries


def read_results(folders: Sequence[Path]) -> BatchResult:
    """The results the tasks wrote, read back and put in the single-machine run's order
    (for a region that fits the machine that reads it; otherwise read the parts one by one)."""
    results = []
    for folder in folders:
        encounters = pl.read_parquet(folder / RESULT_ENCOUNTERS)
        persons = pl.read_parquet(folder / RESULT_PERSONS)
        results.append(BatchResult(0, encounters, persons))
    combined = combine(results)
    return BatchResult(_places(folders), combined.encounters, combined.persons)


def _places(folders: Sequence[Path]) -> int:
    """The exact columns' places, kept in each result file's metadata."""
    places = {int(pl.read_parquet_metadata(f / RESULT_ENCOUNTERS)[PLACES]) for f in folders}
    if len(places) != 1:
        raise ValueError(f"results with different decimal places {sorted(places)}")
    return places.pop()


def combine(results: Sequence[BatchResult]) -> BatchResult:
    """The partitions' results as one, in the single-machine run's order."""
    if not results:
        raise ValueError("no partition settled")
    encounters = (
        pl.concat([r.encounters for r in results])
        .sort("person", "order", maintain_order=True)
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("order"))
    )
    persons = pl.concat([r.persons for r in results]).sort("person")
    return BatchResult(results[0].places, encounters, persons)


def settle_on_dask(
    policy: RegionPolicy,
    client: Client,
    parts: Sequence[RegionYear] | Sequence[Path],
) -> BatchResult:
    """Settle every partition as one Dask task and combine the results."""
    if not parts:
        raise ValueError("no partition to settle")
    remote_policy = client.scatter(policy, broadcast=True)  # type: ignore[no-untyped-call]
    # Frames are scattered to the workers first (not embedded in the task graph); a
    # folder is only its name, and the worker reads it.
    inputs = [
        str(part) if isinstance(part, Path) else client.scatter(part)  # type: ignore[no-untyped-call]
        for part in parts
    ]
    futures = [client.submit(settle_part, remote_policy, part, pure=False) for part in inputs]
    results: list[BatchResult] = client.gather(futures)  # type: ignore[no-untyped-call]
    return combine(results)


def settle_distributed(
    policy: RegionPolicy, data: RegionYear, scheduler: str, partitions: int | None = None
) -> BatchResult:
    """Connect to a scheduler, cut the region-year in memory and settle it there."""
    from distributed import Client

    with Client(scheduler) as client:  # type: ignore[no-untyped-call]
        workers = len(client.scheduler_info().get("workers", {})) or 1
        parts = partition(data, partitions or 4 * workers)
        return settle_on_dask(policy, client, parts)
