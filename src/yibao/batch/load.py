"""Load a generated region-year into the yibao database (SQLite or PostgreSQL).

`load_region_year(engine, policy, data)` writes, in one transaction, what the registry
needs for the year's persons and their bills as stored settlements, in the shape the
settlement service writes them (service/booking.py), so that `yibao verify`, the yearly
serious-illness run, statements, the console and a card settlement at the counter all
work on a loaded year as on one settled bill by bill:

- the region (from its policy) if the database does not have it, and the demo catalogue
  if the region has none (so that the loaded persons' cards can settle new bills);
- the institutions the bills and approvals name that are not registered yet;
- each person: an id (`SC26-00000017`: the region's two capitals, the year, the key), a
  resident ID number per GB 11643 consistent with the birth date and sex, a name; the
  enrolment for the year (active, with the premium's parts), an active card, approvals,
  filings, and a referral for each day a bill elsewhere was referred;
- the year's bills, settled by the columnar engine (`columnar.settle`), as settlements
  (seq in the order of settlement), their lines (one per catalogue class with an
  amount), the fund ledger's entries and each person-year's accumulators.

The columnar engine gives every amount but neither the explanation's steps, nor a
refusal's reason, nor the accumulators' JSON: those come from the scalar engine, run
per person on the same bills (`to_scalar`, `settle_year`), which also checks every
split against the columnar one; if one fen differs, nothing is loaded
(`EngineMismatchError`). A region that already has persons enrolled for the year is refused
(`LoadError`), as is anything else wrong with the data, before anything is written.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import psycopg
from sqlalchemy import Connection, Table, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from yibao.adapters.db import tables as t
from yibao.adapters.db.ledger_repo import year_state
from yibao.batch.cluster import GOLDEN
from yibao.batch.columnar import BatchResult, settle
from yibao.batch.frames import CLASS_COLUMNS, RegionYear, to_scalar
from yibao.batch.solver import round_half_up
from yibao.domain.engine import settle_year
from yibao.domain.enrolment import premium_for
from yibao.domain.ids import CHECK, WEIGHTS
from yibao.domain.model import Kind, Scheme
from yibao.domain.money import to_fen
from yibao.domain.parameters import PolicyGapError, RegionPolicy
from yibao.service.booking import split_fen
from yibao.service.demo import _GIVEN, _SURNAME_CUM, _SURNAME_LIST, catalogue, region_prefix

# GB 11643's weights of the 17 digits (domain.ids.check_character) and check characters.
CHUNK = 10_000  # persons settled by the scalar engine and written at a time
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
    referrals: int
    basic_fen: int
    assistance_fen: int
    seconds: float

    def describe(self) -> str:
        return (
            f"{self.persons:,} persons and {self.settlements:,} settlements of {self.region} "
            f"{self.year} loaded in {self.seconds:.1f} s ({self.institutions_added} institutions "
            f"and {self.catalogue_items_added} catalogue items added, {self.approvals} approvals, "
            f"{self.filings} filings, {self.referrals} referrals); the basic fund owes "
            f"{Decimal(self.basic_fen).scaleb(-2):,.2f}, assistance "
            f"{Decimal(self.assistance_fen).scaleb(-2):,.2f} yuan"
        )


def id_prefix(region: str, year: int) -> str:
    """What every loaded person id of a region-year starts with: `SC26-`."""
    return f"{region_prefix(region)}{year % 100:02d}-"


def person_id(region: str, year: int, key: int) -> str:
    """The registry id of the person with this key in a loaded region-year."""
    return f"{id_prefix(region, year)}{key:08d}"


def card_number(region: str, year: int, key: int) -> str:
    """The card of a loaded person: 11 digits after the capitals (the demo's have 10)."""
    return f"{region_prefix(region)}{year % 100:02d}{key:09d}"


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
        loader = _Loader(conn, policy, data, result)
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
    t.settlements,
    t.settlement_lines,
    t.fund_ledger,
    t.person_years,
)


# --- checks --------------------------------------------------------------------------------


def _check_frames(policy: RegionPolicy, data: RegionYear) -> None:
    if data.region != policy.code:
        raise LoadError(f"the region-year is of {data.region}, the policy of {policy.code}")
    if data.year < 1900:
        raise LoadError("the region-year has no bills, so no year: nothing to load")
    if bool((data.persons.get_column("person") < 0).any()):
        raise LoadError("a person key is negative")
    if not len(policy.admdvs) == 6 or not policy.admdvs.isdigit():
        raise LoadError(f"{policy.code}: admdvs {policy.admdvs!r} is not a 6-digit code")


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


# --- the loader ------------------------------------------------------------------------------


class _Loader:
    def __init__(
        self, conn: Connection, policy: RegionPolicy, data: RegionYear, result: BatchResult
    ) -> None:
        self.conn = conn
        self.policy = policy
        self.data = data
        self.result = result
        self.region = policy.code
        self.year = data.year
        self.stamp = datetime.now(UTC)
        self.writer = _Writer(conn)
        self.persons = data.persons.sort("person")
        self.issuer: str | None = None

    def run(self, chunk: int, progress: Callable[[int, int], None] | None) -> dict[str, Any]:
        conn, region = self.conn, self.region
        if conn.execute(select(t.regions.c.code).where(t.regions.c.code == region)).first() is None:
            name = self.policy.name
            conn.execute(
                insert(t.regions).values(
                    code=region, name_zh=name.zh, name_en=name.en, admdvs=self.policy.admdvs
                )
            )
        items = self._catalogue()
        institutions = self._institutions()
        persons = self._persons()
        self.writer.write(t.persons, persons.drop("person", "scheme", "card"))
        self.writer.write(t.enrolments, self._enrolments(persons))
        self.writer.write(t.cards, self._cards(persons))
        approvals, filings = self._certificates()
        self.writer.write(t.approvals, approvals)
        self.writer.write(t.filings, filings)
        referrals = self._referrals()
        self.writer.write(t.referrals, referrals)
        totals = self._settlements(persons, chunk, progress)
        return {
            "region": region,
            "year": self.year,
            "persons": persons.height,
            "institutions_added": institutions.height,
            "catalogue_items_added": items,
            "approvals": approvals.height,
            "filings": filings.height,
            "referrals": referrals.height,
            **totals,
        }

    # --- the registry ----------------------------------------------------------------------

    def _catalogue(self) -> int:
        c = t.catalogue_items.c
        has = self.conn.execute(select(c.code).where(c.region == self.region).limit(1)).first()
        if has is not None:
            return 0
        items = catalogue()
        frame = pl.DataFrame(
            {
                "region": [self.region] * len(items),
                "code": [i.code for i in items],
                "name": [i.name for i in items],
                "cls": [i.cls.value for i in items],
                "unit_price_fen": [
                    None if i.unit_price is None else to_fen(i.unit_price) for i in items
                ],
            },
            schema_overrides={"unit_price_fen": pl.Int64},
        )
        self.writer.write(t.catalogue_items, frame)
        return len(items)

    def _institutions(self) -> pl.DataFrame:
        """The institutions the bills and approvals name that are not registered yet.

        A settlement keeps the institution as its bill had it (level, region, designation,
        pilot); the registry row of a place is the most common of its bills' (the generator
        draws designation and a stay elsewhere per bill, under ids shared by regions). A
        hospital only an approval names is a designated level-3 hospital of the region."""
        enc = self.data.encounters.with_columns(pl.col("hospital_region").fill_null(self.region))
        variants = (
            enc.group_by("hospital", "hospital_region", "level", "designated", "pilot")
            .agg(
                pl.len().alias("bills"),
                (pl.col("kind") == Kind.PHARMACY.value).all().alias("pharmacy"),
            )
            .sort(
                "hospital",
                "bills",
                "hospital_region",
                "level",
                "designated",
                "pilot",
                descending=[False, True, False, False, False, False],
            )
        )
        places = variants.group_by("hospital", maintain_order=True).agg(
            pl.col("hospital_region", "level", "designated", "pilot").first(),
            pl.col("bills").sum(),
            pl.col("pharmacy").all(),
        )
        approved = (
            self.persons.select(pl.col("approvals").explode().struct.field("hospital"))
            .drop_nulls()
            .unique()
            .filter(~pl.col("hospital").is_in(places.get_column("hospital").implode()))
            .sort("hospital")
        )
        places = pl.concat(
            [
                places,
                approved.select(
                    "hospital",
                    pl.lit(self.region).alias("hospital_region"),
                    pl.lit(3, dtype=pl.Int8).alias("level"),
                    pl.lit(True).alias("designated"),
                    pl.lit(False).alias("pilot"),
                    pl.lit(0, dtype=pl.UInt32).alias("bills"),
                    pl.lit(False).alias("pharmacy"),
                ),
            ],
            how="vertical_relaxed",
        )
        self.issuer = _issuer(places, self.region)
        known = self._existing(t.institutions.c.id, places.get_column("hospital").to_list())
        new = places.filter(~pl.col("hospital").is_in(_strings(known)))
        too_long = new.filter(pl.col("hospital").str.len_chars() > 32)
        if too_long.height:
            raise LoadError(f"institution id {too_long['hospital'][0]!r} is over 32 characters")
        frame = new.select(
            pl.col("hospital").alias("id"),
            pl.col("hospital_region").alias("region"),
            pl.format("{} ({})", "hospital", "hospital_region").alias("name"),
            pl.col("level").cast(pl.Int16),
            pl.when("pharmacy")
            .then(pl.lit("pharmacy"))
            .otherwise(pl.lit("hospital"))
            .alias("kind"),
            "designated",
            "pilot",
        )
        self.writer.write(t.institutions, frame)
        return frame

    def _existing(self, column: Any, values: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(values), 1000):
            rows = self.conn.execute(select(column).where(column.in_(values[i : i + 1000])))
            found.update(str(r[0]) for r in rows)
        return found

    def _persons(self) -> pl.DataFrame:
        """Each person's registry row (and `person` key, `scheme`, kept for what follows)."""
        persons = self.persons.with_columns(_hash("person").alias("_h"))
        persons = persons.with_columns(
            pl.when(_bits("_h", 63, 2) == 1).then(pl.lit("M")).otherwise(pl.lit("F")).alias("sex")
        )
        persons = _sequences(persons, self._used_sequences())
        prefix = region_prefix(self.region)
        yy = f"{self.year % 100:02d}"
        return persons.select(
            "person",
            "scheme",
            pl.concat_str(pl.lit(f"{prefix}{yy}-"), _digits("person", 8)).alias("id"),
            _resident_id(self.policy.admdvs).alias("id_number"),
            _names().alias("name"),
            "birth_date",
            "sex",
            pl.lit(self.region).alias("region"),
            "assistance",
            "retired",
            pl.col("contribution_years").cast(pl.Int16),
            pl.concat_str(pl.lit(f"{prefix}{yy}"), _digits("person", 9)).alias("card"),
        )

    def _used_sequences(self) -> pl.DataFrame:
        """Birth date and sequence of the resident ID numbers of the region's address code
        already in the database: a loaded person never takes one of them."""
        c = t.persons.c
        numbers = [
            str(r[0])
            for r in self.conn.execute(
                select(c.id_number).where(c.id_number.like(self.policy.admdvs + "%"))
            )
        ]
        return pl.DataFrame({"n": numbers}, schema={"n": pl.String}).select(
            pl.col("n").str.slice(6, 8).str.to_date("%Y%m%d", strict=False).alias("birth_date"),
            pl.col("n").str.slice(14, 3).cast(pl.Int64, strict=False).alias("seq"),
        )

    def _enrolments(self, persons: pl.DataFrame) -> pl.DataFrame:
        premiums = pl.DataFrame(
            [self._premium(s.value, a) for s in Scheme for a in (False, True)],
            schema={
                "scheme": pl.String,
                "assistance": pl.Boolean,
                "personal_fen": pl.Int64,
                "subsidy_fen": pl.Int64,
                "assistance_fen": pl.Int64,
                "paid_on": pl.Date,
            },
        )
        return persons.join(
            premiums, on=["scheme", "assistance"], how="left", maintain_order="left"
        ).select(
            pl.col("id").alias("person_id"),
            pl.lit(self.year, dtype=pl.Int16).alias("year"),
            "scheme",
            pl.lit("active").alias("status"),
            pl.lit(date(self.year, 1, 1)).alias("valid_from"),
            pl.lit(date(self.year, 12, 31)).alias("valid_to"),
            pl.lit("demo").alias("channel"),
            pl.col("personal_fen").fill_null(0),
            pl.col("subsidy_fen").fill_null(0),
            pl.col("assistance_fen").fill_null(0),
            "paid_on",
            self._created_at(),
        )

    def _premium(self, scheme: str, assistance: bool) -> dict[str, Any]:
        """The premium as enrolment would have split it, paid in the window (employees pay
        through their employer: nothing here), as the demo's enrolments have it."""
        none = {"personal_fen": 0, "subsidy_fen": 0, "assistance_fen": 0, "paid_on": None}
        rules = self.policy.enrolment
        if rules is None or scheme == Scheme.EMPLOYEE.value:
            return {"scheme": scheme, "assistance": assistance, **none}
        try:
            split = premium_for(rules, scheme, self.year, assistance)
        except (LookupError, PolicyGapError):
            return {"scheme": scheme, "assistance": assistance, **none}
        return {
            "scheme": scheme,
            "assistance": assistance,
            "personal_fen": to_fen(split.personal),
            "subsidy_fen": to_fen(split.subsidy),
            "assistance_fen": to_fen(split.assistance),
            "paid_on": date(self.year - 1, 10, 20),
        }

    def _cards(self, persons: pl.DataFrame) -> pl.DataFrame:
        return persons.select(
            pl.col("card").alias("number"),
            pl.col("id").alias("person_id"),
            pl.lit("active").alias("status"),
            pl.max_horizontal(pl.lit(date(self.year - 1, 12, 1)), pl.col("birth_date")).alias(
                "issued_on"
            ),
        )

    def _certificates(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        ids = self._ids()
        approvals = (
            self.persons.select("person", "approvals")
            .explode("approvals")
            .drop_nulls("approvals")
            .unnest("approvals")
            .select(
                ids.alias("person_id"),
                "disease",
                pl.col("hospital").alias("hospital_id"),
                "valid_from",
                "valid_to",
                pl.lit("approved").alias("status"),
            )
        )
        filings = (
            self.persons.select("person", "filings")
            .explode("filings")
            .drop_nulls("filings")
            .unnest("filings")
            .select(
                ids.alias("person_id"),
                "region",
                "valid_from",
                "valid_to",
                pl.lit("agency").alias("channel"),
                pl.lit(WHO).alias("created_by"),
                self._created_at(),
            )
        )
        return approvals, filings

    def _referrals(self) -> pl.DataFrame:
        """A referral certificate for each day a bill elsewhere came with one, to that
        region, valid that day: the service finds the same flag for the bill. The data
        does not say who referred: the region's busiest hospital of the highest level."""
        referred = (
            self.data.encounters.filter(
                pl.col("referral") & (pl.col("hospital_region") != self.region)
            )
            .sort("person", "date", "seq")
            .group_by("person", "hospital_region", "date", maintain_order=True)
            .agg(pl.col("diagnosis").first(), pl.col("hospital").first())
        )
        return referred.select(
            self._ids().alias("person_id"),
            (pl.lit(self.issuer) if self.issuer else pl.col("hospital")).alias("issued_by"),
            pl.col("hospital_region").alias("to_region"),
            pl.col("date").alias("valid_from"),
            pl.col("date").alias("valid_to"),
            pl.col("diagnosis").str.slice(0, 16),
            pl.lit(WHO).alias("created_by"),
            self._created_at(),
        )

    def _ids(self) -> pl.Expr:
        """The registry id of the person key in the column `person`."""
        yy = f"{self.year % 100:02d}"
        return pl.concat_str(pl.lit(f"{region_prefix(self.region)}{yy}-"), _digits("person", 8))

    def _created_at(self) -> pl.Expr:
        return pl.lit(self.stamp, dtype=pl.Datetime("us", "UTC")).alias("created_at")

    # --- the year's bills ----------------------------------------------------------------

    def _settlements(
        self, persons: pl.DataFrame, chunk: int, progress: Callable[[int, int], None] | None
    ) -> dict[str, int]:
        ids = self._reserve_ids(self.result.encounters.height)
        totals = {"settlements": 0, "person_years": 0, "basic_fen": 0, "assistance_fen": 0}
        # From here on the load only writes: on PostgreSQL a thread of its own COPYs each
        # chunk while the next one is settled (the database and Python work at once).
        if not self.writer.postgres:
            self._chunks(persons, chunk, ids, self.writer, totals, progress)
            return totals
        background = _Background(self.writer)
        try:
            self._chunks(persons, chunk, ids, background, totals, progress)
        except BaseException:
            background.close(abandon=True)  # the error at hand is the one to raise
            raise
        background.close()
        return totals

    def _chunks(
        self,
        persons: pl.DataFrame,
        chunk: int,
        ids: pl.Series | int,
        writer: _Writer | _Background,
        totals: dict[str, int],
        progress: Callable[[int, int], None] | None,
    ) -> None:
        result, places = self.result, self.result.places
        one = 10**places
        encounters = self.data.encounters.sort("person", "seq", maintain_order=True)
        settled = result.encounters  # in the order of settlement: by person, date, seq
        people = persons.select("person", "id", "scheme")
        year_of = result.persons.sort("person")
        keys = people.get_column("person")
        for start in range(0, people.height, chunk):
            stop = min(start + chunk, people.height)
            lo, hi = int(keys[start]), int(keys[stop - 1])
            mine = _between(encounters, lo, hi)
            ours = _between(settled, lo, hi)
            part = RegionYear(self.region, self.year, self.persons.slice(start, stop - start), mine)
            scalar, years = _scalar(self.policy, part)
            columnar = ours.select(
                "encounter",
                "route",
                pl.col("refused"),
                pl.col("total").alias("total_fen"),
                round_half_up(pl.col("eligible"), one).alias("eligible_fen"),
                pl.col("self_pay").alias("self_pay_fen"),
                round_half_up(pl.col("threshold"), one).alias("threshold_fen"),
                *(pl.col(c.removesuffix("_fen")).alias(c) for c in SPLIT[4:]),
            )
            _compare(columnar, scalar.drop("refused_reason", "explanation", "line_parts"))
            _compare_years(_between(year_of, lo, hi), years, places)
            rows = (
                ours.select("encounter", "person", "order")
                .join(mine, on="encounter", how="left", suffix="_e", maintain_order="left")
                .join(people, on="person", how="left", maintain_order="left")
                .hstack(columnar.drop("encounter"))
                .hstack(scalar.select("refused_reason", "explanation", "line_parts"))
                .with_columns(
                    pl.lit(ids).gather(pl.col("order")).alias("settlement_id")
                    if isinstance(ids, pl.Series)
                    else (pl.col("order") + ids).alias("settlement_id"),
                    (pl.int_range(pl.len()).over("person") + 1).alias("seq_in_year"),
                )
            )
            writer.write(t.settlements, self._settlement_rows(rows))
            writer.write(t.settlement_lines, _lines(rows))
            ledger = self._ledger(rows)
            writer.write(t.fund_ledger, ledger)
            writer.write(
                t.person_years,
                years.join(people, on="person", how="left", maintain_order="left").select(
                    pl.col("id").alias("person_id"),
                    pl.lit(self.year, dtype=pl.Int16).alias("year"),
                    "state",
                    "settled",
                ),
            )
            totals["settlements"] += rows.height
            totals["person_years"] += years.height
            for layer in ("basic", "assistance"):
                totals[f"{layer}_fen"] += int(
                    ledger.filter(pl.col("layer") == layer).get_column("amount_fen").sum()
                )
            if progress is not None:
                progress(stop, people.height)

    def _reserve_ids(self, n: int) -> pl.Series | int:
        """Settlement ids for n new rows: from the id sequence on PostgreSQL (other sessions
        may take ids meanwhile), after the largest on SQLite (the load holds the write lock).
        The n-th bill in the order of settlement takes the n-th id."""
        if self.conn.dialect.name == "postgresql":
            rows = self.conn.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence('settlements', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": n},
            )
            return pl.Series([int(r[0]) for r in rows], dtype=pl.Int64).sort()
        largest = self.conn.execute(select(func.coalesce(func.max(t.settlements.c.id), 0)))
        return int(largest.scalar_one()) + 1

    def _settlement_rows(self, rows: pl.DataFrame) -> pl.DataFrame:
        return rows.select(
            pl.col("settlement_id").alias("id"),
            pl.col("id").alias("person_id"),
            pl.lit(self.year, dtype=pl.Int16).alias("year"),
            pl.col("seq_in_year").cast(pl.Int32).alias("seq"),
            pl.lit("card").alias("channel"),
            pl.col("hospital").alias("institution_id"),
            pl.col("level").cast(pl.Int16).alias("hospital_level"),
            pl.col("hospital_region").fill_null(self.region),
            pl.col("designated").alias("hospital_designated"),
            pl.col("pilot").alias("hospital_pilot"),
            pl.lit(self.region).alias("region"),
            "scheme",
            "kind",
            pl.col("date").alias("encounter_date"),
            "diagnosis",
            "disease",
            "referral",
            "prescription",
            *SPLIT,
            "route",
            pl.col("refused").alias("refused_code"),
            "refused_reason",
            "explanation",
            pl.lit("settled").alias("status"),
            self._created_at(),
        )

    def _ledger(self, rows: pl.DataFrame) -> pl.DataFrame:
        """booking.ledger_entries: what each fund owes the institution, one entry a layer
        with an amount, `entry` the channel (card)."""
        return (
            rows.select(
                pl.lit(self.region).alias("region"),
                pl.lit(self.year, dtype=pl.Int16).alias("year"),
                pl.col("date").dt.strftime("%Y-%m").alias("month"),
                pl.col("hospital").alias("institution_id"),
                "scheme",
                "settlement_id",
                pl.col("basic_fen").alias("basic"),
                pl.col("assistance_fen").alias("assistance"),
            )
            .unpivot(
                ["basic", "assistance"],
                index=["region", "year", "month", "institution_id", "scheme", "settlement_id"],
                variable_name="layer",
                value_name="amount_fen",
            )
            .filter(pl.col("amount_fen") != 0)
            .sort("settlement_id", maintain_order=True)
            .select(
                "region",
                "year",
                "month",
                "institution_id",
                "scheme",
                "layer",
                "amount_fen",
                "settlement_id",
                pl.lit("card").alias("entry"),
                self._created_at(),
            )
        )


# --- the scalar engine, per person ----------------------------------------------------------


def _scalar(policy: RegionPolicy, part: RegionYear) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What the service stores of each bill that only the scalar engine gives (the
    refusal's reason, the explanation), its split to check the columnar one, and each
    person-year's accumulators (as JSON, with what checks them)."""
    encounter: list[int] = []
    route: list[str] = []
    refused: list[str | None] = []
    split: dict[str, list[int]] = {c: [] for c in SPLIT}
    reasons: list[str | None] = []
    explanations: list[str] = []
    line_parts: list[list[dict[str, Any]]] = []
    years: dict[str, list[Any]] = {
        "person": [],
        "state": [],
        "settled": [],
        "personal": [],
        "si_base": [],
    }
    for person, bills in to_scalar(part):
        if not bills:
            continue
        year, acc = settle_year(policy, person, part.year, bills)
        for r in year.encounters:
            encounter.append(int(r.encounter_id))
            route.append(r.route.value)
            refused.append(None if r.refused is None else r.refused.code)
            for column, fen in split_fen(r).items():
                split[column].append(fen)
            reasons.append(
                None
                if r.refused is None
                else json.dumps(asdict(r.refused.reason), ensure_ascii=False)
            )
            explanations.append(json.dumps([s.to_dict() for s in r.steps], ensure_ascii=False))
            line_parts.append(
                [
                    {
                        "over_limit_fen": to_fen(ln.over_limit),
                        "full_self_pay_fen": to_fen(ln.full_self_pay),
                        "first_self_pay": str(ln.first_self_pay),
                        "eligible": str(ln.eligible),
                    }
                    for ln in r.lines
                ]
            )
        years["person"].append(int(person.id))
        years["state"].append(year_state(acc))
        years["settled"].append(len(bills))
        years["personal"].append(to_fen(acc.personal))
        years["si_base"].append(str(acc.personal_on_eligible))
    bills_frame = pl.DataFrame(
        {
            "encounter": encounter,
            "route": route,
            "refused": refused,
            **split,
            "refused_reason": reasons,
            "explanation": explanations,
            "line_parts": line_parts,
        },
        schema_overrides={
            "encounter": pl.Int64,
            "route": pl.String,
            "refused": pl.String,
            **dict.fromkeys(SPLIT, pl.Int64),
            "refused_reason": pl.String,
            "explanation": pl.String,
            "line_parts": pl.List(PARTS),
        },
    )
    years_frame = pl.DataFrame(
        years,
        schema={
            "person": pl.Int64,
            "state": pl.String,
            "settled": pl.Int32,
            "personal": pl.Int64,
            "si_base": pl.String,
        },
    )
    return bills_frame, years_frame


def _compare(columnar: pl.DataFrame, scalar: pl.DataFrame) -> None:
    if columnar.equals(scalar):
        return
    if columnar.height != scalar.height:
        raise EngineMismatchError(
            f"the columnar engine settled {columnar.height} bills, the scalar {scalar.height}"
        )
    for a, b in zip(columnar.iter_rows(named=True), scalar.iter_rows(named=True), strict=True):
        if a != b:
            differ = {k: (a[k], b[k]) for k in a if a[k] != b[k]}
            raise EngineMismatchError(
                f"encounter {a['encounter']}: the engines disagree (columnar, scalar): {differ}; "
                "nothing was loaded"
            )


def _compare_years(columnar: pl.DataFrame, scalar: pl.DataFrame, places: int) -> None:
    """The year's personal payment and serious-illness base, as the accumulators hold them."""
    both = scalar.join(columnar, on="person", how="left", suffix="_c")
    for row in both.iter_rows(named=True):
        personal = int(row["personal_c"] or 0) + int(row["serious_illness"] or 0)
        base = Decimal(int(row["si_base_c"] or 0)).scaleb(-(2 + places))
        if personal != row["personal"] or base != Decimal(row["si_base"]):
            raise EngineMismatchError(
                f"person {row['person']}: the engines disagree on the year's accumulators; "
                "nothing was loaded"
            )


# --- frames to rows --------------------------------------------------------------------------


def _between(frame: pl.DataFrame, lo: int, hi: int) -> pl.DataFrame:
    """The rows of persons lo..hi of a frame sorted by `person`."""
    column = frame.get_column("person")
    start = int(column.search_sorted(lo, side="left"))
    stop = int(column.search_sorted(hi, side="right"))
    return frame.slice(start, stop - start)


def _lines(rows: pl.DataFrame) -> pl.DataFrame:
    """The lines as `to_scalar` gives them to the engine: one per catalogue class with an
    amount (a bill of nothing: one class-A line of 0), then the bill's catalogue items
    (exact quantity, unit price, cap and ratio as text); each with its parts as the
    scalar engine settled it. The code is unknown."""
    classes = list(CLASS_COLUMNS.items())
    nothing = pl.sum_horizontal([pl.col(c) for _, c in classes]) == 0
    nothing = nothing & (pl.col("items").list.len() == 0)
    parts = [
        rows.select(
            pl.col("settlement_id"),
            pl.lit(i, dtype=pl.Int8).alias("_c"),
            pl.lit(cls.value).alias("cls"),
            pl.lit("1").alias("quantity"),
            pl.col(column).alias("unit_price_fen"),
            pl.col(column).alias("amount_fen"),
            pl.lit(None, dtype=pl.String).alias("unit_price"),
            pl.lit(None, dtype=pl.String).alias("cap"),
            pl.lit(None, dtype=pl.String).alias("ratio"),
            pl.lit(False).alias("restricted"),
            ((pl.col(column) != 0) | (nothing if i == 0 else pl.lit(False))).alias("_keep"),
        )
        for i, (cls, column) in enumerate(classes)
    ]
    items = _item_lines(rows, len(classes))
    if items is not None:
        parts.append(items)
    lines = pl.concat(parts).filter("_keep").sort("settlement_id", "_c", maintain_order=True)
    lines = lines.with_columns(
        (pl.int_range(pl.len()).over("settlement_id") + 1).cast(pl.Int16).alias("line_no")
    )
    settled = (
        rows.select("settlement_id", "line_parts")
        .explode("line_parts")
        .with_columns(
            (pl.int_range(pl.len()).over("settlement_id") + 1).cast(pl.Int16).alias("line_no")
        )
        .unnest("line_parts")
    )
    return lines.join(settled, on=["settlement_id", "line_no"], how="left").select(
        "settlement_id",
        "line_no",
        pl.lit(None, dtype=pl.String).alias("code"),
        pl.lit(None, dtype=pl.String).alias("name"),
        "cls",
        "quantity",
        "unit_price_fen",
        "amount_fen",
        "unit_price",
        "cap",
        "ratio",
        "restricted",
        "over_limit_fen",
        "full_self_pay_fen",
        "first_self_pay",
        "eligible",
    )


def _item_lines(rows: pl.DataFrame, order: int) -> pl.DataFrame | None:
    """The bills' catalogue items as lines (`frames.ITEM`'s integers as exact text)."""
    items = rows.select("settlement_id", "items").explode("items").drop_nulls("items")
    if not items.height:
        return None
    q, price = pl.col("quantity"), pl.col("unit_price")
    return items.unnest("items").select(
        "settlement_id",
        pl.lit(order, dtype=pl.Int8).alias("_c"),
        "cls",
        _exact(q, 3).alias("quantity"),
        round_half_up(price, 100).alias("unit_price_fen"),
        round_half_up(q * price, 100_000).alias("amount_fen"),
        _exact(price, 4).alias("unit_price"),
        _exact(pl.col("cap"), 4).alias("cap"),
        _exact(pl.col("ratio"), 4).alias("ratio"),
        pl.col("outside").alias("restricted"),
        pl.lit(True).alias("_keep"),
    )


def _exact(scaled: pl.Expr, places: int) -> pl.Expr:
    """A non-negative integer in 10**-places as exact decimal text ("1.500")."""
    unit = 10**places
    text = pl.format(
        "{}.{}",
        (scaled // unit).cast(pl.String),
        (scaled % unit).cast(pl.String).str.zfill(places),
    )
    return pl.when(scaled.is_null()).then(None).otherwise(text)


def _strings(values: set[str]) -> pl.Expr:
    return pl.lit(pl.Series(sorted(values), dtype=pl.String).implode())


def _hash(column: str) -> pl.Expr:
    """Fibonacci hashing of a key (as `cluster.partition_of`): stable everywhere."""
    return pl.col(column).cast(pl.UInt64) * pl.lit(GOLDEN, dtype=pl.UInt64)


def _bits(column: str, shift: int, modulo: int) -> pl.Expr:
    """(column >> shift) % modulo of an unsigned 64-bit hash."""
    return (pl.col(column) // pl.lit(1 << shift, dtype=pl.UInt64)) % pl.lit(modulo, dtype=pl.UInt64)


def _digits(column: str, width: int) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.zfill(width)


def _sequences(persons: pl.DataFrame, used: pl.DataFrame) -> pl.DataFrame:
    """The sequence part of each resident ID number (odd for men, even for women), unique
    for the birth date among the loaded persons and the numbers already in the database."""
    persons = persons.with_columns(
        (
            pl.int_range(pl.len()).over("birth_date", "sex") * 2
            + pl.when(pl.col("sex") == "M").then(1).otherwise(2)
        ).alias("seq")
    )
    if used.height:
        taken: dict[date, set[int]] = {}
        for day, seq in used.drop_nulls().iter_rows():
            taken.setdefault(day, set()).add(int(seq))
        clash = persons.filter(
            pl.col("birth_date").is_in(pl.Series(sorted(taken), dtype=pl.Date).implode())
        )
        if clash.height:
            fixed: list[tuple[int, int]] = []
            for (day, sex), group in clash.group_by("birth_date", "sex", maintain_order=True):
                assert isinstance(day, date)
                free = (s for s in range(1 if sex == "M" else 2, 1000, 2) if s not in taken[day])
                for key in group.get_column("person"):
                    fixed.append((int(key), next(free, 1000)))
            again = pl.DataFrame(fixed, schema={"person": pl.Int64, "seq": pl.Int64}, orient="row")
            persons = persons.update(again, on="person").sort("person")
    full = persons.filter(pl.col("seq") > 999)
    if full.height:
        day, sex = full.row(0, named=True)["birth_date"], full.row(0, named=True)["sex"]
        raise LoadError(
            f"more persons of sex {sex} born on {day} than resident ID numbers of one "
            "address code and birth date (500 a sex)"
        )
    return persons


def _resident_id(admdvs: str) -> pl.Expr:
    """GB 11643: address code, birth date, sequence, and the ISO 7064 MOD 11-2 check
    character (`domain.ids.check_character`), computed on the columns."""
    year, month, day = (
        pl.col("birth_date").dt.year(),
        pl.col("birth_date").dt.month(),
        pl.col("birth_date").dt.day(),
    )
    seq = pl.col("seq")
    digits = [pl.lit(int(d)) for d in admdvs] + [
        year // 1000,
        year // 100 % 10,
        year // 10 % 10,
        year % 10,
        month // 10,
        month % 10,
        day // 10,
        day % 10,
        seq // 100,
        seq // 10 % 10,
        seq % 10,
    ]
    total = pl.sum_horizontal(d.cast(pl.Int64) * w for d, w in zip(digits, WEIGHTS, strict=True))
    check = pl.lit(pl.Series(list(CHECK))).gather(total % 11)
    return pl.concat_str(
        pl.lit(admdvs),
        pl.col("birth_date").dt.strftime("%Y%m%d"),
        seq.cast(pl.String).str.zfill(3),
        check,
    )


def _names() -> pl.Expr:
    """A surname by the demo's weights and a given name of the birth decade and sex."""
    total = _SURNAME_CUM[-1]
    surname = pl.lit(pl.Series(_SURNAME_LIST)).gather(
        pl.lit(pl.Series(_SURNAME_CUM, dtype=pl.Int64)).search_sorted(
            (_bits("_h", 20, total)).cast(pl.Int64), side="right"
        )
    )
    born = pl.col("birth_date").dt.year()
    era = (
        pl.when(born < 1960)
        .then(0)
        .when(born < 1980)
        .then(1)
        .when(born < 2000)
        .then(2)
        .otherwise(3)
    )
    flat: list[str] = []
    offsets: dict[tuple[int, str], tuple[int, int]] = {}
    for key, names in sorted(_GIVEN.items()):
        offsets[key] = (len(flat), len(names))
        flat.extend(names)
    start = pl.lit(0, dtype=pl.Int64)
    length = pl.lit(1, dtype=pl.Int64)
    for (e, sex), (offset, n) in offsets.items():
        match = (era == e) & (pl.col("sex") == sex)
        start = pl.when(match).then(offset).otherwise(start)
        length = pl.when(match).then(n).otherwise(length)
    given = pl.lit(pl.Series(flat)).gather(
        start + (_bits("_h", 40, 1 << 24) % length.cast(pl.UInt64)).cast(pl.Int64)
    )
    return pl.concat_str(surname, given)


def _issuer(places: pl.DataFrame, region: str) -> str | None:
    """Who stands for the issuer of the referrals: the region's designated hospital of
    the highest level with the most bills."""
    local = places.filter(
        (pl.col("hospital_region") == region) & pl.col("designated") & ~pl.col("pharmacy")
    ).sort("level", "bills", "hospital", descending=[True, True, False])
    return None if local.is_empty() else str(local.get_column("hospital")[0])


class _Writer:
    """Bulk inserts in the load's transaction: COPY on PostgreSQL (psycopg, CSV made by
    Polars), executemany on SQLite (through SQLAlchemy, which stores dates and times as
    the rest of yibao's rows have them)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"

    def write(self, table: Table, frame: pl.DataFrame) -> None:
        if frame.is_empty():
            return
        unknown = [c for c in frame.columns if c not in table.c]
        assert not unknown, f"{table.name} has no columns {unknown}"
        if self.postgres:
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            raw = self.conn.connection.driver_connection
            assert raw is not None
            copy_sql = f'COPY "{table.name}" ({columns}) FROM STDIN (FORMAT csv)'
            try:
                with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
                    for part in frame.iter_slices(20_000):
                        copy.write(part.write_csv(include_header=False))
            except psycopg.Error as exc:
                reason = str(exc).strip().splitlines()[0]
                raise LoadError(
                    f"the database refused a row of {table.name}, nothing was loaded: {reason}"
                ) from None
        else:
            statement = insert(table)
            for part in frame.iter_slices(5_000):
                self.conn.execute(statement, part.to_dicts())


class _Background:
    """A `_Writer` in a thread of its own: `write` queues a frame (at most two wait) and
    returns; `close` waits for the last and raises what the thread met, if anything. The
    connection is the thread's alone until then."""

    def __init__(self, writer: _Writer) -> None:
        self.writer = writer
        self.queue: queue.Queue[tuple[Table, pl.DataFrame] | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.abandoned = False
        self.thread = threading.Thread(target=self._run, name="yibao-load-copy", daemon=True)
        self.thread.start()

    def write(self, table: Table, frame: pl.DataFrame) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((table, frame))

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is None and not self.abandoned:
                try:
                    self.writer.write(*item)
                except BaseException as exc:  # handed to the caller by write() or close()
                    self.error = exc

    def close(self, *, abandon: bool = False) -> None:
        self.abandoned = abandon  # what is still queued is not written
        self.queue.put(None)
        self.thread.join()
        if self.error is not None and not abandon:
            error, self.error = self.error, None
            raise error
