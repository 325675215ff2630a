"""Yearly caps on the payments of one cause (`rules.cause_capped`), in the columnar engine.

The scalar engine pays an outpatient bill or a stay what its rules give (`basic`, after
the outpatient fund limit or the top line on fund payments, the place's reduction and
rounding), then at most what is left of the yearly cap of the bill's cause (accidental
injury, say: `cause_cap`, a decision table), and grows three counters by what it paid:
the cause's, and the outpatient limit's or the inpatient top line's. So the counters are
coupled: a bill cut by its cause's cap leaves room under the ordinary limit for the bills
after it, and the ordinary limit cuts what counts toward the cause's cap.

`capped_running` settles each ordinary counter alone. Where no bill has a cause cap that
is the answer. Otherwise the persons with such a bill are settled again here, all of
them at once, by fixed-point iteration over their bills: each round computes every
bill's payment from the counters that the previous round's payments give. A bill depends
only on the bills before it, so after round k the first k bills of every person are
exact, and a round that changes nothing has reached the one solution of the scalar
engine's sequence (at most one round more than the longest run of bills). Each round is
a few vectorised cumulative sums over those persons' bills only.
"""

from __future__ import annotations

import polars as pl

from yibao.batch.solver import round_half_up

MAX_ROUNDS = 10_000  # far above any person's bills of a year; a guard, not a limit


def settle_cause_caps(
    paid: pl.DataFrame, bills: pl.DataFrame, scale: int, keep_one: int
) -> pl.DataFrame:
    """`paid` (`order`, `paid`, any order of rows) with the payments of every person who has a bill under a
    cause cap settled again with the caps.

    `bills`: the outpatient and inpatient-like bills in the order of settlement, with
    `order`, `person`, `counter` (0 outpatient limit, 1 inpatient top line), `computed`
    (before the counter's cap, in fen × `scale`), `cap` (the counter's cap in fen, or
    null), `keep` (the share kept after a reduction, over `keep_one`), `cause` (the
    cause's code) and `cause_cap` (the cap of the bill's cause in fen, or null).
    """
    capped = bills.filter(pl.col("cause_cap").is_not_null()).get_column("person").unique()
    if not capped.len():
        return paid
    rows = bills.filter(pl.col("person").is_in(capped.implode())).sort("order")
    settled = _fixed_point(rows, scale, keep_one)
    others = paid.filter(~pl.col("order").is_in(settled.get_column("order").implode()))
    return pl.concat([others, settled])


def _fixed_point(rows: pl.DataFrame, scale: int, keep_one: int) -> pl.DataFrame:
    """Each bill's payment, iterated until no payment changes (see the module's note)."""
    divisor = scale * keep_one
    work = rows.with_columns(pl.lit(0, dtype=pl.Int64).alias("paid"))
    fund = ["person", "counter"]
    cause = ["person", "cause"]
    counted = pl.col("cause_cap").is_not_null()
    for _ in range(MAX_ROUNDS):
        before_fund = pl.col("paid").cum_sum().over(fund) - pl.col("paid")
        mine = pl.when(counted).then(pl.col("paid")).otherwise(0)
        before_cause = mine.cum_sum().over(cause) - mine
        remaining = (pl.col("cap") - before_fund).clip(lower_bound=0) * scale
        within = pl.min_horizontal(pl.col("computed"), remaining)
        computed = pl.when(pl.col("cap").is_null()).then(pl.col("computed")).otherwise(within)
        basic = round_half_up(computed * pl.col("keep"), divisor)
        left = (pl.col("cause_cap") - before_cause).clip(lower_bound=0)
        again = pl.when(counted).then(pl.min_horizontal(basic, left)).otherwise(basic)
        work = work.with_columns(again.alias("next"))
        if work.select((pl.col("next") == pl.col("paid")).all()).item():
            return work.select("order", "paid")
        work = work.with_columns(pl.col("next").alias("paid")).drop("next")
    raise AssertionError("cause caps: no fixed point")  # pragma: no cover - see MAX_ROUNDS
