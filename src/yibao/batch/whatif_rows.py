"""What-if changes to the rows of a decision table (docs/policies.md, "Decision tables").

A change with `when:` addresses rows of the table in force on its `from` day: every row
whose own `when` names each of the given conditions with the same values (it may name
more). The whole table is split at `from`: the rows in force end the day before (as
written, or by the new table's start), and from `from` on the table is repeated with the
fields given replacing those of the rows addressed; the other rows keep their values and
sources. Several changes of one key from the same day change the one new table.

Strict: a `when:` on a parameter that is not a table, a table changed without `when:`,
and a `when:` that addresses no row are errors naming the change file, the change, the
policy file, the key and the table's rows."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

ENTRY_BOOKKEEPING = {"from", "until", "source"}
VALUE_FIELDS = {"value", "by_level", "brackets"}  # each replaces the others


class RowError(ValueError):
    """A change that addresses rows that are not there (the caller adds where)."""


def _norm(value: Any) -> Any:
    """A condition's value as a set of texts (an `age` range as its own mapping)."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), str(v)) for k, v in value.items()))
    items = value if isinstance(value, list) else [value]
    return frozenset(str(v).lower() if isinstance(v, bool) else str(v) for v in items)


def _describe(when: Any) -> str:
    if not isinstance(when, dict):
        return "[no when]"
    return "[" + ", ".join(f"{k} {_show(v)}" for k, v in when.items()) + "]"


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "/".join(map(str, value))
    if isinstance(value, dict):
        return f"{value.get('from', '')}-{value.get('to', '')}"
    return str(value).lower() if isinstance(value, bool) else str(value)


def addresses(row: dict[str, Any], when: dict[str, Any]) -> bool:
    own = row.get("when")
    if not isinstance(own, dict):
        return False
    return all(k in own and _norm(own[k]) == _norm(v) for k, v in when.items())


def in_force(entries: list[Any], start: date) -> list[dict[str, Any]]:
    """The entries in force on `start` (one value, or every row of one table)."""
    begun = [e for e in entries if e["from"] <= start]
    if not begun:
        return []
    latest = max(e["from"] for e in begun)
    return [
        e for e in begun if e["from"] == latest and (e.get("until") is None or e["until"] >= start)
    ]


def is_table(entries: list[dict[str, Any]]) -> bool:
    return any("when" in e for e in entries)


def apply_rows(
    entries: list[Any], start: date, when: dict[str, Any], fields: dict[str, Any], note: str
) -> list[Any]:
    """The dated list with the table in force on `start` repeated from `start`, the rows
    `when` addresses with `fields` (see the module doc)."""
    table = in_force(entries, start)
    if not table:
        raise RowError(f"no value is in force on {start.isoformat()}")
    if not is_table(table):
        raise RowError(
            f"is not a decision table on {start.isoformat()} (no row has a when): leave out when"
        )
    hit = [row for row in table if addresses(row, when)]
    if not hit:
        rows = "; ".join(_describe(r.get("when")) for r in table)
        raise RowError(
            f"(from {table[0]['from'].isoformat()}) has no row {_describe(when)}: its rows are {rows}"
        )
    kept: list[Any] = []
    for entry in entries:
        if entry["from"] >= start:
            continue  # replaced by the new table (or this is it: rebuilt below)
        until = entry.get("until")
        if until is not None and until >= start:
            entry = {**entry, "until": start - timedelta(days=1)}
        kept.append(entry)
    new_rows = []
    for row in table:
        base = {k: v for k, v in row.items() if k not in ENTRY_BOOKKEEPING}
        if not any(row is h for h in hit):
            new_rows.append({"from": start, **base, "source": row.get("source", "")})
            continue
        if VALUE_FIELDS & fields.keys():
            base = {k: v for k, v in base.items() if k not in VALUE_FIELDS}
        new_rows.append({"from": start, **base, **fields, "source": f"[set] what-if: {note}"})
    return [*kept, *new_rows]
