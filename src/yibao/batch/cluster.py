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
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

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
