"""Catalogue items in the columnar engine: `engine.lines.line_parts`, over a whole year.

A bill's plain lines are summed by class in fen (frames.CLASS_COLUMNS). Its catalogue
items (quantity × unit price with a cap, a ratio of its own, a payment restriction) are
a list column `items` of `frames.ITEM` structs, in exact integers: quantity in
thousandths, unit price and cap in 10**-4 yuan, ratio in 10**-4.

`fold` turns the items into columns of the bill, all exact:

- each item's amount, quantity × unit price half-up to the fen, and its over-limit part,
  (unit price − cap) × quantity half-up to the fen, summed: `items_total`, `over_limit`;
- the rest of an item outside its restriction: `restricted` (full self-pay);
- the rest of an item without a ratio of its own is added to its class's column, so the
  class's eligible share settles it exactly as a plain line;
- an item with its own ratio: per class, its rest (`ratio_rest_<class>`) and its eligible
  part, rest × (1 − ratio), in fen × 10**places (`ratio_eligible_<class>`); both count
  only where the class's share is not 0 (else the rest is full self-pay, as the scalar
  engine has it).
"""

from __future__ import annotations

import polars as pl

from yibao.batch.frames import CLASS_COLUMNS, RATIO_SCALE
from yibao.batch.params import UnsupportedError
from yibao.batch.solver import round_half_up

# quantity (10**-3) × price (10**-4 yuan) is in 10**-7 yuan: 10**5 of them make a fen.
_TO_FEN = 10**5
EXTRA = ["items_total", "over_limit", "restricted"] + [
    f"ratio_{part}_{column}" for column in CLASS_COLUMNS.values() for part in ("rest", "eligible")
]


def _ratio_scale(one: int) -> tuple[int, int]:
    """(multiplier, divisor) taking a ratio in 10**-4 to 10**-places."""
    return (one // RATIO_SCALE, 1) if one >= RATIO_SCALE else (1, RATIO_SCALE // one)


def fold(frame: pl.DataFrame, one: int) -> pl.DataFrame:
    """The bill's items as exact columns (see the module's note); zeros without items."""
    zeros = [pl.lit(0, dtype=pl.Int64).alias(c) for c in EXTRA]
    if "items" not in frame.columns:
        return frame.with_columns(zeros)
    has = pl.col("items").list.len() > 0
    items = frame.select("order", "items", has.alias("_m")).filter("_m")
    if not items.height:
        return frame.drop("items").with_columns(zeros)
    parts = _parts(items.drop("_m").explode("items").unnest("items"), one)
    sums = parts.group_by("order").agg(
        pl.col("amount").sum().alias("items_total"),
        pl.col("over").sum().alias("over_limit"),
        pl.col("rest").filter("outside").sum().alias("restricted"),
        *(
            pl.col("rest")
            .filter(~pl.col("outside") & pl.col("ratio").is_null() & (pl.col("cls") == cls))
            .sum()
            .alias(f"_default_{column}")
            for cls, column in CLASS_COLUMNS.items()
        ),
        *(
            pl.col(name)
            .filter(~pl.col("outside") & pl.col("ratio").is_not_null() & (pl.col("cls") == cls))
            .sum()
            .alias(f"ratio_{part}_{column}")
            for cls, column in CLASS_COLUMNS.items()
            for part, name in (("rest", "rest"), ("eligible", "ratio_eligible"))
        ),
    )
    defaults = [f"_default_{c}" for c in CLASS_COLUMNS.values()]
    frame = frame.drop("items").join(sums, on="order", how="left")
    return frame.with_columns(
        *(pl.col(c).fill_null(0) for c in EXTRA),
        *(
            (pl.col(column) + pl.col(f"_default_{column}").fill_null(0)).alias(column)
            for column in CLASS_COLUMNS.values()
        ),
    ).drop(defaults)


def _parts(items: pl.DataFrame, one: int) -> pl.DataFrame:
    times, divide = _ratio_scale(one)
    coarse = items.filter(pl.col("ratio").is_not_null() & (pl.col("ratio") % divide != 0))
    if coarse.height:
        raise UnsupportedError(
            f"an item's ratio {coarse['ratio'][0] / RATIO_SCALE} is finer than the region's "
            f"{len(str(one)) - 1} decimal places"
        )
    q, price, cap = pl.col("quantity"), pl.col("unit_price"), pl.col("cap")
    amount = round_half_up(q * price, _TO_FEN)
    over = (
        pl.when(cap.is_not_null() & (price > cap))
        .then(round_half_up(q * (price - cap), _TO_FEN))
        .otherwise(0)
    )
    return (
        items.with_columns(amount.alias("amount"), over.alias("over"))
        .with_columns((pl.col("amount") - pl.col("over")).alias("rest"))
        .with_columns(
            (pl.col("rest") * (one - pl.col("ratio") * times // divide)).alias("ratio_eligible")
        )
    )
