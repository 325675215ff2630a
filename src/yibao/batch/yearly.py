"""The columnar engine's yearly layer: each person's year summed from the settled bills,
then `serious_illness.serious_illness` over all persons at once (parameters in force on
31 December; a table on the person's category reads the category on that day)."""

from __future__ import annotations

from datetime import date

import polars as pl

from yibao.batch.frames import RegionYear
from yibao.batch.params import UnsupportedError
from yibao.batch.solver import cum_sum_in, round_half_up
from yibao.domain.conditions import CATEGORIES, OTHER_DIAGNOSIS, Facts
from yibao.domain.parameters import Bracket, RegionPolicy, SeriousIllnessRules


def _category_at_year_end(policy: RegionPolicy, data: RegionYear) -> list[pl.Expr]:
    """The person's category on the last day of the year (31 December for a calendar
    year), where the layer's tables name it."""
    rules = policy.serious_illness
    if rules is None or "category" not in layer_dims(rules):
        return []
    day = policy.year_span(data.year)[1]
    if "categories" not in data.persons.columns:
        return [pl.lit("general").alias("category")]
    spans = pl.col("categories").list.filter(
        (pl.element().struct.field("valid_from").fill_null(date.min) <= day)
        & (pl.element().struct.field("valid_to").fill_null(date.max) >= day)
    )
    return [spans.list.first().struct.field("category").fill_null("general").alias("category")]


def groups_of(policy: RegionPolicy, diagnosis: pl.Expr, codes: pl.Series) -> pl.Expr | None:
    """Each bill's diagnosis group settled apart by the serious-illness layer, as its index
    in `separate(policy)`, or null (None: the layer settles no group apart). `codes`: the
    diagnosis codes the bills name."""
    groups = separate(policy)
    if not groups:
        return None
    index = {g: i for i, g in enumerate(groups)}
    found = {code: index.get(policy.diagnosis_group(code)) for code in codes.drop_nulls().unique()}
    return diagnosis.replace_strict(found, default=None, return_dtype=pl.Int8)


def separate(policy: RegionPolicy) -> list[str]:
    """The diagnosis groups the serious-illness layer settles apart, in the scalar
    engine's order."""
    rules = policy.serious_illness
    return [] if rules is None else sorted(rules.separate_groups)


def year_layer(
    policy: RegionPolicy,
    data: RegionYear,
    encounters: pl.DataFrame,
    one: int,
    groups: pl.Series | None = None,
) -> pl.DataFrame:
    """`serious_illness.serious_illness`: once a year, parameters in force on 31 December.

    `groups`: each bill's group settled apart (`groups_of`), in the rows of `encounters`."""
    # Each person's bills are one run (in the order of settlement): the year's sums are
    # the running sums on each run's last row, put on the person's row by position.
    last = (pl.col("person") != pl.col("person").shift(-1)).fill_null(True)
    base = (
        pl.col("eligible") - (pl.col("basic") + pl.col("assistance") + pl.col("institution")) * one
    )
    names = ["si_base", "paid"]
    parts = [cum_sum_in(base, "person").alias("si_base")]
    parts.append(cum_sum_in(pl.col("personal"), "person").alias("paid"))
    if groups is not None:
        encounters = encounters.with_columns(groups.alias("_group"))
        for i in range(len(separate(policy))):
            mine = pl.when(pl.col("_group") == i).then(base).otherwise(0)
            parts.append(cum_sum_in(mine, "person").alias(f"si_group_{i}"))
            names.append(f"si_group_{i}")
    sums = encounters.select("person", *parts, last.alias("_last")).filter("_last")
    persons = data.persons.select("person", "scheme", *_category_at_year_end(policy, data))
    if not persons.get_column("person").is_sorted():
        persons = persons.sort("person")
    at = persons.get_column("person").search_sorted(sums.get_column("person"), side="left")
    persons = persons.with_columns(
        pl.repeat(0, persons.height, dtype=pl.Int64, eager=True)
        .alias(name)
        .scatter(at, sums.get_column(name))
        for name in names
    )
    return serious_illness_layer(policy, data.year, persons, one)


def serious_illness_layer(
    policy: RegionPolicy, year: int, persons: pl.DataFrame, one: int
) -> pl.DataFrame:
    """The yearly layer over per-person accumulators, parameters in force on 31 December.

    `persons`: `person`, `scheme`, `si_base` (the year's eligible − basic − assistance −
    institution, in fen × `one`), `paid` (the year's personal payment before the layer,
    in fen), where the layer settles diagnosis groups apart `si_group_i` (the part of
    `si_base` of the i-th of `separate(policy)`) and, where the layer's tables name it,
    `category` (on 31 December). Each group's part is settled on its own scale and top
    line, the rest on the scale of "other", each rounded to the fen. Gives `person`,
    `si_base`, `serious_illness` and `personal` in fen.
    """
    day = policy.year_span(year)[1]  # the layer's values on the year's last day
    rules = policy.serious_illness
    payment: pl.Expr = pl.lit(0, dtype=pl.Int64)
    if rules is not None and persons.height:
        covered = sorted(rules.schemes.at(day).value)
        if persons.filter(pl.col("scheme").is_in(covered)).height:
            groups = separate(policy)
            rest = pl.col("si_base") - pl.sum_horizontal(
                [pl.lit(0, dtype=pl.Int64), *(pl.col(f"si_group_{i}") for i in range(len(groups)))]
            )
            payment = _group_payment(rules, day, one, OTHER_DIAGNOSIS, rest)
            for i, group in enumerate(groups):
                payment = payment + _group_payment(rules, day, one, group, pl.col(f"si_group_{i}"))
            payment = pl.when(pl.col("scheme").is_in(covered)).then(payment).otherwise(0)
    return persons.select(
        "person",
        "si_base",
        payment.alias("serious_illness"),
        (pl.col("paid") - payment).alias("personal"),
    )


def _group_payment(
    rules: SeriousIllnessRules, day: date, one: int, group: str, base: pl.Expr
) -> pl.Expr:
    """`serious_illness._layer`: one scale and top line (by the person's category where the
    tables name it) on one base, rounded to the fen."""
    payment: pl.Expr = pl.lit(0, dtype=pl.Int64)
    for category in _categories(rules):
        facts = Facts(category=category, diagnosis=group)
        computed = _scale_payment(rules.scale.at(day, facts).value.brackets, one, base)
        top_line = rules.top_line.at(day, facts).value
        if top_line is not None:
            top = int(top_line * 100) * one * one
            computed = pl.min_horizontal(computed, pl.lit(top))
        rounded = round_half_up(computed, one * one)
        if category is None:
            return rounded
        payment = pl.when(pl.col("category") == category).then(rounded).otherwise(payment)
    return payment


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
    other = dims - {"category", "diagnosis"}
    if other:
        raise UnsupportedError(
            f"the serious-illness layer's tables on {', '.join(sorted(other))} "
            "(the columnar engine settles tables on the category and the diagnosis group)"
        )
    return list(CATEGORIES) if "category" in dims else [None]


def _scale_payment(brackets: tuple[Bracket, ...], one: int, base: pl.Expr) -> pl.Expr:
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
