"""Decision tables: a parameter's value that depends on facts about a bill.

A dated value may be split into rows, each with its `when` conditions on the person
(scheme, category, age, retired), the institution (level, type, province), the place
class of the treatment, and the encounter (kind, cause, delivery, diagnosis group).
Exactly one row applies to any bill: the loader checks every combination of the
conditions a table uses (`table_problems`), so an overlap or a gap is found when the
region is loaded, not when a bill meets it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import NamedTuple

# The condition keys and the values each may take (besides `age`, a range of years, and
# `diagnosis`, the region's diagnosis groups and "other").
DOMAINS: Mapping[str, tuple[str, ...]] = {
    "scheme": ("student", "resident", "employee"),
    "category": ("general", "low_income", "special_hardship", "poverty_registered"),
    "retired": ("false", "true"),
    "level": ("0", "1", "2", "3"),
    "type": ("general", "tcm"),
    "province": ("same", "other"),
    "place": ("local", "filed", "referred", "emergency", "unfiled"),
    "kind": ("outpatient", "emergency", "inpatient", "special_outpatient", "pharmacy"),
    "cause": ("ordinary", "accident"),
    "delivery": ("none", "natural", "caesarean"),
}
DIMENSIONS = (*DOMAINS, "age", "diagnosis")
OTHER_DIAGNOSIS = "other"
MAX_AGE = 150
CATEGORIES = DOMAINS["category"]


class Facts(NamedTuple):
    """What is known about a bill (or, for the yearly layer, a person's year), as the
    values the conditions name. A fact left None matches no condition on it.

    A named tuple, not a frozen dataclass: every bill makes one, and a tuple of its
    twelve values (engine/facts.py makes it with tuple.__new__) costs a fifth of a
    frozen dataclass's constructor. Immutable, equal and hashed by its values alike."""

    scheme: str | None = None
    category: str | None = None
    age: int | None = None
    retired: str | None = None
    level: str | None = None
    type: str | None = None
    province: str | None = None
    place: str | None = None
    kind: str | None = None
    cause: str | None = None
    delivery: str | None = None
    diagnosis: str | None = None

    def get(self, dim: str) -> str | int | None:
        value: str | int | None = getattr(self, dim)
        return value

    def describe(self, dims: Sequence[str]) -> str:
        return ", ".join(f"{d} {self.get(d)}" for d in dims if self.get(d) is not None)


@dataclass(frozen=True)
class Conditions:
    """One row's conditions: for each key named, the values it matches (`age`: an
    inclusive range of completed years)."""

    sets: tuple[tuple[str, frozenset[str]], ...] = ()
    age: tuple[int, int] | None = None

    @property
    def dims(self) -> tuple[str, ...]:
        named = tuple(d for d, _ in self.sets)
        return (*named, "age") if self.age is not None else named

    def matches(self, facts: Facts) -> bool:
        for dim, allowed in self.sets:
            value = facts.get(dim)
            if value is None or str(value) not in allowed:
                return False
        if self.age is not None:
            age = facts.age
            if age is None or not self.age[0] <= age <= self.age[1]:
                return False
        return True

    def _matches_combo(self, combo: Mapping[str, str | int]) -> bool:
        for dim, allowed in self.sets:
            if str(combo[dim]) not in allowed:
                return False
        if self.age is not None:
            age = combo["age"]
            assert isinstance(age, int)
            return self.age[0] <= age <= self.age[1]
        return True

    def describe(self) -> str:
        parts = [f"{dim} {' or '.join(_ordered(dim, values))}" for dim, values in self.sets]
        if self.age is not None:
            parts.append(f"age {self.age[0]}–{self.age[1]}")
        return ", ".join(parts)


def _ordered(dim: str, values: frozenset[str]) -> list[str]:
    domain = DOMAINS.get(dim, ())
    return sorted(values, key=lambda v: (domain.index(v) if v in domain else len(domain), v))


def _age_points(rows: Sequence[Conditions]) -> list[int]:
    """One age from each stretch of ages in which no row's range starts or ends."""
    points = {0}
    for row in rows:
        if row.age is not None:
            points.update((row.age[0], row.age[1] + 1))
    return sorted(p for p in points if p <= MAX_AGE)


def _combos(rows: Sequence[Conditions], groups: Sequence[str]) -> Iterator[dict[str, str | int]]:
    dims = [d for d in DIMENSIONS if any(d in row.dims for row in rows)]
    domains: list[Sequence[str | int]] = []
    for dim in dims:
        if dim == "age":
            domains.append(_age_points(rows))
        elif dim == "diagnosis":
            domains.append([*groups, OTHER_DIAGNOSIS])
        else:
            domains.append(DOMAINS[dim])
    for values in product(*domains):
        yield dict(zip(dims, values, strict=True))


def _show(combo: Mapping[str, str | int]) -> str:
    return ", ".join(f"{d} {v}" for d, v in combo.items()) or "every bill"


def table_problems(
    rows: Sequence[tuple[str, Conditions]],
    groups: Sequence[str],
    limit: int = 3,
    gaps: bool = True,
) -> list[str]:
    """Overlaps and gaps of one table (the rows of a dated value with the same `from`).

    `rows`: each row's name as written (for example `inpatient.threshold[2]`) and its
    conditions. Gives up to `limit` problems, each naming the rows and the facts.
    """
    found: list[str] = []
    for combo in _combos([c for _, c in rows], groups):
        hits = [name for name, cond in rows if cond._matches_combo(combo)]
        if len(hits) > 1:
            found.append(f"rows {' and '.join(hits)} overlap (both apply to {_show(combo)})")
        elif not hits and gaps:
            found.append(f"no row applies to {_show(combo)} (a gap)")
        if len(found) >= limit:
            break
    return found


# --- diagnosis groups ---------------------------------------------------------------


@dataclass(frozen=True)
class CodeSpan:
    """ICD-10 codes: one code or category (`C91`, `C91.0`: it and every code below it), or
    a range of them (`C00-C97`: from the first to the last, each with the codes below)."""

    low: str
    high: str

    @classmethod
    def parse(cls, text: str) -> CodeSpan:
        low, _, high = text.strip().upper().partition("-")
        return cls(low, high or low)

    def covers(self, code: str) -> bool:
        code = code.strip().upper()
        return self.low <= code[: len(self.low)] and code[: len(self.high)] <= self.high

    def meets(self, other: CodeSpan) -> bool:
        end, other_end = self.high + "\uffff", other.high + "\uffff"
        return self.low <= other_end and other.low <= end

    def __str__(self) -> str:
        return self.low if self.low == self.high else f"{self.low}-{self.high}"


def diagnosis_group(groups: Mapping[str, Sequence[CodeSpan]], code: str | None) -> str:
    """The group a diagnosis falls in (the loader keeps groups apart), else "other"."""
    if code:
        for name, spans in groups.items():
            if any(span.covers(code) for span in spans):
                return name
    return OTHER_DIAGNOSIS


def group_overlaps(groups: Mapping[str, Sequence[CodeSpan]]) -> list[str]:
    """Pairs of groups that share a code: a diagnosis must fall in one group at most."""
    found = []
    names = list(groups)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for x in groups[a]:
                for y in groups[b]:
                    if x.meets(y):
                        found.append(f"groups {a} ({x}) and {b} ({y}) share codes")
    return found
