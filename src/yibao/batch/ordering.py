"""The columnar engine's input: the frames checked (`settle._check`), and the bills in
the order of settlement with each bill's person's columns."""

from __future__ import annotations

from datetime import date

import polars as pl

from yibao.batch.frames import RegionYear
from yibao.domain.engine.settle import InputError
from yibao.domain.model import LEVELS, Kind, Scheme
from yibao.domain.parameters import RegionPolicy

SCHEMES = [s.value for s in Scheme]
_SCHEMES_INDEX = {name: i for i, name in enumerate(SCHEMES)}
# Kinds as small integers inside the engine (comparing text is slow).
KIND = {k: i for i, k in enumerate(Kind)}


def validate(policy: RegionPolicy, data: RegionYear) -> None:
    """The scalar engine's `_check`, and what the frames themselves must hold.

    (A bill of an unknown person and a person key used twice are found by `_ordered`.)
    """
    persons, encounters = data.persons, data.encounters
    if data.region != policy.code:
        raise InputError(f"the region-year is of {data.region}, the policy of {policy.code}")
    other = persons.filter(pl.col("region") != policy.code).get_column("region").unique()
    if other.len():
        regions = sorted(map(str, {*other.to_list(), policy.code}))
        raise InputError(f"persons of regions {regions}, not only {policy.code}")
    keys = encounters.get_column("encounter")
    if keys.is_sorted():
        duplicated = bool((keys == keys.shift(1)).any())
    else:
        duplicated = bool(keys.is_duplicated().any())
    if duplicated:
        raise InputError("an encounter key is used twice")
    bad_scheme = persons.filter(~pl.col("scheme").is_in(SCHEMES))
    if bad_scheme.height:
        raise InputError(f"person {bad_scheme['person'][0]}: unknown scheme")
    first, last = policy.year_span(data.year)
    year = f"{data.year}" if policy.year_start.calendar else f"{data.year} ({first} to {last})"
    checks: list[tuple[pl.Expr, str]] = [
        ((pl.col("date") < first) | (pl.col("date") > last), f"date outside the year {year}"),
        (~pl.col("level").is_in(list(LEVELS)), "hospital level is not one of 0, 1, 2, 3"),
        (
            (pl.col("class_a") < 0) | (pl.col("class_b") < 0) | (pl.col("class_self_pay") < 0),
            "a line amount is negative",
        ),
        (
            (pl.col("kind") == Kind.SPECIAL_OUTPATIENT.value) & pl.col("disease").is_null(),
            "a special_outpatient encounter needs its disease",
        ),
        (~pl.col("kind").is_in([k.value for k in Kind]), "unknown encounter kind"),
    ]
    failing = encounters.select(
        bad.fill_null(True).any().alias(str(i)) for i, (bad, _) in enumerate(checks)
    ).row(0)
    for (bad, what), fails in zip(checks, failing, strict=True):
        if fails:
            found = encounters.filter(bad.fill_null(True))
            raise InputError(f"encounter {found['encounter'][0]}: {what}")


def ordered(data: RegionYear, first: date) -> pl.DataFrame:
    """The bills in the order of settlement (`order_of_settlement`: by person, date, then
    `seq`, ties as given), each with its person's columns and its row number `order`.
    `first` is the first day of the region's insurance year (`RegionPolicy.year_span`).

    One sort by a single integer key (person rank, day of the year, seq), skipped when the
    bills already come in that order; the person's columns are gathered by the person's
    row in the persons frame sorted by key (`search_sorted`), not joined.
    """
    persons = data.persons
    if not persons.get_column("person").is_sorted():
        persons = persons.sort("person")
    pk = persons.get_column("person")
    if pk.len() and bool((pk == pk.shift(1)).any()):
        raise InputError("a person key is used twice")
    n_persons = persons.height
    enc = data.encounters.with_columns(
        pl.lit(pk).search_sorted(pl.col("person"), side="left").cast(pl.Int64).alias("_p"),
        pl.col("kind")
        .replace_strict({k.value: i for k, i in KIND.items()}, return_dtype=pl.Int8)
        .alias("kc"),
    ).drop("kind")
    if enc.height:
        found = pl.col("_p") < n_persons
        if n_persons:
            found = found & (
                pl.lit(pk).gather(pl.col("_p").clip(upper_bound=n_persons - 1)) == pl.col("person")
            )
        unknown = enc.filter(~found)
        if unknown.height:
            raise InputError(f"encounter {unknown['encounter'][0]}: unknown person")
    low, high = enc.select(
        pl.col("seq").min().fill_null(0).cast(pl.Int64).alias("low"),
        pl.col("seq").max().fill_null(0).cast(pl.Int64).alias("high"),
    ).row(0)
    span = int(high) - int(low) + 1
    day = (pl.col("date") - pl.lit(first)).dt.total_days().cast(pl.Int64)
    if (n_persons + 1) * 367 * span < 2**62:
        key = (pl.col("_p") * 367 + day) * span + (pl.col("seq").cast(pl.Int64) - low)
        enc = enc.with_columns(key.alias("_key"))
        if not enc.get_column("_key").is_sorted():
            enc = enc.sort("_key", maintain_order=True)
        enc = enc.drop("_key")
    else:  # pragma: no cover - a seq range of billions
        enc = enc.sort("_p", "date", "seq", maintain_order=True)
    person_columns = persons.select(
        pl.col("scheme").replace_strict(_SCHEMES_INDEX, return_dtype=pl.Int64).alias("sc"),
        "birth_date",
        "retired",
        "contribution_years",
        "assistance",
    )
    gathered = person_columns.select(pl.all().gather(enc.get_column("_p")))
    return (
        enc.drop("_p")
        .hstack(gathered)
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("order"),
        )
    )
