"""The columnar engine's yearly layer: each person's year summed from the settled bills,
then `serious_illness.serious_illness` over all persons at once (parameters in force on
31 December; a table on the person's category reads the category on that day)."""

from __future__ import annotations

from datetime import date

import polars as pl

from yibao.batch.frames import RegionYear
from yibao.batch.params import UnsupportedError
from yibao.batch.solver import cum_sum_in, round_half_up
from yibao.domain.conditions import CATEGORIES, Facts
from yibao.domain.parameters import Bracket, RegionPolicy, SeriousIllnessRules


def _category_at_year_end(policy: RegionPolicy, data: RegionYear) -> list[pl.Expr]:
    """The person's category on 31 December, where the layer's tables name it."""
    rules = policy.serious_illness
    if rules is None or "category" not in layer_dims(rules):
        return []
    day = date(data.year, 12, 31)
    if "categories" not in data.persons.columns:
        return [pl.lit("general").alias("category")]
    spans = pl.col("categories").list.filter(
        (pl.element().struct.field("valid_from").fill_null(date.min) <= day)
        & (pl.element().struct.field("valid_to").fill_null(date.max) >= day)
    )
    return [spans.list.first().struct.field("category").fill_null("general").alias("category")]


def year_layer(
    policy: RegionPolicy, data: RegionYear, encounters: pl.DataFrame, one: int
) -> pl.DataFrame:
    """`serious_illness.serious_illness`: once a year, parameters in force on 31 December."""
    # Each person's bills are one run (in the order of settlement): the year's sums are
    # the running sums on each run's last row, put on the person's row by position.
    last = (pl.col("person") != pl.col("person").shift(-1)).fill_null(True)
    base = (
        pl.col("eligible") - (pl.col("basic") + pl.col("assistance") + pl.col("institution")) * one
    )
    sums = encounters.select(
        "person",
        cum_sum_in(base, "person").alias("si_base"),
        cum_sum_in(pl.col("personal"), "person").alias("paid"),
        last.alias("_last"),
    ).filter("_last")
    persons = data.persons.select("person", "scheme", *_category_at_year_end(policy, data))
    if not persons.get_column("person").is_sorted():
        persons = persons.sort("person")
    at = persons.get_column("person").search_sorted(sums.get_column("person"), side="left")
    persons = persons.with_columns(
        pl.repeat(0, persons.height, dtype=pl.Int64, eager=True)
        .alias(name)
        .scatter(at, sums.get_column(name))
        for name in ("si_base", "paid")
    )
    return serious_illness_layer(policy, data.year, persons, one)


def serious_illness_layer(
    policy: RegionPolicy, year: int, persons: pl.DataFrame, one: int
) -> pl.DataFrame:
    """The yearly layer over per-person accumulators, parameters in force on 31 December.

    `persons`: `person`, `scheme`, `si_base` (the year's eligible − basic − assistance −
    institution, in fen × `one`), `paid` (the year's personal payment before the layer,
    in fen) and, where the layer's tables name it, `category` (on 31 December). Gives
    `person`, `si_base`, `serious_illness` and `personal` in fen.
    """
    day = date(year, 12, 31)
    rules = policy.serious_illness
    payment: pl.Expr = pl.lit(0, dtype=pl.Int64)
    if rules is not None and persons.height:
        covered = sorted(rules.schemes.at(day).value)
        if persons.filter(pl.col("scheme").is_in(covered)).height:
            payment = pl.lit(0, dtype=pl.Int64)
            for category in _categories(rules):
                facts = Facts(category=category)
                computed = _scale_payment(rules.scale.at(day, facts).value.brackets, one)
                top_line = rules.top_line.at(day, facts).value
                if top_line is not None:
                    top = int(top_line * 100) * one * one
                    computed = pl.min_horizontal(computed, pl.lit(top))
                mine = pl.col("scheme").is_in(covered)
                if category is not None:
                    mine = mine & (pl.col("category") == category)
                payment = pl.when(mine).then(round_half_up(computed, one * one)).otherwise(payment)
    return persons.select(
        "person",
        "si_base",
        payment.alias("serious_illness"),
        (pl.col("paid") - payment).alias("personal"),
    )


def layer_dims(rules: SeriousIllnessRules) -> set[str]:
    """The condition keys of the layer's tables."""
    return {
        dim
        for dated in (rules.schemes, rules.scale, rules.top_line)
        for period in dated.periods
        if period.when is not None
        for dim in period.when.dims
    }


def _categories(rules: SeriousIllnessRules) -> list[str | None]:
    """The categories the layer tells apart (None: it does not)."""
    dims = layer_dims(rules)
    if dims - {"category"}:
        raise UnsupportedError(
            f"the serious-illness layer's tables on {', '.join(sorted(dims - {'category'}))} "
            "(the columnar engine settles tables on the category)"
        )
    return list(CATEGORIES) if dims else [None]


def _scale_payment(brackets: tuple[Bracket, ...], one: int) -> pl.Expr:
    base = pl.col("si_base")
    parts: list[pl.Expr] = []
    for i, bracket in enumerate(brackets):
        rate = int(bracket.rate * one)
        if rate == 0:
            continue
        lo = int(bracket.lower * 100) * one
        upper = (
            base
            if i + 1 == len(brackets)
            else pl.min_horizontal(base, pl.lit(int(brackets[i + 1].lower * 100) * one))
        )
        parts.append((upper - lo).clip(lower_bound=0) * rate)
    return pl.sum_horizontal(parts) if parts else pl.lit(0, dtype=pl.Int64)
