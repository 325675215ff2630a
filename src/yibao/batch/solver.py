"""Running totals under a cap, for every group at once: the engine's yearly limits.

The scalar engine carries, per person and year, counters that each bill reads and then
grows: a yearly threshold (charged = min(x, max(cap − before, 0))), the outpatient fund
limit and a top line on fund payments (paid = min(x, max(cap − before, 0)), then a
share reduction and rounding to the fen, and *that* is what the counter grows by).

Without a reduction and with one cap for the year this is a clipped cumulative sum. A
reduced payment at the cap leaves room under it, a cap that differs by level or date can
open room again, so in general the answer comes in *phases*: in each phase every group
is settled from its state by a cumulative sum up to its first bill that meets the cap
(that bill is settled exactly as the scalar engine does); a group whose counter then
stands at or above every cap of the bills still ahead of it is done (they pay 0: any
later phase would give them 0 too); the others start a new phase from that bill's
state. Each phase is one vectorised pass over the bills still open; most groups finish
in the first, and no phase loops over bills. Each phase's results are scattered into the
output by row number (no sort at the end).

Groups are contiguous runs of rows (the caller sorts), so a cumulative sum within a
group is a cumulative sum over the frame less its value where the group starts, which
is much faster than a window over a hashed key.
"""

from __future__ import annotations

import polars as pl

UNCAPPED = 2**62


def round_half_up(expr: pl.Expr, divisor: int) -> pl.Expr:
    """expr / divisor rounded half up, for non-negative integers (the fen rule)."""
    if divisor == 1:
        return expr
    return (expr + divisor // 2) // divisor


def group_starts(group: str) -> pl.Expr:
    """True on the first row of each contiguous run of `group`."""
    return (pl.col(group) != pl.col(group).shift(1)).fill_null(True)


def cum_sum_in(expr: pl.Expr, group: str) -> pl.Expr:
    """Cumulative sum of `expr` within contiguous groups (inclusive)."""
    total = expr.cum_sum()
    return total - pl.when(group_starts(group)).then(total - expr).forward_fill()


def capped_running(
    frame: pl.DataFrame,
    *,
    group: str,
    amount: str,
    cap: str,
    scale: int,
    keep: str | None = None,
    keep_one: int = 1,
) -> pl.Series:
    """What each row adds to its group's counter, in the frame's order.

    `frame` holds each group (the integer column `group`) as one contiguous run of rows
    in the order of settlement. `amount`: the row's amount before the cap, in counter
    units times `scale` (≥ 0). `cap`: the cap in counter units, or null for a row that
    is not capped (it still adds to the counter). `keep`: the share kept after a
    reduction, an integer over `keep_one`; the row's result is
    (capped amount × keep) / (scale × keep_one) rounded half up. Without `keep`, `scale`
    must be 1 and the result is exact.
    """
    divisor = scale * keep_one
    if keep is None and divisor != 1:
        raise ValueError("an amount with a scale is rounded: give `keep`")
    keep_expr = pl.col(keep) if keep is not None else pl.lit(1, dtype=pl.Int64)
    work = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
        pl.col(group).cast(pl.Int64).alias("_g"),
        pl.col(amount).cast(pl.Int64).alias("_x"),
        pl.col(cap).cast(pl.Int64).alias("_cap"),
        keep_expr.cast(pl.Int64).alias("_k"),
        pl.lit(0, dtype=pl.Int64).alias("_s0"),
    )
    out = pl.repeat(0, work.height, dtype=pl.Int64, eager=True).alias("out")
    while work.height:
        settled, rest = _phase(work, scale, divisor)
        out.scatter(settled.get_column("_row"), settled.get_column("_out"))
        if rest is None:  # no group met its cap (or every one on its last row)
            break
        work = rest
    return out


def _phase(
    work: pl.DataFrame, scale: int, divisor: int
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """One pass over the rows still open: the rows settled (`_row`, `_out`), and the rows
    of the groups that start a new phase from their binding row's counter (None: none)."""
    phase = work.with_columns(
        round_half_up(pl.col("_x") * pl.col("_k"), divisor).alias("_b"),
    ).with_columns(
        (pl.col("_s0") + cum_sum_in(pl.col("_b"), "_g") - pl.col("_b")).alias("_before"),
    )
    bind = pl.col("_cap").is_not_null() & (
        pl.col("_x") > (pl.col("_cap") - pl.col("_before")) * scale
    )
    phase = phase.with_columns(bind.alias("_bind")).with_columns(
        cum_sum_in(pl.col("_bind").cast(pl.Int64), "_g").alias("_binds")
    )
    at = pl.col("_bind") & (pl.col("_binds") == 1)
    paid_at = round_half_up(
        (pl.col("_cap") - pl.col("_before")).clip(lower_bound=0) * scale * pl.col("_k"),
        divisor,
    )
    # Rows before their group's first binding row pay what they computed; the binding
    # row pays what is left under its cap.
    settled = phase.select(
        "_row",
        pl.when(at).then(paid_at).otherwise(pl.col("_b")).alias("_out"),
        (pl.col("_binds") == 0).alias("_before_bind"),
        at.alias("_at"),
    ).filter(pl.col("_before_bind") | pl.col("_at"))
    if settled.height == phase.height:
        return settled, None
    # The rest: each binding row and the rows after it. The counter after the binding
    # row is carried to the rows after it (the forward fill stays within the group:
    # each group's rest starts at its binding row). A group is done when that counter
    # stands at or above every cap still ahead of it (null: an uncapped row, never
    # done): its rows pay 0. The others start a new phase from that counter.
    rest = (
        phase.select(
            "_row",
            "_g",
            "_x",
            "_cap",
            "_k",
            at.alias("_at"),
            pl.when(at).then(pl.col("_before") + paid_at).alias("_s_at"),
            (pl.col("_binds") >= 1).alias("_rest"),
        )
        .filter("_rest")
        .with_columns(pl.col("_s_at").forward_fill())
        .filter(~pl.col("_at"))
    )
    rest = rest.with_columns(
        (pl.col("_s_at") >= pl.col("_cap").fill_null(UNCAPPED).max().over("_g")).alias("_closed")
    )
    return settled, rest.filter(~pl.col("_closed")).select(
        "_row", "_g", "_x", "_cap", "_k", pl.col("_s_at").alias("_s0")
    )
