"""The what-if run's report on the terminal: the layers under the base policy and the
change, and the difference by scheme, age band, institution level and person."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from yibao.batch.whatif import AGE_BANDS, LAYER_NAMES, LAYERS, Comparison, signed_yuan
from yibao.domain.money import fmt_yuan, from_fen


def print_report(console: Console, result: Comparison, heading: str) -> None:
    console.print(_layers(result, heading))
    for table in _breakdowns(result):
        console.print(table)
    console.print(_levels(result))
    console.print(_most_affected(result))


def _layers(result: Comparison, heading: str) -> Table:
    table = Table(title=heading)
    for column in ("layer", "base", "changed", "difference"):
        table.add_column(column, justify="right")
    for row in result.layers.iter_rows(named=True):
        table.add_row(
            LAYER_NAMES[row["layer"]],
            fmt_yuan(from_fen(row["base"])),
            fmt_yuan(from_fen(row["changed"])),
            signed_yuan(row["difference"]),
        )
    return table


def _breakdowns(result: Comparison) -> list[Table]:
    d_layers = [f"d_{c}" for c in LAYERS]
    tables = []
    for title, frame, key in (
        ("difference by scheme", result.by_scheme, "scheme"),
        ("difference by age band (age on 31 December)", result.by_age, "age_band"),
    ):
        table = Table(title=title)
        for column in (key.replace("_", " "), "persons", *(LAYER_NAMES[c] for c in LAYERS)):
            table.add_column(column, justify="right")
        rows = {r[key]: r for r in frame.iter_rows(named=True)}
        order = AGE_BANDS if key == "age_band" else sorted(rows)
        for name in order:
            if name in rows:
                r = rows[name]
                table.add_row(name, f"{r['persons']:,}", *(signed_yuan(r[c]) for c in d_layers))
        tables.append(table)
    return tables


def _levels(result: Comparison) -> Table:
    table = Table(
        title="difference by institution level (the bills' layers, before serious illness)"
    )
    for column in ("level", "encounters", "basic", "assistance", "institution (pilot)", "personal"):
        table.add_column(column, justify="right")
    for r in result.by_level.iter_rows(named=True):
        table.add_row(
            str(r["level"]),
            f"{r['encounters']:,}",
            *(signed_yuan(r[f"d_{c}"]) for c in ("basic", "assistance", "institution", "personal")),
        )
    return table


def _most_affected(result: Comparison) -> Table:
    table = Table(title="the 10 persons most affected (largest change of their personal payment)")
    for column in (
        "person",
        "scheme",
        "age",
        "basic",
        "assistance",
        "serious illness",
        "personal",
        "personal: base → changed",
    ):
        table.add_column(column, justify="right")
    for r in result.most_affected.iter_rows(named=True):
        table.add_row(
            str(r["person"]),
            r["scheme"],
            str(r["age"]),
            signed_yuan(r["d_basic"]),
            signed_yuan(r["d_assistance"]),
            signed_yuan(r["d_serious_illness"]),
            signed_yuan(r["d_personal"]),
            f"{fmt_yuan(from_fen(r['personal_base']))} → "
            f"{fmt_yuan(from_fen(r['personal_changed']))}",
        )
    return table
