"""Referral chains in the columnar engine: `benefits.stay_threshold` where a region
continues thresholds along a chain (`inpatient.referral_threshold: continued`)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from yibao.batch.params import PER_CODE, Tables
from yibao.domain.engine.results import Route
from yibao.domain.parameters import ThresholdPer

STAY = PER_CODE[ThresholdPer.STAY]
INPATIENT = list(Route).index(Route.INPATIENT)  # the route's code (columnar.ROUTE)


def chain_thresholds(
    frame: pl.DataFrame, tables: Tables, p: Callable[[str], pl.Expr]
) -> pl.DataFrame:
    """`benefits.stay_threshold` where thresholds are continued along referral chains: a
    stay referred up from a stay of its chain pays what its threshold exceeds the chain's
    thresholds, referred down none; resolved a link of the chains at a time."""
    if "referred_from" not in frame.columns:
        return pl.DataFrame(schema={"order": pl.Int64, "threshold": pl.Int64})
    one = tables.one
    mask = (pl.col("rc") == INPATIENT) & p("in_chain").fill_null(False) & (p("in_per") == STAY)
    stays = (
        frame.select(
            "order", "encounter", "k", "referred_from", "level", "eligible", mask.alias("_m")
        )
        .filter("_m")
        .drop("_m")
    ).select(
        "order", "encounter", "referred_from", "level", "eligible", (p("in_thr") * one).alias("thr")
    )
    # A parent counts only as a stay of a chain settled before (scope: `acc.stays`).
    parents = stays.select(
        pl.col("encounter").alias("referred_from"),
        pl.col("order").alias("p_order"),
        pl.col("level").alias("p_level"),
    )
    stays = stays.join(parents, on="referred_from", how="left").with_columns(
        (pl.col("p_order").is_not_null() & (pl.col("p_order") < pl.col("order"))).alias("linked")
    )
    first = (
        stays.filter(~pl.col("linked"))
        .select(
            "order",
            pl.min_horizontal("eligible", "thr").alias("threshold"),
        )
        .with_columns(pl.col("threshold").alias("chain"))
    )
    done, todo = first, stays.filter(pl.col("linked"))
    while todo.height:
        found = todo.join(
            done.select(pl.col("order").alias("p_order"), pl.col("chain").alias("p_chain")),
            on="p_order",
            how="inner",
        )
        if not found.height:  # pragma: no cover - every parent comes first in the order
            break
        down = pl.col("level") < pl.col("p_level")
        step = found.select(
            "order",
            pl.when(down)
            .then(0)
            .otherwise(pl.min_horizontal("eligible", (pl.col("thr") - pl.col("p_chain")).clip(0)))
            .alias("threshold"),
            "p_chain",
        ).select("order", "threshold", (pl.col("p_chain") + pl.col("threshold")).alias("chain"))
        done = pl.concat([done, step])
        todo = todo.filter(~pl.col("order").is_in(step.get_column("order").implode()))
    return done.select("order", pl.col("threshold").cast(pl.Int64))
