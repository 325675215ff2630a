"""The institutions of a batch load: every place the bills and approvals name, as its
most common bill has it (region, level, designation, pilot, and issue 14's type and
province), and the registry's row of each."""

from __future__ import annotations

import polars as pl

from yibao.domain.model import Kind

# The frames say only whether a place elsewhere is in the insured region's province or
# another; the registry keeps a province's two digits of GB/T 2260. For another province
# whose region the database does not know in one, a stand-in: Beijing's (or Tianjin's,
# for a region of Beijing), so that the counter finds the same class the bills had.
STAND_INS = ("11", "12")


def places(encounters: pl.DataFrame, persons: pl.DataFrame, region: str) -> pl.DataFrame:
    """Every place the bills and approvals name, as its most common bill has it; a place
    only an approval names is a designated level-3 general hospital of the region."""
    enc = encounters.with_columns(
        pl.col("hospital_region").fill_null(region),
        _fact(encounters, "hospital_type", "general"),
        _fact(encounters, "province", "same"),
    )
    keys = ("hospital_region", "level", "designated", "pilot", "hospital_type", "province")
    variants = (
        enc.group_by("hospital", *keys)
        .agg(
            pl.len().alias("bills"),
            (pl.col("kind") == Kind.PHARMACY.value).all().alias("pharmacy"),
        )
        .sort("hospital", "bills", *keys, descending=[False, True, *[False] * len(keys)])
    )
    found = variants.group_by("hospital", maintain_order=True).agg(
        pl.col(*keys).first(),
        pl.col("bills").sum(),
        pl.col("pharmacy").all(),
    )
    approved = (
        persons.select(pl.col("approvals").explode().struct.field("hospital"))
        .drop_nulls()
        .unique()
        .filter(~pl.col("hospital").is_in(found.get_column("hospital").implode()))
        .sort("hospital")
    )
    return pl.concat(
        [
            found,
            approved.select(
                "hospital",
                pl.lit(region).alias("hospital_region"),
                pl.lit(3, dtype=pl.Int8).alias("level"),
                pl.lit(True).alias("designated"),
                pl.lit(False).alias("pilot"),
                pl.lit("general").alias("hospital_type"),
                pl.lit("same").alias("province"),
                pl.lit(0, dtype=pl.UInt32).alias("bills"),
                pl.lit(False).alias("pharmacy"),
            ),
        ],
        how="vertical_relaxed",
    )


def _fact(encounters: pl.DataFrame, name: str, default: str) -> pl.Expr:
    if name not in encounters.columns:
        return pl.lit(default).alias(name)
    return pl.col(name).fill_null(default)


def institution_rows(
    new: pl.DataFrame, region: str, admdvs: str, known: dict[str, str]
) -> pl.DataFrame:
    """The registry's rows of new places. Province: none for the region's own places (its
    region's); for a place elsewhere, the two digits of the class its bills had: the
    insured region's for `same`; for `other` its region's where the database knows that
    region in another province (`known`: region → admdvs), else a stand-in."""
    own = admdvs[:2]
    other = next(code for code in STAND_INS if code != own)
    theirs = {r: a[:2] for r, a in known.items() if a[:2] != own}
    elsewhere = pl.col("hospital_region") != pl.lit(region)
    province = (
        pl.when(~elsewhere)
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("province") == "same")
        .then(pl.lit(own))
        .otherwise(
            pl.col("hospital_region").replace_strict(theirs, default=other, return_dtype=pl.String)
            if theirs
            else pl.lit(other)
        )
    )
    return new.select(
        pl.col("hospital").alias("id"),
        pl.col("hospital_region").alias("region"),
        pl.format("{} ({})", "hospital", "hospital_region").alias("name"),
        pl.col("level").cast(pl.Int16),
        pl.when("pharmacy").then(pl.lit("pharmacy")).otherwise(pl.lit("hospital")).alias("kind"),
        "designated",
        "pilot",
        pl.col("hospital_type").alias("type"),
        province.alias("province"),
    )
