"""What the fake database holds: one dictionary a table, keyed as the table is."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Column, Table

from yibao.domain.accumulators import YearAccumulators
from yibao.domain.catalogue import Entry
from yibao.domain.model import CategorySpan
from yibao.domain.registry import (
    Card,
    CatalogueItem,
    Enrolment,
    Institution,
    PersonRecord,
)
from yibao.service.ports.records import DuplicateError


@dataclass
class Tables:
    regions: dict[str, SimpleNamespace] = field(default_factory=dict)
    institutions: dict[str, Institution] = field(default_factory=dict)
    catalogue_items: dict[tuple[str, str], CatalogueItem] = field(default_factory=dict)
    catalogue_entries: dict[tuple[str, str], list[Entry]] = field(default_factory=dict)
    mappings: list[SimpleNamespace] = field(default_factory=list)
    persons: dict[str, PersonRecord] = field(default_factory=dict)
    enrolments: dict[tuple[str, int], Enrolment] = field(default_factory=dict)
    cards: dict[str, Card] = field(default_factory=dict)
    guardians: set[tuple[str, str]] = field(default_factory=set)  # (child, guardian)
    # Approvals, filings and referrals: rows (new_row), written by the registry and the
    # certificates store alike, as both write the same tables on a database.
    approvals: dict[int, SimpleNamespace] = field(default_factory=dict)
    filings: dict[int, SimpleNamespace] = field(default_factory=dict)
    categories: list[tuple[str, CategorySpan]] = field(default_factory=list)
    referrals: dict[int, SimpleNamespace] = field(default_factory=dict)
    person_years: dict[tuple[str, int], tuple[YearAccumulators, int]] = field(default_factory=dict)
    settlements: dict[int, SimpleNamespace] = field(default_factory=dict)
    settlement_lines: dict[int, list[SimpleNamespace]] = field(default_factory=dict)
    fund_ledger: list[SimpleNamespace] = field(default_factory=list)
    claims: dict[int, SimpleNamespace] = field(default_factory=dict)
    region_ledger: list[SimpleNamespace] = field(default_factory=list)  # between regions
    clearings: dict[int, SimpleNamespace] = field(default_factory=dict)
    answers: dict[tuple[str, str], tuple[str, int, str]] = field(default_factory=dict)
    pilot_hospitals: dict[tuple[str, int, str], SimpleNamespace] = field(default_factory=dict)
    pilot_registrations: dict[int, SimpleNamespace] = field(default_factory=dict)
    audit_log: list[SimpleNamespace] = field(default_factory=list)
    # Rows keyed by their primary key, built by new_row() with every column of the table.
    reversals: dict[int, SimpleNamespace] = field(default_factory=dict)
    adjustments: dict[int, SimpleNamespace] = field(default_factory=dict)
    serious_illness: dict[tuple[str, int], SimpleNamespace] = field(default_factory=dict)
    accounts: dict[str, SimpleNamespace] = field(default_factory=dict)
    api_tokens: dict[str, SimpleNamespace] = field(default_factory=dict)
    schools: dict[str, SimpleNamespace] = field(default_factory=dict)
    school_batches: dict[int, SimpleNamespace] = field(default_factory=dict)
    school_rows: dict[tuple[int, int], SimpleNamespace] = field(default_factory=dict)
    notice_marks: dict[str, int] = field(default_factory=dict)  # account -> seen audit id
    family_links: dict[int, SimpleNamespace] = field(default_factory=dict)
    collection_accounts: dict[str, SimpleNamespace] = field(default_factory=dict)
    bank_imports: dict[int, SimpleNamespace] = field(default_factory=dict)
    bank_lines: dict[tuple[int, int], SimpleNamespace] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)

    def copy(self) -> Tables:
        """The tables a transaction works on: new containers, the same rows (rows are
        frozen values, or namespaces the fakes never change in place)."""
        copied: dict[str, Any] = {}
        for name, value in vars(self).items():
            if isinstance(value, dict) and any(isinstance(v, list) for v in value.values()):
                copied[name] = {k: list(v) for k, v in value.items()}
            else:
                copied[name] = copy.copy(value)
        return Tables(**copied)

    def next_id(self, table: str) -> int:
        """The next id of a table, from 1, as a new database's sequences give them."""
        self.sequences[table] = self.sequences.get(table, 0) + 1
        return self.sequences[table]


def new_row(table: Table, values: Mapping[str, Any]) -> SimpleNamespace:
    """A row as the database gives it back: every column of the table, in its order, those
    not given at the table's default. A name that is not a column is refused, as the
    database refuses it."""
    unknown = set(values) - set(table.c.keys())
    if unknown:
        raise ValueError(f"{table.name} has no column {sorted(unknown)}")
    return SimpleNamespace(
        **{c.name: values[c.name] if c.name in values else _default(c) for c in table.columns}
    )


def add_row(tables: Tables, name: str, table: Table, values: Mapping[str, Any]) -> int:
    """A row with the next id of its table, put in the fake table of that name; its id."""
    row_id = tables.next_id(name)
    rows: dict[int, SimpleNamespace] = getattr(tables, name)
    rows[row_id] = new_row(table, {**values, "id": row_id})
    return row_id


def rows_of(rows: dict[int, SimpleNamespace], person_id: str) -> list[SimpleNamespace]:
    """A person's rows of a table keyed by id, in id order."""
    return [rows[i] for i in sorted(rows) if rows[i].person_id == person_id]


def changed(row: SimpleNamespace, **values: Any) -> SimpleNamespace:
    """A new row with these values: rows are never changed in place (the committed tables
    share them with a unit of work's copy)."""
    return SimpleNamespace(**{**vars(row), **values})


def _default(column: Column[Any]) -> Any:
    default = column.server_default
    if default is None:
        return None
    text = str(getattr(default, "arg", ""))
    kind = column.type.python_type
    if kind is bool:
        return {"0": False, "1": True}.get(text, text)
    return int(text) if kind is int else text


def insert(table: dict[Any, Any], key: Any, value: Any, what: str) -> None:
    """Add a row under a unique key; DuplicateError when the key is taken."""
    if key in table:
        raise DuplicateError(f"{what} {key!r} exists")
    table[key] = value
