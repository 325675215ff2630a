"""What the batch load's modules share: its errors, the ids it gives loaded persons and
their cards, and the settlement columns it writes."""

from __future__ import annotations

import polars as pl

from yibao.service.demo import region_prefix

WHO = "batch-load"  # created_by of the filings and referrals a load writes


# The split columns of a settlement, as booking.split_fen makes them.
SPLIT = (
    "total_fen",
    "eligible_fen",
    "self_pay_fen",
    "threshold_fen",
    "basic_fen",
    "assistance_fen",
    "institution_fen",
    "personal_fen",
    "over_limit_fen",
)


# A line's parts as the scalar engine settled them, stored with the line.
PARTS = pl.Struct(
    {
        "over_limit_fen": pl.Int64,
        "full_self_pay_fen": pl.Int64,
        "first_self_pay": pl.String,
        "eligible": pl.String,
    }
)


class LoadError(ValueError):
    """The region-year cannot be loaded as asked; nothing was written."""


class EngineMismatchError(LoadError):
    """The columnar and the scalar engine settle a bill differently: a bug, not bad input."""


def id_prefix(region: str, year: int) -> str:
    """What every loaded person id of a region-year starts with: `SC26-`."""
    return f"{region_prefix(region)}{year % 100:02d}-"


def person_id(region: str, year: int, key: int) -> str:
    """The registry id of the person with this key in a loaded region-year."""
    return f"{id_prefix(region, year)}{key:08d}"


def card_number(region: str, year: int, key: int) -> str:
    """The card of a loaded person: 11 digits after the capitals (the demo's have 10)."""
    return f"{region_prefix(region)}{year % 100:02d}{key:09d}"
