"""The facts of real regions' rules (issue 14) a batch load stores with each settlement,
as the counter stores them (service/booking.encounter_columns)."""

from __future__ import annotations

import polars as pl


def facts_columns(rows: pl.DataFrame) -> dict[str, pl.Expr]:
    """Issue 14's facts of a bill as booking.encounter_columns stores them (None: the
    default); a frame without them holds the defaults. The link of a referral chain is
    not kept (the frame's is an encounter key, not a settlement id)."""

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
        "referred_from": pl.lit(None, dtype=pl.Int64),
    }
