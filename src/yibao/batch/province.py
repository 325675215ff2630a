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

`settle_partitions` settles the folders one after the other in this process and gives
each partition's `PartSummary` (counts and totals in fen); `totals` adds them up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from yibao.batch.cluster import PartSummary, partition_of, settle_part_to_files
from yibao.batch.generate import generate
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
) -> Layout:
    """Generate `persons` persons and their bills into `partitions` partition folders
    under `root`, `chunk_persons` at a time; the layout written."""
    if persons < 1 or partitions < 1 or chunk_persons < 1:
        raise ValueError("persons, partitions and chunk size must be at least 1")
    chunks = -(-persons // chunk_persons)
    for p in range(partitions):
        (root / part_name(p)).mkdir(parents=True, exist_ok=True)
    encounters = 0
    for c in range(chunks):
        n = min(chunk_persons, persons - c * chunk_persons)
        data = generate(n, year, seed * 100_003 + c, region, policy_path)
        people = data.persons.with_columns(pl.col("person") + c * chunk_persons)
        bills = data.encounters.with_columns(
            pl.col("person") + c * chunk_persons, pl.col("encounter") + encounters
        )
        encounters += bills.height
        _write_chunk(root, c, partitions, people, bills)
        if progress is not None:
            progress(c + 1, chunks)
    layout = Layout(region, year, seed, persons, encounters, partitions, chunks)
    (root / MANIFEST).write_text(json.dumps(asdict(layout), indent=2) + "\n")
    return layout


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
) -> list[PartSummary]:
    """Settle each partition folder in turn in this process, its results written beside
    it; the partitions' summaries, in the order of the folders."""
    summaries = []
    for i, folder in enumerate(folders):
        summaries.append(settle_part_to_files(policy, str(folder)))
        if progress is not None:
            progress(i + 1, len(folders))
    return summaries


def totals(summaries: Sequence[PartSummary]) -> dict[str, int]:
    """The partitions' counts and layers added up (fen)."""
    names = ("persons", "encounters", "total", "basic", "assistance", "institution")
    out = {name: sum(getattr(s, name) for s in summaries) for name in names}
    out["personal"] = sum(s.personal for s in summaries)
    out["serious_illness"] = sum(s.serious_illness for s in summaries)
    out["fund"] = sum(s.fund for s in summaries)
    return out
