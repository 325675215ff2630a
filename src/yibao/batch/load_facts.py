"""The facts of real regions' rules (issue 14) in a batch load: the persons' dated
categories (the registry's `person_categories`), each settlement's facts as the counter
stores them (service/booking.encounter_columns), a stay's referral link as the settlement
it was referred from, and the checks that refuse a frame whose facts the service would
refuse, before anything is written."""

from __future__ import annotations

from datetime import date

import polars as pl

from yibao.batch.frames import RegionYear
from yibao.batch.load_common import WHO, LoadError
from yibao.domain.conditions import DOMAINS
from yibao.domain.model import GENERAL, Kind

# What a frame's fact column may hold (null: the default, as in frames.to_scalar).
VALUES: dict[str, tuple[str, ...]] = {
    "hospital_type": DOMAINS["type"],
    "province": DOMAINS["province"],
    "cause": DOMAINS["cause"],
    "delivery": DOMAINS["delivery"],
}
RECORDED = tuple(c for c in DOMAINS["category"] if c != GENERAL)  # as the registry records


def check_facts(data: RegionYear) -> None:
    """Refuse, naming the row, what the registry or the counter would refuse: an unknown
    category or fact value, a category span that ends before it starts or overlaps another
    of the person's (one category a day), a referral link to a bill that is not an earlier
    one of the same person, or on a bill that is not an inpatient stay."""
    _check_categories(data.persons)
    for column, allowed in VALUES.items():
        if column not in data.encounters.columns:
            continue
        bad = data.encounters.filter(
            pl.col(column).is_not_null() & ~pl.col(column).is_in(list(allowed))
        )
        if bad.height:
            row = bad.row(0, named=True)
            raise LoadError(
                f"encounter {row['encounter']} (person {row['person']}): {column} "
                f"{row[column]!r} is not one of {', '.join(allowed)}"
            )
    _check_links(data.encounters)


def _check_categories(persons: pl.DataFrame) -> None:
    """Vectorised (a load may carry millions of spans); the first bad span is named."""
    if "categories" not in persons.columns:
        return
    spans = (
        persons.select("person", pl.col("categories"))
        .filter(pl.col("categories").list.len() > 0)
        .with_columns(pl.int_ranges(pl.col("categories").list.len()).alias("i"))
        .explode("categories", "i")
        .unnest("categories")
    )
    start, end = pl.col("valid_from"), pl.col("valid_to")
    unknown = spans.filter(~pl.col("category").is_in(list(RECORDED)))
    if unknown.height:
        row = unknown.row(0, named=True)
        raise LoadError(
            f"person {row['person']}: categories[{row['i']}]: category {row['category']!r} is "
            f"not one of {', '.join(RECORDED)} (general is every other day)"
        )
    backwards = spans.filter(end < start)
    if backwards.height:
        row = backwards.row(0, named=True)
        raise LoadError(
            f"person {row['person']}: categories[{row['i']}]: ends ({row['valid_to']}) "
            f"before it starts ({row['valid_from']})"
        )
    several = spans.filter(pl.len().over("person") > 1).with_columns(
        start.fill_null(date.min), end.fill_null(date.max)
    )
    pairs = several.join(several, on="person", suffix="_b").filter(
        (pl.col("i_b") < pl.col("i"))
        & (start <= pl.col("valid_to_b"))
        & (pl.col("valid_from_b") <= end)
    )
    if pairs.height:
        row = pairs.sort("person", "i", "i_b").row(0, named=True)
        raise LoadError(
            f"person {row['person']}: categories[{row['i']}] ({row['category']}) overlaps "
            f"categories[{row['i_b']}] ({row['category_b']}): a person has one category a day"
        )


def _check_links(encounters: pl.DataFrame) -> None:
    """A stay is referred from an earlier stay of the person's, as at the counter
    (encounter_details.origin_key): settled before it, in the order of settlement."""
    if "referred_from" not in encounters.columns:
        return
    ordered = encounters.sort("person", "date", "seq").with_row_index("_pos")
    origins = ordered.select(
        pl.col("encounter").alias("referred_from"),
        pl.col("person").alias("_o_person"),
        pl.col("_pos").alias("_o_pos"),
    )
    linked = ordered.filter(pl.col("referred_from").is_not_null()).join(
        origins, on="referred_from", how="left"
    )
    bad = linked.filter(
        (pl.col("kind") != Kind.INPATIENT.value)
        | pl.col("_o_person").is_null()
        | (pl.col("_o_person") != pl.col("person"))
        | (pl.col("_o_pos") >= pl.col("_pos"))
    )
    if not bad.height:
        return
    row = bad.sort("_pos").row(0, named=True)
    where = f"encounter {row['encounter']} (person {row['person']}): referred_from"
    origin = row["referred_from"]
    if row["kind"] != Kind.INPATIENT.value:
        raise LoadError(f"{where}: only an inpatient stay has one (this bill is {row['kind']})")
    if row["_o_person"] is None:
        raise LoadError(f"{where}: {origin} is not an encounter of the region-year")
    if row["_o_person"] != row["person"]:
        raise LoadError(f"{where}: {origin} is a bill of person {row['_o_person']}")
    raise LoadError(
        f"{where}: {origin} is not settled before it (by date, then seq): "
        "a stay is referred from an earlier one"
    )


def category_rows(persons: pl.DataFrame, ids: pl.Expr, created_at: pl.Expr) -> pl.DataFrame:
    """The registry's rows of the persons' categories (`person_categories`), in the
    frame's order: the registry reads a person's spans in the order they were written."""
    if "categories" not in persons.columns:
        return pl.DataFrame()
    return (
        persons.select("person", "categories")
        .explode("categories")
        .drop_nulls("categories")
        .unnest("categories")
        .select(
            ids.alias("person_id"),
            "category",
            "valid_from",
            "valid_to",
            pl.lit(WHO).alias("created_by"),
            created_at,
        )
    )


def with_origins(rows: pl.DataFrame) -> pl.DataFrame:
    """`origin`: the settlement id of the stay each bill was referred from (a bill of the
    same person, hence of the same chunk), as the counter stores `referred_from`."""
    if "referred_from" not in rows.columns:
        return rows.with_columns(pl.lit(None, dtype=pl.Int64).alias("origin"))
    ids = rows.select(
        pl.col("encounter").alias("referred_from"), pl.col("settlement_id").alias("origin")
    )
    return rows.join(ids, on="referred_from", how="left", maintain_order="left")


def facts_columns(rows: pl.DataFrame) -> dict[str, pl.Expr]:
    """Issue 14's facts of a bill as booking.encounter_columns stores them (None: the
    default); a frame without them holds the defaults. `rows` come `with_origins`."""

    def kept(name: str, default: str) -> pl.Expr:
        if name not in rows.columns:
            return pl.lit(None, dtype=pl.String)
        column = pl.col(name)
        return pl.when(column == default).then(pl.lit(None, dtype=pl.String)).otherwise(column)

    return {
        "hospital_type": kept("hospital_type", "general"),
        "hospital_province": kept("province", "same"),
        "cause": kept("cause", "ordinary"),
        "delivery": kept("delivery", "none"),
        "referred_from": pl.col("origin"),
    }
