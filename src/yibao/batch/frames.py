"""A region-year as two frames (persons, encounters), and the way back to the domain model.

The frames carry exactly what the scalar engine reads, nothing more, in the domain
model's vocabulary (`Scheme`, `Kind`, `LineClass`, `Hospital`, `Approval`, `Filing`):

- persons: one row per insured person; approvals and filings as lists of structs.
- encounters: one row per bill, its plain lines summed by catalogue class in fen (the
  engine only ever reads the sum of each class), its catalogue items (a cap, a ratio of
  their own, a restriction: reference §1a) as a list of `ITEM` structs, `seq` the order
  given within the person (the tie-break of `order_of_settlement` for bills of the same
  date).

`to_scalar` turns the frames into the scalar engine's inputs exactly; `from_domain`
does the reverse (scenario files and Hypothesis draws are written as domain objects).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from yibao.domain.model import (
    Approval,
    CategorySpan,
    Encounter,
    Filing,
    Hospital,
    Kind,
    Line,
    LineClass,
    Person,
    Scheme,
)
from yibao.domain.money import from_fen, to_fen

APPROVAL = pl.Struct(
    {"disease": pl.String, "hospital": pl.String, "valid_from": pl.Date, "valid_to": pl.Date}
)
FILING = pl.Struct({"region": pl.String, "valid_from": pl.Date, "valid_to": pl.Date})

PERSONS_SCHEMA: dict[str, pl.DataType] = {
    "person": pl.Int64(),
    "region": pl.String(),
    "scheme": pl.String(),
    "birth_date": pl.Date(),
    "retired": pl.Boolean(),
    "contribution_years": pl.Int32(),
    "assistance": pl.Boolean(),
    "approvals": pl.List(APPROVAL),
    "filings": pl.List(FILING),
}

# Line amounts by catalogue class, in fen: the column of each `LineClass`.
CLASS_COLUMNS: dict[LineClass, str] = {
    LineClass.A: "class_a",
    LineClass.B: "class_b",
    LineClass.SELF_PAY: "class_self_pay",
}

# A catalogue item (reference §1a) as exact integers: quantity in 10**-3, unit price and
# cap in 10**-4 yuan, ratio in 10**-4 (null: the region's default for the class).
QUANTITY_SCALE, PRICE_SCALE, RATIO_SCALE = 1000, 10_000, 10_000
ITEM = pl.Struct(
    {
        "cls": pl.String,
        "quantity": pl.Int64,
        "unit_price": pl.Int64,
        "cap": pl.Int64,
        "ratio": pl.Int64,
        "outside": pl.Boolean,
    }
)

ENCOUNTERS_SCHEMA: dict[str, pl.DataType] = {
    "encounter": pl.Int64(),
    "person": pl.Int64(),
    "seq": pl.Int32(),
    "date": pl.Date(),
    "kind": pl.String(),
    "hospital": pl.String(),
    "level": pl.Int8(),
    "designated": pl.Boolean(),
    "hospital_region": pl.String(),
    "pilot": pl.Boolean(),
    "diagnosis": pl.String(),
    "disease": pl.String(),
    "referral": pl.Boolean(),
    "prescription": pl.Boolean(),
    "class_a": pl.Int64(),
    "class_b": pl.Int64(),
    "class_self_pay": pl.Int64(),
    "items": pl.List(ITEM),  # catalogue items; plain lines are in the class columns
}
# Columns that files written before they existed may lack, and what they then hold.
OPTIONAL: dict[str, pl.Expr] = {"items": pl.lit([], dtype=pl.List(ITEM))}

# The facts of real regions' rules (docs/policies.md, decision tables and rule kinds): a
# frame made by `from_domain` carries them; one without them holds the defaults (general
# category and hospital, the same province, an ordinary cause, no delivery or referral).
CATEGORY = pl.Struct({"category": pl.String, "valid_from": pl.Date, "valid_to": pl.Date})
EXTRA_PERSONS: dict[str, pl.DataType] = {"categories": pl.List(CATEGORY)}
EXTRA_ENCOUNTERS: dict[str, pl.DataType] = {
    "hospital_type": pl.String(),
    "province": pl.String(),
    "cause": pl.String(),
    "delivery": pl.String(),
    "referred_from": pl.Int64(),  # the encounter key of the stay it was referred from
}

PERSONS_FILE = "persons.parquet"
ENCOUNTERS_FILE = "encounters.parquet"


@dataclass(frozen=True)
class RegionYear:
    """One pooling region's year: its persons and their bills."""

    region: str
    year: int
    persons: pl.DataFrame
    encounters: pl.DataFrame

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.persons.write_parquet(folder / PERSONS_FILE)
        self.encounters.write_parquet(folder / ENCOUNTERS_FILE)


def read_region_year(folder: Path) -> RegionYear:
    """Read the two Parquet files back; the region and year come from the data itself.

    A frame may come in several files, `persons-*.parquet` and `encounters-*.parquet`
    (a partition written chunk by chunk, `province.generate_partitioned`)."""
    persons = conform(_read(folder, PERSONS_FILE), PERSONS_SCHEMA, "persons", EXTRA_PERSONS)
    encounters = conform(
        _read(folder, ENCOUNTERS_FILE), ENCOUNTERS_SCHEMA, "encounters", EXTRA_ENCOUNTERS
    )
    regions = persons.get_column("region").unique().to_list()
    if len(regions) != 1:
        raise ValueError(f"{folder}: persons of {len(regions)} regions; one region-year per folder")
    years = encounters.get_column("date").dt.year().unique().to_list()
    if len(years) > 1:
        raise ValueError(f"{folder}: encounters of several years {sorted(years)}")
    year = int(years[0]) if years else 0
    return RegionYear(str(regions[0]), year, persons, encounters)


def _read(folder: Path, name: str) -> pl.DataFrame:
    return pl.concat([pl.read_parquet(p) for p in frame_files(folder, name)], rechunk=True)


def frame_files(folder: Path, name: str) -> list[Path]:
    """`name` in `folder`, or its pieces `STEM-*.parquet` in the order of their names."""
    whole = folder / name
    if whole.exists():
        return [whole]
    stem = name.removesuffix(".parquet")
    pieces = sorted(folder.glob(f"{stem}-*.parquet"))
    if not pieces:
        raise FileNotFoundError(f"{whole} (nor {stem}-*.parquet)")
    return pieces


def conform(
    frame: pl.DataFrame,
    schema: dict[str, pl.DataType],
    what: str,
    extra: dict[str, pl.DataType] | None = None,
) -> pl.DataFrame:
    """The columns of the schema, in its order and types; a missing column is an error.
    The `extra` columns (the facts of issue 14's rules) are kept where the file has them:
    dropped, a region-year's categories, types and referral links would be lost between
    `write` and `batch settle` or `batch load`."""
    frame = frame.with_columns(
        expr.alias(name)
        for name, expr in OPTIONAL.items()
        if name in schema and name not in frame.columns
    )
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {', '.join(missing)}")
    kept = {name: dtype for name, dtype in (extra or {}).items() if name in frame.columns}
    return frame.select(pl.col(name).cast(dtype) for name, dtype in (schema | kept).items())


# --- domain objects to frames and back ----------------------------------------------------


@dataclass(frozen=True)
class Keys:
    """How the frames' integer keys map to the domain objects' ids."""

    persons: dict[int, str]  # person key -> Person.id
    encounters: dict[int, tuple[str, str]]  # encounter key -> (Person.id, Encounter.id)


def from_domain(
    region: str, year: int, people: Sequence[tuple[Person, Sequence[Encounter]]]
) -> tuple[RegionYear, Keys]:
    """Frames for persons and their bills (in the order given), and the keys used."""
    person_rows: list[dict[str, Any]] = []
    encounter_rows: list[dict[str, Any]] = []
    person_keys: dict[int, str] = {}
    encounter_keys: dict[int, tuple[str, str]] = {}
    for p_key, (person, bills) in enumerate(people):
        if person.region != region:
            raise ValueError(f"person {person.id} is of {person.region}, not {region}")
        person_keys[p_key] = person.id
        person_rows.append(_person_row(p_key, person))
        own: dict[str, int] = {}  # the person's encounter ids: a referral names one
        for seq, enc in enumerate(bills):
            e_key = len(encounter_rows)
            encounter_keys[e_key] = (person.id, enc.id)
            own[enc.id] = e_key
            row = _encounter_row(e_key, p_key, seq, person, enc)
            row.update(
                hospital_type=enc.hospital.type,
                province=enc.hospital.province,
                cause=enc.cause,
                delivery=enc.delivery,
                referred_from=own.get(enc.referred_from or ""),
            )
            encounter_rows.append(row)
    persons = pl.DataFrame(person_rows, schema=PERSONS_SCHEMA | EXTRA_PERSONS)
    encounters = pl.DataFrame(encounter_rows, schema=ENCOUNTERS_SCHEMA | EXTRA_ENCOUNTERS)
    return RegionYear(region, year, persons, encounters), Keys(person_keys, encounter_keys)


def _person_row(p_key: int, person: Person) -> dict[str, Any]:
    return {
        "person": p_key,
        "region": person.region,
        "scheme": person.scheme.value,
        "birth_date": person.birth_date,
        "retired": person.retired,
        "contribution_years": person.contribution_years,
        "assistance": person.assistance,
        "approvals": [
            {
                "disease": a.disease,
                "hospital": a.hospital,
                "valid_from": a.valid_from,
                "valid_to": a.valid_to,
            }
            for a in person.approvals
        ],
        "filings": [
            {"region": f.region, "valid_from": f.valid_from, "valid_to": f.valid_to}
            for f in person.filings
        ],
        "categories": [
            {"category": c.category, "valid_from": c.valid_from, "valid_to": c.valid_to}
            for c in person.categories
        ],
    }


def _encounter_row(
    e_key: int, p_key: int, seq: int, person: Person, enc: Encounter
) -> dict[str, Any]:
    """A bill's row: its class lines summed by class, its itemised lines as items."""
    by_class = dict.fromkeys(LineClass, 0)
    items = []
    for line in enc.lines:
        if line.itemised:
            items.append(_item(line))
        else:
            by_class[line.cls] += to_fen(line.amount)
    return {
        "encounter": e_key,
        "person": p_key,
        "seq": seq,
        "date": enc.date,
        "kind": enc.kind.value,
        "hospital": enc.hospital.id,
        "level": enc.hospital.level,
        "designated": enc.hospital.designated,
        "hospital_region": enc.hospital.region or person.region,
        "pilot": enc.hospital.pilot,
        "diagnosis": enc.diagnosis,
        "disease": enc.disease,
        "referral": enc.referral,
        "prescription": enc.prescription,
        **{CLASS_COLUMNS[cls]: fen for cls, fen in by_class.items()},
        "items": items,
    }


def _scaled(value: Decimal, scale: int, what: str) -> int:
    scaled = value * scale
    if scaled != scaled.to_integral_value():
        raise ValueError(f"an item's {what} {value} is finer than 1/{scale}")
    return int(scaled)


def _item(line: Line) -> dict[str, Any]:
    """An itemised line as an `ITEM`; an amount with catalogue facts is 1 × the amount."""
    quantity = line.quantity if line.quantity is not None else Decimal(1)
    price = line.unit_price if line.unit_price is not None else line.amount
    return {
        "cls": line.cls.value,
        "quantity": _scaled(quantity, QUANTITY_SCALE, "quantity"),
        "unit_price": _scaled(price, PRICE_SCALE, "unit price"),
        "cap": None if line.cap is None else _scaled(line.cap, PRICE_SCALE, "cap"),
        "ratio": None if line.ratio is None else _scaled(line.ratio, RATIO_SCALE, "ratio"),
        "outside": line.outside_restriction,
    }


def _from_item(item: dict[str, Any]) -> Line:
    cap, ratio = item["cap"], item["ratio"]
    return Line.item(
        LineClass(item["cls"]),
        Decimal(item["quantity"]).scaleb(-3),
        Decimal(item["unit_price"]).scaleb(-4),
        cap=None if cap is None else Decimal(cap).scaleb(-4),
        ratio=None if ratio is None else Decimal(ratio).scaleb(-4),
        outside_restriction=bool(item["outside"]),
    )


def _lines(row: dict[str, Any]) -> tuple[Line, ...]:
    lines = tuple(
        Line(cls, from_fen(int(row[column])))
        for cls, column in CLASS_COLUMNS.items()
        if row[column] != 0
    ) + tuple(_from_item(item) for item in row.get("items") or ())
    return lines or (Line(LineClass.A, Decimal("0.00")),)


def _day(value: object) -> date | None:
    return value if isinstance(value, date) else None


def to_scalar(data: RegionYear) -> list[tuple[Person, list[Encounter]]]:
    """The scalar engine's inputs for every person (in key order), bills in `seq` order.

    A person's id is the key as text ("17"), an encounter's its key as text: the results
    of `settle_year` can be matched to the columnar engine's by those keys.
    """
    bills: dict[int, list[Encounter]] = {}
    for row in data.encounters.sort("person", "seq").iter_rows(named=True):
        region = row["hospital_region"]
        bills.setdefault(int(row["person"]), []).append(
            Encounter(
                id=str(row["encounter"]),
                date=row["date"],
                kind=Kind(row["kind"]),
                hospital=Hospital(
                    id=row["hospital"],
                    level=int(row["level"]),
                    designated=bool(row["designated"]),
                    region=region,
                    pilot=bool(row["pilot"]),
                    type=row.get("hospital_type") or "general",
                    province=row.get("province") or "same",
                ),
                lines=_lines(row),
                diagnosis=row["diagnosis"],
                disease=row["disease"],
                referral=bool(row["referral"]),
                prescription=bool(row["prescription"]),
                cause=row.get("cause") or "ordinary",
                delivery=row.get("delivery"),
                referred_from=None
                if row.get("referred_from") is None
                else str(row["referred_from"]),
            )
        )
    out: list[tuple[Person, list[Encounter]]] = []
    for row in data.persons.sort("person").iter_rows(named=True):
        key = int(row["person"])
        person = Person(
            id=str(key),
            birth_date=row["birth_date"],
            scheme=Scheme(row["scheme"]),
            region=row["region"],
            retired=bool(row["retired"]),
            contribution_years=row["contribution_years"],
            assistance=bool(row["assistance"]),
            approvals=tuple(
                Approval(a["disease"], a["hospital"], _day(a["valid_from"]), _day(a["valid_to"]))
                for a in row["approvals"] or ()
            ),
            filings=tuple(
                Filing(f["region"], f["valid_from"], f["valid_to"]) for f in row["filings"] or ()
            ),
            categories=tuple(
                CategorySpan(c["category"], _day(c["valid_from"]), _day(c["valid_to"]))
                for c in row.get("categories") or ()
            ),
        )
        out.append((person, bills.get(key, [])))
    return out
