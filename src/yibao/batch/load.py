"""Load a generated region-year into the yibao database (SQLite or PostgreSQL).

`load_region_year(engine, policy, data)` writes, in one transaction, what the registry
needs for the year's persons and their bills as stored settlements, in the shape the
settlement service writes them (service/booking.py), so that `yibao verify`, the yearly
serious-illness run, statements, the console and a card settlement at the counter all
work on a loaded year as on one settled bill by bill:

- the region (from its policy) if the database does not have it, and the demo catalogue
  if the region has none (so that the loaded persons' cards can settle new bills);
- the institutions the bills and approvals name that are not registered yet, with their
  type and province as the bills have them;
- each person: an id (`SC26-00000017`: the region's two capitals, the year, the key), a
  resident ID number per GB 11643 consistent with the birth date and sex, a name; the
  enrolment for the year (active, with the premium's parts), an active card, approvals,
  filings, categories with their dates, and a referral for each day a bill elsewhere was
  referred;
- the year's bills, settled by the columnar engine (`columnar.settle`), as settlements
  (seq in the order of settlement), their lines (one per catalogue class with an
  amount), each with its facts (type, province class, cause, delivery, and the settlement
  a stay was referred from), the fund ledger's entries and each person-year's
  accumulators (a referral chain's stays under their keys at the counter, `YEAR/SEQ`).

The columnar engine gives every amount but neither the explanation's steps, nor a
refusal's reason, nor the accumulators' JSON: those come from the scalar engine, run
per person on the same bills (`to_scalar`, `settle_year`), which also checks every
split against the columnar one; if one fen differs, nothing is loaded
(`EngineMismatchError`). A region that already has persons enrolled for the year is refused
(`LoadError`), as is anything else wrong with the data, before anything is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from yibao.adapters.db import tables as t
from yibao.batch.columnar import settle
from yibao.batch.frames import RegionYear
from yibao.batch.load_common import (
    EngineMismatchError,
    LoadError,
    card_number,
    id_prefix,
    person_id,
)
from yibao.batch.load_facts import check_facts
from yibao.batch.loader import Loader
from yibao.domain.parameters import PolicyGapError, RegionPolicy
from yibao.service.demo import region_prefix

__all__ = [
    "CHUNK",
    "EngineMismatchError",
    "LoadError",
    "LoadSummary",
    "card_number",
    "id_prefix",
    "load_region_year",
    "person_id",
]

CHUNK = 10_000  # persons settled by the scalar engine and written at a time


@dataclass(frozen=True)
class LoadSummary:
    region: str
    year: int
    persons: int
    settlements: int
    person_years: int  # persons with at least one bill
    institutions_added: int
    catalogue_items_added: int
    approvals: int
    filings: int
    categories: int
    referrals: int
    basic_fen: int
    assistance_fen: int
    seconds: float

    def describe(self) -> str:
        return (
            f"{self.persons:,} persons and {self.settlements:,} settlements of {self.region} "
            f"{self.year} loaded in {self.seconds:.1f} s ({self.institutions_added} institutions "
            f"and {self.catalogue_items_added} catalogue items added, {self.approvals} approvals, "
            f"{self.filings} filings, {self.categories} categories, {self.referrals} "
            "referrals); the basic fund owes "
            f"{Decimal(self.basic_fen).scaleb(-2):,.2f}, assistance "
            f"{Decimal(self.assistance_fen).scaleb(-2):,.2f} yuan"
        )


def load_region_year(
    engine: Engine,
    policy: RegionPolicy,
    data: RegionYear,
    *,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> LoadSummary:
    """Load the region-year in one transaction; `progress(persons done, persons)`."""
    started = time.perf_counter()
    _check_frames(policy, data)
    with engine.connect() as conn:
        conn.begin()
        _refuse_if_loaded(conn, policy, data)
        try:
            result = settle(policy, data)
        except (ValueError, PolicyGapError) as exc:  # InputError, UnsupportedError
            raise LoadError(str(exc)) from None
        loader = Loader(conn, policy, data, result)
        try:
            summary = loader.run(chunk, progress)
        except IntegrityError as exc:
            reason = str(exc.orig).strip().splitlines()[0]
            raise LoadError(f"the database refused a row, nothing was loaded: {reason}") from None
        conn.commit()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in _LOADED:  # fresh statistics for the queries that follow a big load
                conn.execute(text(f'ANALYZE "{table.name}"'))
    return LoadSummary(**summary, seconds=time.perf_counter() - started)


_LOADED = (
    t.persons,
    t.enrolments,
    t.cards,
    t.person_categories,
    t.settlements,
    t.settlement_lines,
    t.fund_ledger,
    t.person_years,
)


def _check_frames(policy: RegionPolicy, data: RegionYear) -> None:
    if data.region != policy.code:
        raise LoadError(f"the region-year is of {data.region}, the policy of {policy.code}")
    if data.year < 1900:
        raise LoadError("the region-year has no bills, so no year: nothing to load")
    if bool((data.persons.get_column("person") < 0).any()):
        raise LoadError("a person key is negative")
    if not len(policy.admdvs) == 6 or not policy.admdvs.isdigit():
        raise LoadError(f"{policy.code}: admdvs {policy.admdvs!r} is not a 6-digit code")
    check_facts(data)


def _refuse_if_loaded(conn: Connection, policy: RegionPolicy, data: RegionYear) -> None:
    p, e = t.persons.c, t.enrolments.c
    enrolled = conn.execute(
        select(p.id)
        .select_from(t.persons.join(t.enrolments, e.person_id == p.id))
        .where(p.region == policy.code, e.year == data.year)
        .limit(1)
    ).first()
    if enrolled is not None:
        raise LoadError(
            f"{policy.code} already has persons enrolled for {data.year} (such as "
            f"{enrolled.id}): a region-year loads only into a region without them"
        )
    prefix = id_prefix(policy.code, data.year)
    taken = conn.execute(select(p.id).where(p.id.like(prefix + "%")).limit(1)).first()
    if taken is not None:
        raise LoadError(
            f"person ids starting {prefix} are taken (such as {taken.id}, another region "
            f"with the capitals {region_prefix(policy.code)}?)"
        )
