"""What would a policy change have cost? One region-year settled under two parameter sets.

A *change file* names values of the base region's policy files and what they become
from a day on:

    title: Residents' inpatient rate +5 points from 2026    # optional
    changes:
      - file: resident.yaml          # a file of the base region (or just: resident)
        key: inpatient.rate          # a dotted key to a dated parameter (a list of entries)
        from: 2026-01-01             # the new entry is in force from this day on
        brackets:                    # the fields of the new entry ...
          - {from: "0", rate: "0.75"}
          - {from: "40000", rate: "0.85"}
          - {from: "100000", rate: "0.95"}
      - file: resident
        key: outpatient.rate
        from: 2026-01-01
        value: "0.55"                # ... any field not given is the base entry's in force that day

Each change makes a new dated entry: the entry of the base in force on `from`, with the
fields given replacing its own (`value`, `by_level` and `brackets` replace one another),
its source "[set] what-if". Base entries that start on or after `from` are replaced by
it; one in force on `from` ends the day before. A key whose segment holds a dot (a pilot
diagnosis `Q21.1`) is written as a list: `key: [diseases, Q21.1, limited_cost]`.

The changed files are then loaded by the ordinary loader (`load_region_dir`), so every
check a policy file gets applies to the result; an error names the change file, the
change and the policy file's key. `WhatIfError` carries that one message.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from yibao.adapters.parameter_files import PolicyError, load_region_dir, search_path
from yibao.adapters.strict_yaml import YamlError, load_file
from yibao.batch.columnar import BatchResult
from yibao.batch.frames import RegionYear
from yibao.batch.whatif_rows import (
    ENTRY_BOOKKEEPING,
    VALUE_FIELDS,
    RowError,
    apply_rows,
    in_force,
    is_table,
)
from yibao.domain.parameters import RegionPolicy

TOP_KEYS = {"title", "changes"}
CHANGE_KEYS = {"file", "key", "from", "when"}  # every other key is a field of the new entry
LAYERS = ("basic", "assistance", "institution", "serious_illness", "personal")
LAYER_NAMES = {
    "basic": "basic",
    "assistance": "assistance",
    "institution": "institution (pilot)",
    "serious_illness": "serious illness",
    "personal": "personal",
    "fund": "fund paid (basic + assistance + serious illness)",
}
AGE_BANDS = ("0–17", "18–59", "60+")


class WhatIfError(ValueError):
    """A change file that cannot be applied; the message names the file, change and key."""


# --- the change file ------------------------------------------------------------------


def region_folder(code: str, path: Sequence[Path] | None = None) -> Path:
    """The folder of a region, looked up as `load_region` does."""
    folders = list(path) if path is not None else search_path()
    for folder in folders:
        if (folder / code / "region.yaml").is_file():
            return folder / code
    raise WhatIfError(f"unknown region {code!r}")


def _segments(key: object, where: str) -> list[str]:
    if isinstance(key, str) and key.strip():
        return key.split(".")
    if isinstance(key, list) and key and all(isinstance(k, str) and k for k in key):
        return list(key)
    raise WhatIfError(f"{where}.key: a dotted key (inpatient.rate) or a list of its parts")


def _apply(entries: list[Any], start: date, fields: dict[str, Any], note: str) -> list[Any]:
    """The dated list with a new entry from `start` on (see the module doc)."""
    in_force: dict[str, Any] | None = None
    kept: list[Any] = []
    for entry in entries:
        begins = entry["from"]
        if begins >= start:
            continue  # replaced by the new entry
        until = entry.get("until")
        if until is None or until >= start:
            in_force = entry
            if until is not None:
                entry = {**entry, "until": start - timedelta(days=1)}
        kept.append(entry)
    base = {k: v for k, v in (in_force or {}).items() if k not in ENTRY_BOOKKEEPING}
    if VALUE_FIELDS & fields.keys():
        base = {k: v for k, v in base.items() if k not in VALUE_FIELDS}
    new = {"from": start, **base, **fields, "source": f"[set] what-if: {note}"}
    return [*kept, new]


def _to_yaml(obj: Any) -> Any:
    """Decimals as their exact text (the loader reads numbers from text)."""
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _to_yaml(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_yaml(v) for v in obj]
    return obj


@dataclass(frozen=True)
class Change:
    title: str
    policy: RegionPolicy  # the base region's policy with the changes


def load_change(path: Path, base: str, policy_path: Sequence[Path] | None = None) -> Change:
    """The base region's policy with the change file applied, or one `WhatIfError`."""
    name = path.name
    title, changes = _read_change_file(path)
    folder = region_folder(base, policy_path)
    files = {p.name: p for p in sorted(folder.glob("*.yaml"))}
    contents: dict[str, Any] = {}
    for i, change in enumerate(changes):
        where = f"{name}: changes[{i}]"
        file, start, fields, segments = _checked_change(change, where, files, base)
        if file not in contents:
            try:
                contents[file] = load_file(files[file], f"{base}/{file}")
            except YamlError as exc:  # pragma: no cover - the base region loads
                raise WhatIfError(str(exc)) from None
        parent, node = _dated_parameter(contents[file], segments, f"{where}.key: {base}/{file}")
        target = f"{base}/{file} {'.'.join(segments)}"
        note = f"{name} changes[{i}]"
        parent[segments[-1]] = _changed(
            node, start, change.get("when"), fields, note, where, target
        )
    return Change(title, _changed_policy(folder, base, contents, name))


def _changed(
    node: list[Any],
    start: date,
    when: Any,
    fields: dict[str, Any],
    note: str,
    where: str,
    target: str,
) -> list[Any]:
    """The dated parameter with the change: a new entry, or rows of a decision table
    (`when`, batch/whatif_rows.py). `target`: the policy file and key, for errors."""
    if when is None:
        if is_table(in_force(node, start)):
            raise WhatIfError(
                f"{where}: {target} is a decision table on {start.isoformat()}: "
                "name the rows to change with when: {...}"
            )
        return _apply(node, start, fields, note)
    if not isinstance(when, dict) or not when:
        raise WhatIfError(f"{where}.when: a mapping of conditions ({{level: 2, type: tcm}})")
    try:
        return apply_rows(node, start, when, fields, note)
    except RowError as exc:
        raise WhatIfError(f"{where}.when: {target} {exc}") from None


def _read_change_file(path: Path) -> tuple[str, list[Any]]:
    """The change file's title and its list of changes, as written."""
    name = path.name
    try:
        raw = load_file(path, name)
    except YamlError as exc:
        raise WhatIfError(str(exc)) from None
    if not isinstance(raw, dict):
        raise WhatIfError(f"{name}: the file must hold a mapping with `changes:`")
    unknown = sorted(map(str, raw.keys() - TOP_KEYS))
    if unknown:
        raise WhatIfError(f"{name}: unknown key {', '.join(unknown)} (expected title, changes)")
    changes = raw.get("changes")
    if not isinstance(changes, list) or not changes:
        raise WhatIfError(f"{name}: changes: a list of at least one change")
    title = raw.get("title", name)
    if not isinstance(title, str):
        raise WhatIfError(f"{name}: title: a text")
    return title, changes


def _checked_change(
    change: Any, where: str, files: dict[str, Path], base: str
) -> tuple[str, date, dict[str, Any], list[str]]:
    """One change's file, start date, new fields and key path, checked."""
    if not isinstance(change, dict):
        raise WhatIfError(f"{where}: a mapping with file, key, from and the new fields")
    missing = [k for k in ("file", "key", "from") if k not in change]
    if missing:
        raise WhatIfError(f"{where}: missing {', '.join(missing)}")
    file = change["file"]
    if isinstance(file, str) and not file.endswith(".yaml"):
        file = f"{file}.yaml"
    if not isinstance(file, str) or file not in files:
        raise WhatIfError(
            f"{where}.file: {change['file']!r} is not a file of {base} "
            f"(its files: {', '.join(files)})"
        )
    start = change["from"]
    if not isinstance(start, date):
        raise WhatIfError(f"{where}.from: {start!r} is not a date (write YYYY-MM-DD)")
    fields = {k: v for k, v in change.items() if k not in CHANGE_KEYS}
    if not fields:
        raise WhatIfError(f"{where}: no field of the new entry (value, brackets, ...)")
    bad = sorted(ENTRY_BOOKKEEPING & fields.keys())
    if bad:
        raise WhatIfError(f"{where}: {', '.join(bad)} cannot be changed (the change sets them)")
    return file, start, fields, _segments(change["key"], where)


def _dated_parameter(content: Any, segments: list[str], where: str) -> tuple[Any, Any]:
    """The dated parameter at the key path of a policy file, and the mapping holding it."""
    key = ".".join(segments)
    node: Any = content
    parent: Any = None
    for depth, segment in enumerate(segments):
        if not isinstance(node, dict) or segment not in node:
            here = ".".join(segments[:depth]) or "the top"
            known = ", ".join(map(str, node)) if isinstance(node, dict) else "none"
            raise WhatIfError(
                f"{where} has no {key!r} (no {segment!r} under {here}; keys there: {known})"
            )
        parent, node = node, node[segment]
    if not (
        isinstance(node, list)
        and node
        and all(isinstance(e, dict) and isinstance(e.get("from"), date) for e in node)
    ):
        raise WhatIfError(f"{where} {key} is not a dated parameter (a list of entries with from:)")
    return parent, node


def _changed_policy(folder: Path, base: str, contents: dict[str, Any], name: str) -> RegionPolicy:
    """The region's policy loaded from a copy of its folder with the changed files."""
    with tempfile.TemporaryDirectory() as tmp:
        changed = Path(tmp) / base
        shutil.copytree(folder, changed)
        for file, content in contents.items():
            (changed / file).write_text(
                yaml.safe_dump(_to_yaml(content), allow_unicode=True, sort_keys=False),
                encoding="utf-8",
            )
        try:
            return load_region_dir(changed)
        except PolicyError as exc:
            raise WhatIfError(f"{name}: the changed policy is not valid: {exc}") from None


# --- comparing two settled years ------------------------------------------------------


def person_years(data: RegionYear, result: BatchResult) -> pl.DataFrame:
    """Per person: scheme, age band on 31 December, and the year's layers in fen."""
    sums = result.encounters.group_by("person").agg(
        pl.col("basic", "assistance", "institution").sum()
    )
    age = data.year - pl.col("birth_date").dt.year()
    band = (
        pl.when(age <= 17)
        .then(pl.lit(AGE_BANDS[0]))
        .when(age <= 59)
        .then(pl.lit(AGE_BANDS[1]))
        .otherwise(pl.lit(AGE_BANDS[2]))
    )
    return (
        data.persons.select("person", "scheme", age.alias("age"), band.alias("age_band"))
        .join(sums, on="person", how="left")
        .join(result.persons.select("person", "serious_illness", "personal"), on="person")
        .with_columns(pl.col("basic", "assistance", "institution").fill_null(0))
        .sort("person")
    )


@dataclass(frozen=True)
class Comparison:
    """The differences (changed − base), in fen."""

    layers: pl.DataFrame  # layer, base, changed, difference
    by_scheme: pl.DataFrame  # scheme, persons, d_<layer>..., d_fund
    by_age: pl.DataFrame  # age_band, ...
    by_level: pl.DataFrame  # level, encounters, d_basic, d_assistance, d_institution, d_personal
    persons: pl.DataFrame  # per person: scheme, age, d_<layer>, personal_base, personal_changed
    most_affected: pl.DataFrame  # the 10 with the largest |d_personal|


def _deltas(
    base: pl.DataFrame, changed: pl.DataFrame, on: str, layers: Sequence[str]
) -> pl.DataFrame:
    joined = base.join(changed.select(on, *layers), on=on, suffix="_changed")
    return joined.with_columns((pl.col(f"{c}_changed") - pl.col(c)).alias(f"d_{c}") for c in layers)


def compare(data: RegionYear, base: BatchResult, changed: BatchResult) -> Comparison:
    a, b = person_years(data, base), person_years(data, changed)
    persons = _deltas(a, b, "person", LAYERS).with_columns(
        (pl.col("d_basic") + pl.col("d_assistance") + pl.col("d_serious_illness")).alias("d_fund")
    )
    persons = persons.select(
        "person",
        "scheme",
        "age",
        "age_band",
        *(f"d_{c}" for c in LAYERS),
        "d_fund",
        pl.col("personal").alias("personal_base"),
        pl.col("personal_changed"),
    )
    rows = []
    for layer in (*LAYERS, "fund"):
        if layer == "fund":
            x = int(
                a.select(pl.sum_horizontal("basic", "assistance", "serious_illness").sum()).item()
            )
            y = int(
                b.select(pl.sum_horizontal("basic", "assistance", "serious_illness").sum()).item()
            )
        else:
            x, y = int(a.get_column(layer).sum()), int(b.get_column(layer).sum())
        rows.append({"layer": layer, "base": x, "changed": y, "difference": y - x})
    layers = pl.DataFrame(
        rows,
        schema={"layer": pl.String, "base": pl.Int64, "changed": pl.Int64, "difference": pl.Int64},
    )
    d_cols = [f"d_{c}" for c in (*LAYERS, "fund")]

    def grouped(by: str) -> pl.DataFrame:
        return (
            persons.group_by(by)
            .agg(pl.len().alias("persons"), *(pl.col(c).sum() for c in d_cols))
            .sort(by)
        )

    enc_layers = ("basic", "assistance", "institution", "personal")
    levels = data.encounters.select("encounter", "level")
    ea = base.encounters.select("encounter", *enc_layers).join(levels, on="encounter")
    eb = changed.encounters.select("encounter", *enc_layers)
    by_level = (
        _deltas(ea, eb, "encounter", enc_layers)
        .group_by("level")
        .agg(pl.len().alias("encounters"), *(pl.col(f"d_{c}").sum() for c in enc_layers))
        .sort("level")
    )
    most = persons.sort(pl.col("d_personal").abs(), "person", descending=[True, False]).head(10)
    return Comparison(layers, grouped("scheme"), grouped("age_band"), by_level, persons, most)


# --- the chart ------------------------------------------------------------------------


def signed_yuan(fen: int) -> str:
    sign = "−" if fen < 0 else ("+" if fen > 0 else "")
    return f"{sign}{abs(Decimal(fen).scaleb(-2)):,.2f}"


def _panels(comparison: Comparison) -> list[tuple[str, list[tuple[str, int]]]]:
    """The chart's four panels: a heading and its bars (label, difference in fen)."""
    return [
        (
            "by layer (yuan)",
            [
                (LAYER_NAMES[r["layer"]], r["difference"])
                for r in comparison.layers.iter_rows(named=True)
            ],
        ),
        (
            "fund paid, by scheme",
            [(str(r["scheme"]), r["d_fund"]) for r in comparison.by_scheme.iter_rows(named=True)],
        ),
        (
            "fund paid, by age band on 31 December",
            [(str(r["age_band"]), r["d_fund"]) for r in comparison.by_age.iter_rows(named=True)],
        ),
        (
            "basic + assistance, by institution level (serious illness is yearly)",
            [
                (f"level {r['level']}", r["d_basic"] + r["d_assistance"])
                for r in comparison.by_level.iter_rows(named=True)
            ],
        ),
    ]


def chart_svg(comparison: Comparison, title: str) -> str:
    """A hand-written SVG: horizontal bars of the fund's difference in four panels."""
    panels = _panels(comparison)
    width, label_w, value_w, bar_h, gap = 860, 300, 130, 20, 6
    plot_w = width - label_w - value_w - 20
    largest = max([abs(v) for _, bars in panels for _, v in bars] + [1])
    zero = label_w + plot_w / 2
    y = 40
    parts: list[str] = [
        f'<text x="10" y="24" font-size="16" font-weight="bold">{escape(title)}: '
        "changed − base</text>"
    ]
    for heading, bars in panels:
        y += 14
        parts.append(
            f'<text x="10" y="{y + 4}" font-size="13" font-weight="bold">{escape(heading)}</text>'
        )
        y += 12
        top = y
        for label, value in bars:
            length = (plot_w / 2) * abs(value) / largest
            x = zero if value >= 0 else zero - length
            colour = "#c0392b" if value > 0 else "#2471a3"
            parts.append(
                f'<text x="{label_w - 8}" y="{y + 15}" font-size="12" '
                f'text-anchor="end">{escape(label)}</text>'
            )
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="{bar_h}" '
                f'fill="{colour}"><title>{escape(label)}: {signed_yuan(value)}</title></rect>'
            )
            parts.append(
                f'<text x="{label_w + plot_w + 10}" y="{y + 15}" font-size="12">'
                f"{signed_yuan(value)}</text>"
            )
            y += bar_h + gap
        parts.append(
            f'<line x1="{zero:.1f}" y1="{top - 2}" x2="{zero:.1f}" y2="{y - gap + 2}" '
            'stroke="#333" stroke-width="1"/>'
        )
        y += 10
    height = y + 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif">\n'
        f'<rect width="100%" height="100%" fill="white"/>\n' + "\n".join(parts) + "\n</svg>\n"
    )
