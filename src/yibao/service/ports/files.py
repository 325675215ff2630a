"""What the service layer is given read from files, as types it owns: a scenario (one
person's year of bills, and what policy must pay) and a national catalogue file (its
dated entries, and each row's problem). The file adapters (adapters/scenario_files.py,
adapters/catalogue_files.py) read and check the files and build these; the entrypoints
hand them to the service, which never opens a file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from yibao.domain.catalogue import Entry
from yibao.domain.model import Encounter, Person

# --- scenarios -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedEncounter:
    """What one encounter must come to; a field left None is not checked."""

    total: Decimal | None = None
    over_limit: Decimal | None = None
    full_self_pay: Decimal | None = None
    first_self_pay: Decimal | None = None
    eligible: Decimal | None = None
    basic: Decimal | None = None
    assistance: Decimal | None = None
    institution: Decimal | None = None
    personal: Decimal | None = None
    refused: bool | None = None


@dataclass(frozen=True)
class ExpectedYear:
    serious_illness: Decimal | None = None
    personal: Decimal | None = None


@dataclass(frozen=True)
class Expectations:
    """A scenario's `expect` block: by encounter id, and for the year."""

    encounters: dict[str, ExpectedEncounter] = field(default_factory=dict)
    year: ExpectedYear | None = None


@dataclass(frozen=True)
class Scenario:
    name: str  # where it was read from (errors and reports name it)
    region: str
    year: int
    person: Person
    encounters: tuple[Encounter, ...]
    expect: Expectations | None


# --- catalogue files -------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    row: int  # the file's line (the header is line 1)
    code: str
    field: str
    reason: str


@dataclass
class CatalogueFile:
    """A catalogue file read row by row: its entries (rows of one code and date merged
    into one dated entry), the rows each came from, and every row's problem."""

    catalogue: str  # drug | service | consumable
    source: str  # the file's name
    entries: list[Entry] = field(default_factory=list)
    rows_of: dict[tuple[str, date], list[int]] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)
    rows: int = 0
