"""Decision tables in policy files: the `when` of a dated value's rows, checked strictly.

A dated value may be written as several rows with the same `from`, each with a `when`
naming the bills it applies to:

    threshold:
      - {from: 2018-01-01, when: {level: 2, type: general}, per: stay, value: "500.00", source: …}
      - {from: 2018-01-01, when: {level: 2, type: tcm}, per: stay, value: "400.00", source: …}

An unknown condition or value is an error where it is written; when the region is
loaded, every combination of the conditions a table uses must meet exactly one row
(an overlap or a gap is an error naming the file, the key and the rows).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import date
from typing import Annotated, Any, Protocol

from pydantic import BeforeValidator, Field, model_validator

from yibao.adapters.validation import Strict, Whole
from yibao.domain.conditions import DOMAINS, MAX_AGE, CodeSpan, Conditions, table_problems


def _values(dim: str) -> Callable[[object], frozenset[str]]:
    def check(raw: object) -> frozenset[str]:
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            raise ValueError("give at least one value")
        out = set()
        for item in items:
            text = ("true" if item else "false") if isinstance(item, bool) else str(item)
            if dim in DOMAINS and text not in DOMAINS[dim]:
                raise ValueError(
                    f"{item!r} is not a {dim} this version knows (one of {', '.join(DOMAINS[dim])})"
                )
            out.add(text)
        return frozenset(out)

    return check


def _set(dim: str) -> Any:
    return BeforeValidator(_values(dim))


class AgeModel(Strict):
    low: Whole = Field(alias="from")
    high: Whole = Field(default=MAX_AGE, alias="to")

    @model_validator(mode="after")
    def _order(self) -> AgeModel:
        if self.high < self.low:
            raise ValueError(f"age to {self.high} is below age from {self.low}")
        return self


class WhenModel(Strict):
    """Conditions of one row; a key left out matches every bill."""

    scheme: Annotated[frozenset[str] | None, _set("scheme")] = None
    category: Annotated[frozenset[str] | None, _set("category")] = None
    age: AgeModel | None = None
    retired: Annotated[frozenset[str] | None, _set("retired")] = None
    level: Annotated[frozenset[str] | None, _set("level")] = None
    type: Annotated[frozenset[str] | None, _set("type")] = None
    province: Annotated[frozenset[str] | None, _set("province")] = None
    place: Annotated[frozenset[str] | None, _set("place")] = None
    kind: Annotated[frozenset[str] | None, _set("kind")] = None
    cause: Annotated[frozenset[str] | None, _set("cause")] = None
    delivery: Annotated[frozenset[str] | None, _set("delivery")] = None
    diagnosis: Annotated[frozenset[str] | None, _set("diagnosis")] = None

    def conditions(self) -> Conditions:
        sets = tuple(
            (dim, value)
            for dim in DOMAINS.keys() | {"diagnosis"}
            if (value := getattr(self, dim)) is not None
        )
        order = [*DOMAINS, "diagnosis"]
        sets = tuple(sorted(sets, key=lambda s: order.index(s[0])))
        age = (self.age.low, self.age.high) if self.age is not None else None
        return Conditions(sets, age)


class Row(Protocol):
    @property
    def start(self) -> date: ...
    @property
    def until(self) -> date | None: ...
    @property
    def when(self) -> WhenModel | None: ...


def check_rows(entries: Sequence[Row]) -> None:
    """Within a value's list: rows sharing a `from` form a table (each with a `when`, the
    same `until`); tables and plain values may not overlap in time."""
    ordered = sorted(entries, key=lambda e: e.start)
    tables: list[list[Row]] = []
    for entry in ordered:
        if tables and tables[-1][0].start == entry.start:
            tables[-1].append(entry)
        else:
            tables.append([entry])
    for rows in tables:
        if len(rows) > 1 and any(r.when is None for r in rows):
            raise ValueError(
                f"values from {rows[0].start} and from {rows[1].start} overlap "
                "(rows of a table each need their `when`)"
            )
        if len({r.until for r in rows}) > 1:
            raise ValueError(f"the rows from {rows[0].start} end on different days (`until`)")
    for a, b in itertools.pairwise(tables):
        end = a[0].until
        if end is not None and end >= b[0].start:
            raise ValueError(f"values from {a[0].start} and from {b[0].start} overlap")


def table_errors(
    file: str, key: str, entries: Sequence[Row], groups: Sequence[str], partial: bool = False
) -> list[str]:
    """Every table of a value checked for overlaps, gaps and unknown diagnosis groups.
    A partial table (fixed sums, cause caps: the rows name the bills the rule is for)
    may leave gaps."""
    errors: list[str] = []
    starts = sorted({e.start for e in entries if e.when is not None})
    for start in starts:
        rows = [e for e in entries if e.start == start]
        named = []
        for row in rows:
            assert row.when is not None  # check_rows: every row of a table has one
            cond = row.when.conditions()
            unknown = sorted((row.when.diagnosis or frozenset()) - {*groups, "other"})
            if unknown:
                errors.append(
                    f"{file}: {key} (from {start}): diagnosis group {', '.join(unknown)} is not "
                    f"one of the region's ({', '.join([*groups, 'other'])})"
                )
            named.append((f"[{cond.describe() or 'every bill'}]", cond))
        errors.extend(
            f"{file}: {key} (from {start}): {problem}"
            for problem in table_problems(named, groups, gaps=not partial)
        )
    return errors


def code_spans(raw: Sequence[str]) -> tuple[CodeSpan, ...]:
    return tuple(CodeSpan.parse(text) for text in raw)
