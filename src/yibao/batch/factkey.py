"""Each bill's facts for the region's decision tables, and its row of the parameter
tables (`params.Tables.by_key`): the key (scheme, epoch, level, retired) and the
combination of the facts the region's tables name (`params.fact_dims`), coded as the
scalar engine's `engine/facts.encounter_facts` reads them."""

from __future__ import annotations

from datetime import date

import polars as pl

from yibao.batch.frames import RegionYear
from yibao.batch.params import FactDim, Tables
from yibao.domain.model import Kind, Scheme
from yibao.domain.parameters import RegionPolicy

_SCHEMES = len(Scheme)


def place_class(frame: pl.DataFrame, data: RegionYear) -> pl.DataFrame:
    """`scope.place_class`: `filed` (a filing covers the day elsewhere) and `place`
    (local, filed, referred, emergency, unfiled) of each bill."""
    elsewhere = pl.col("hospital_region") != pl.lit(data.region)
    filings = (
        data.persons.select("person", "filings")
        .explode("filings")
        .filter(pl.col("filings").is_not_null())
        .unnest("filings")
    )
    filed = (
        frame.select("order", "person", "hospital_region", "date", elsewhere.alias("_m"))
        .filter("_m")
        .join(
            filings,
            left_on=["person", "hospital_region"],
            right_on=["person", "region"],
            how="inner",
        )
        .filter((pl.col("valid_from") <= pl.col("date")) & (pl.col("date") <= pl.col("valid_to")))
        .select(pl.col("order").unique(), pl.lit(True).alias("filed"))
    )
    at = filed.get_column("order")
    frame = frame.with_columns(
        pl.repeat(False, frame.height, dtype=pl.Boolean, eager=True)
        .alias("filed")
        .scatter(at, filed.get_column("filed"))
    )
    # An emergency elsewhere takes the emergency rule, filing or certificate or not (§6).
    emergency = pl.col("kc") == list(Kind).index(Kind.EMERGENCY)
    place = (
        pl.when(~elsewhere)
        .then(pl.lit("local"))
        .when(emergency)
        .then(pl.lit("emergency"))
        .when(pl.col("filed"))
        .then(pl.lit("filed"))
        .when(pl.col("referral"))
        .then(pl.lit("referred"))
        .otherwise(pl.lit("unfiled"))
    )
    return frame.with_columns(place.alias("place"))


def _fact(dim: FactDim, policy: RegionPolicy, data: RegionYear) -> pl.Expr:
    """A bill's value of one fact, as text (age: the band's index)."""

    def column(name: str, default: str) -> pl.Expr:
        if name in data.encounters.columns:
            return pl.col(name).fill_null(default)
        return pl.lit(default)

    local = pl.col("place") == "local"
    if dim.name == "type":
        return column("hospital_type", "general")
    if dim.name == "province":
        return pl.when(local).then(pl.lit("same")).otherwise(column("province", "same"))
    if dim.name in ("place", "category"):
        return pl.col(dim.name)
    if dim.name == "kind":
        return pl.lit(pl.Series([k.value for k in Kind])).gather(pl.col("kc"))
    if dim.name == "cause":
        return column("cause", "ordinary")
    if dim.name == "delivery":
        return column("delivery", "none")
    if dim.name == "diagnosis":
        codes = data.encounters.get_column("diagnosis").drop_nulls().unique().to_list()
        groups = {code: policy.diagnosis_group(code) for code in codes}
        found = pl.col("diagnosis").replace_strict(groups, default="other", return_dtype=pl.String)
        return found.fill_null("other")
    raise AssertionError(dim.name)  # pragma: no cover - params.FACT_DIMS


def _age() -> pl.Expr:
    birth, day = pl.col("birth_date"), pl.col("date")
    before_birthday = (day.dt.month().cast(pl.Int32) * 100 + day.dt.day()) < (
        birth.dt.month().cast(pl.Int32) * 100 + birth.dt.day()
    )
    return (day.dt.year() - birth.dt.year() - before_birthday.cast(pl.Int32)).cast(pl.Int64)


def category_on_the_day(frame: pl.DataFrame, data: RegionYear) -> pl.DataFrame:
    """`Person.category_on`: the first of the person's spans covering the bill's date."""
    if "categories" not in data.persons.columns:
        return frame.with_columns(pl.lit("general").alias("category"))
    spans = (
        data.persons.select("person", "categories")
        .explode("categories")
        .filter(pl.col("categories").is_not_null())
        .unnest("categories")
        .with_row_index("_span")
    )
    found = (
        frame.select("order", "person", "date")
        .join(spans, on="person", how="inner")
        .filter(
            (pl.col("valid_from").fill_null(date.min) <= pl.col("date"))
            & (pl.col("date") <= pl.col("valid_to").fill_null(date.max))
        )
        .sort("_span")
        .group_by("order")
        .agg(pl.col("category").first())
    )
    at = found.get_column("order")
    return frame.with_columns(
        pl.repeat("general", frame.height, dtype=pl.String, eager=True)
        .alias("category")
        .scatter(at, found.get_column("category"))
    )


def with_key(
    frame: pl.DataFrame, policy: RegionPolicy, data: RegionYear, tables: Tables
) -> pl.DataFrame:
    """The bill's row of the parameter tables: `k`."""
    key = (
        (pl.col("epoch") * _SCHEMES + pl.col("sc")) * 4 + pl.col("level").cast(pl.Int64)
    ) * 2 + pl.col("retired").cast(pl.Int64)
    combo: pl.Expr = pl.lit(0, dtype=pl.Int64)
    for dim in tables.dims:
        if dim.name == "age":
            bands = pl.Series(dim.ages, dtype=pl.Int64)
            code = pl.lit(bands).search_sorted(_age(), side="right").cast(pl.Int64) - 1
        else:
            index = {value: i for i, value in enumerate(dim.values)}
            code = _fact(dim, policy, data).replace_strict(index, return_dtype=pl.Int64)
        combo = combo * len(dim.values) + code
    return frame.with_columns((key * tables.combos + combo).alias("k"))
