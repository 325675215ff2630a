"""Frames to rows for the batch load: settlement lines, resident ID numbers, names and
card numbers made as Polars expressions, and the persons' sequence numbers."""

from __future__ import annotations

from datetime import date

import polars as pl

from yibao.batch.cluster import GOLDEN
from yibao.batch.frames import CLASS_COLUMNS
from yibao.batch.load_common import LoadError
from yibao.batch.solver import round_half_up
from yibao.domain.ids import CHECK, WEIGHTS
from yibao.service.demo import _GIVEN, _SURNAME_CUM, _SURNAME_LIST


def between(frame: pl.DataFrame, lo: int, hi: int) -> pl.DataFrame:
    """The rows of persons lo..hi of a frame sorted by `person`."""
    column = frame.get_column("person")
    start = int(column.search_sorted(lo, side="left"))
    stop = int(column.search_sorted(hi, side="right"))
    return frame.slice(start, stop - start)


def line_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """The lines as `to_scalar` gives them to the engine: one per catalogue class with an
    amount (a bill of nothing: one class-A line of 0), then the bill's catalogue items
    (exact quantity, unit price, cap and ratio as text); each with its parts as the
    scalar engine settled it. The code is unknown."""
    classes = list(CLASS_COLUMNS.items())
    nothing = pl.sum_horizontal([pl.col(c) for _, c in classes]) == 0
    nothing = nothing & (pl.col("items").list.len() == 0)
    parts = [
        rows.select(
            pl.col("settlement_id"),
            pl.lit(i, dtype=pl.Int8).alias("_c"),
            pl.lit(cls.value).alias("cls"),
            pl.lit("1").alias("quantity"),
            pl.col(column).alias("unit_price_fen"),
            pl.col(column).alias("amount_fen"),
            pl.lit(None, dtype=pl.String).alias("unit_price"),
            pl.lit(None, dtype=pl.String).alias("cap"),
            pl.lit(None, dtype=pl.String).alias("ratio"),
            pl.lit(False).alias("restricted"),
            ((pl.col(column) != 0) | (nothing if i == 0 else pl.lit(False))).alias("_keep"),
        )
        for i, (cls, column) in enumerate(classes)
    ]
    items = _item_lines(rows, len(classes))
    if items is not None:
        parts.append(items)
    lines = pl.concat(parts).filter("_keep").sort("settlement_id", "_c", maintain_order=True)
    lines = lines.with_columns(
        (pl.int_range(pl.len()).over("settlement_id") + 1).cast(pl.Int16).alias("line_no")
    )
    settled = (
        rows.select("settlement_id", "line_parts")
        .explode("line_parts")
        .with_columns(
            (pl.int_range(pl.len()).over("settlement_id") + 1).cast(pl.Int16).alias("line_no")
        )
        .unnest("line_parts")
    )
    return lines.join(settled, on=["settlement_id", "line_no"], how="left").select(
        "settlement_id",
        "line_no",
        pl.lit(None, dtype=pl.String).alias("code"),
        pl.lit(None, dtype=pl.String).alias("name"),
        "cls",
        "quantity",
        "unit_price_fen",
        "amount_fen",
        "unit_price",
        "cap",
        "ratio",
        "restricted",
        "over_limit_fen",
        "full_self_pay_fen",
        "first_self_pay",
        "eligible",
    )


def _item_lines(rows: pl.DataFrame, order: int) -> pl.DataFrame | None:
    """The bills' catalogue items as lines (`frames.ITEM`'s integers as exact text)."""
    items = rows.select("settlement_id", "items").explode("items").drop_nulls("items")
    if not items.height:
        return None
    q, price = pl.col("quantity"), pl.col("unit_price")
    return items.unnest("items").select(
        "settlement_id",
        pl.lit(order, dtype=pl.Int8).alias("_c"),
        "cls",
        _exact(q, 3).alias("quantity"),
        round_half_up(price, 100).alias("unit_price_fen"),
        round_half_up(q * price, 100_000).alias("amount_fen"),
        _exact(price, 4).alias("unit_price"),
        _exact(pl.col("cap"), 4).alias("cap"),
        _exact(pl.col("ratio"), 4).alias("ratio"),
        pl.col("outside").alias("restricted"),
        pl.lit(True).alias("_keep"),
    )


def _exact(scaled: pl.Expr, places: int) -> pl.Expr:
    """A non-negative integer in 10**-places as exact decimal text ("1.500")."""
    unit = 10**places
    text = pl.format(
        "{}.{}",
        (scaled // unit).cast(pl.String),
        (scaled % unit).cast(pl.String).str.zfill(places),
    )
    return pl.when(scaled.is_null()).then(None).otherwise(text)


def strings(values: set[str]) -> pl.Expr:
    return pl.lit(pl.Series(sorted(values), dtype=pl.String).implode())


def hashed(column: str) -> pl.Expr:
    """Fibonacci hashing of a key (as `cluster.partition_of`): stable everywhere."""
    return pl.col(column).cast(pl.UInt64) * pl.lit(GOLDEN, dtype=pl.UInt64)


def bits(column: str, shift: int, modulo: int) -> pl.Expr:
    """(column >> shift) % modulo of an unsigned 64-bit hash."""
    return (pl.col(column) // pl.lit(1 << shift, dtype=pl.UInt64)) % pl.lit(modulo, dtype=pl.UInt64)


def digits(column: str, width: int) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.zfill(width)


def sequences(persons: pl.DataFrame, used: pl.DataFrame) -> pl.DataFrame:
    """The sequence part of each resident ID number (odd for men, even for women), unique
    for the birth date among the loaded persons and the numbers already in the database."""
    persons = persons.with_columns(
        (
            pl.int_range(pl.len()).over("birth_date", "sex") * 2
            + pl.when(pl.col("sex") == "M").then(1).otherwise(2)
        ).alias("seq")
    )
    if used.height:
        taken: dict[date, set[int]] = {}
        for day, seq in used.drop_nulls().iter_rows():
            taken.setdefault(day, set()).add(int(seq))
        clash = persons.filter(
            pl.col("birth_date").is_in(pl.Series(sorted(taken), dtype=pl.Date).implode())
        )
        if clash.height:
            fixed: list[tuple[int, int]] = []
            for (day, sex), group in clash.group_by("birth_date", "sex", maintain_order=True):
                assert isinstance(day, date)
                free = (s for s in range(1 if sex == "M" else 2, 1000, 2) if s not in taken[day])
                for key in group.get_column("person"):
                    fixed.append((int(key), next(free, 1000)))
            again = pl.DataFrame(fixed, schema={"person": pl.Int64, "seq": pl.Int64}, orient="row")
            persons = persons.update(again, on="person").sort("person")
    full = persons.filter(pl.col("seq") > 999)
    if full.height:
        day, sex = full.row(0, named=True)["birth_date"], full.row(0, named=True)["sex"]
        raise LoadError(
            f"more persons of sex {sex} born on {day} than resident ID numbers of one "
            "address code and birth date (500 a sex)"
        )
    return persons


def resident_id(admdvs: str) -> pl.Expr:
    """GB 11643: address code, birth date, sequence, and the ISO 7064 MOD 11-2 check
    character (`domain.ids.check_character`), computed on the columns."""
    year, month, day = (
        pl.col("birth_date").dt.year(),
        pl.col("birth_date").dt.month(),
        pl.col("birth_date").dt.day(),
    )
    seq = pl.col("seq")
    digits = [pl.lit(int(d)) for d in admdvs] + [
        year // 1000,
        year // 100 % 10,
        year // 10 % 10,
        year % 10,
        month // 10,
        month % 10,
        day // 10,
        day % 10,
        seq // 100,
        seq // 10 % 10,
        seq % 10,
    ]
    total = pl.sum_horizontal(d.cast(pl.Int64) * w for d, w in zip(digits, WEIGHTS, strict=True))
    check = pl.lit(pl.Series(list(CHECK))).gather(total % 11)
    return pl.concat_str(
        pl.lit(admdvs),
        pl.col("birth_date").dt.strftime("%Y%m%d"),
        seq.cast(pl.String).str.zfill(3),
        check,
    )


def names_expr() -> pl.Expr:
    """A surname by the demo's weights and a given name of the birth decade and sex."""
    total = _SURNAME_CUM[-1]
    surname = pl.lit(pl.Series(_SURNAME_LIST)).gather(
        pl.lit(pl.Series(_SURNAME_CUM, dtype=pl.Int64)).search_sorted(
            (bits("_h", 20, total)).cast(pl.Int64), side="right"
        )
    )
    born = pl.col("birth_date").dt.year()
    era = (
        pl.when(born < 1960)
        .then(0)
        .when(born < 1980)
        .then(1)
        .when(born < 2000)
        .then(2)
        .otherwise(3)
    )
    flat: list[str] = []
    offsets: dict[tuple[int, str], tuple[int, int]] = {}
    for key, names in sorted(_GIVEN.items()):
        offsets[key] = (len(flat), len(names))
        flat.extend(names)
    start = pl.lit(0, dtype=pl.Int64)
    length = pl.lit(1, dtype=pl.Int64)
    for (e, sex), (offset, n) in offsets.items():
        match = (era == e) & (pl.col("sex") == sex)
        start = pl.when(match).then(offset).otherwise(start)
        length = pl.when(match).then(n).otherwise(length)
    given = pl.lit(pl.Series(flat)).gather(
        start + (bits("_h", 40, 1 << 24) % length.cast(pl.UInt64)).cast(pl.Int64)
    )
    return pl.concat_str(surname, given)


def issuer_of(places: pl.DataFrame, region: str) -> str | None:
    """Who stands for the issuer of the referrals: the region's designated hospital of
    the highest level with the most bills."""
    local = places.filter(
        (pl.col("hospital_region") == region) & pl.col("designated") & ~pl.col("pharmacy")
    ).sort("level", "bills", "hospital", descending=[True, True, False])
    return None if local.is_empty() else str(local.get_column("hospital")[0])
