"""The loader of one region-year (load.py): the registry's rows for its persons, then
their bills as settlements, written in chunks in the load's one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, insert, select, text

from yibao.adapters.db import tables as t
from yibao.adapters.db.tables_clearing import clearings, region_ledger
from yibao.batch.columnar import BatchResult
from yibao.batch.frames import RegionYear
from yibao.batch.load_common import SPLIT, WHO, LoadError
from yibao.batch.load_facts import category_rows, facts_columns, with_origins
from yibao.batch.load_places import institution_rows, places
from yibao.batch.load_rows import (
    between,
    bits,
    digits,
    hashed,
    issuer_of,
    line_rows,
    names_expr,
    resident_id,
    sequences,
    strings,
)
from yibao.batch.load_scalar import compare, compare_years, scalar_years
from yibao.batch.load_writer import Background, Writer
from yibao.batch.solver import round_half_up
from yibao.domain.enrolment import premium_for
from yibao.domain.model import Scheme
from yibao.domain.money import to_fen
from yibao.domain.parameters import PolicyGapError, RegionPolicy
from yibao.service.booking import SETTLEMENT_COLUMNS
from yibao.service.demo import catalogue, region_prefix


class Loader:
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
        self.writer = Writer(conn)
        self.persons = data.persons.sort("person")
        self.issuer: str | None = None
        # The other registered regions and the clearings made (month|a|b), read once.
        self._books: tuple[set[str], set[str]] | None = None

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
        categories = category_rows(self.persons, self._ids(), self._created_at())
        self.writer.write(t.person_categories, categories)
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
            "categories": categories.height,
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
        pilot, type, province); the registry row of a place is the most common of its
        bills' (the generator draws designation and a stay elsewhere per bill, under ids
        shared by regions), so that the counter reads the same type and province class. A
        hospital only an approval names is a designated level-3 hospital of the region."""
        found = places(self.data.encounters, self.persons, self.region)
        self.issuer = issuer_of(found, self.region)
        known = self._existing(t.institutions.c.id, found.get_column("hospital").to_list())
        new = found.filter(~pl.col("hospital").is_in(strings(known)))
        too_long = new.filter(pl.col("hospital").str.len_chars() > 32)
        if too_long.height:
            raise LoadError(f"institution id {too_long['hospital'][0]!r} is over 32 characters")
        regions = {str(r.code): str(r.admdvs) for r in self.conn.execute(select(t.regions))}
        frame = institution_rows(new, self.region, self.policy.admdvs, regions)
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
        persons = self.persons.with_columns(hashed("person").alias("_h"))
        persons = persons.with_columns(
            pl.when(bits("_h", 63, 2) == 1).then(pl.lit("M")).otherwise(pl.lit("F")).alias("sex")
        )
        persons = sequences(persons, self._used_sequences())
        prefix = region_prefix(self.region)
        yy = f"{self.year % 100:02d}"
        return persons.select(
            "person",
            "scheme",
            pl.concat_str(pl.lit(f"{prefix}{yy}-"), digits("person", 8)).alias("id"),
            resident_id(self.policy.admdvs).alias("id_number"),
            names_expr().alias("name"),
            "birth_date",
            "sex",
            pl.lit(self.region).alias("region"),
            "assistance",
            "retired",
            pl.col("contribution_years").cast(pl.Int16),
            pl.concat_str(pl.lit(f"{prefix}{yy}"), digits("person", 9)).alias("card"),
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
        return pl.concat_str(pl.lit(f"{region_prefix(self.region)}{yy}-"), digits("person", 8))

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
        background = Background(self.writer)
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
        writer: Writer | Background,
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
            mine = between(encounters, lo, hi)
            ours = between(settled, lo, hi)
            part = RegionYear(self.region, self.year, self.persons.slice(start, stop - start), mine)
            scalar, years = scalar_years(self.policy, part)
            columnar = _columnar_split(ours, one)
            compare(columnar, scalar.drop("refused_reason", "explanation", "line_parts"))
            compare_years(between(year_of, lo, hi), years, places)
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
            self._write_chunk(writer, rows, years, people, totals)
            if progress is not None:
                progress(stop, people.height)

    def _write_chunk(
        self,
        writer: Writer | Background,
        rows: pl.DataFrame,
        years: pl.DataFrame,
        people: pl.DataFrame,
        totals: dict[str, int],
    ) -> None:
        """A chunk's settlements, lines, fund ledger entries and person-years, written."""
        writer.write(t.settlements, self._settlement_rows(rows))
        writer.write(t.settlement_lines, line_rows(rows))
        ledger = self._ledger(rows)
        writer.write(t.fund_ledger, ledger)
        writer.write(region_ledger, self._region_moves(rows))
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

    def _region_moves(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The regions' books for bills at a place of another registered region, as
        clearing.book_settlement books them: the place of treatment's receivable and the
        insured place's payable of the fund's part (basic and assistance), in the month of
        the bill, or this month when that month's clearing of the pair is made already."""
        if self._books is None:
            regions = set(self.conn.execute(select(t.regions.c.code)).scalars())
            c = clearings.c
            cleared = {
                f"{r.month}|{r.region_a}|{r.region_b}"
                for r in self.conn.execute(select(c.month, c.region_a, c.region_b))
            }
            self._books = (regions - {self.region}, cleared)
        others, cleared = self._books
        treated = pl.col("hospital_region").fill_null(self.region)
        month = pl.col("date").dt.strftime("%Y-%m")
        a = pl.min_horizontal(treated, pl.lit(self.region))
        b = pl.max_horizontal(treated, pl.lit(self.region))
        moves = rows.filter(
            treated.is_in(strings(others)) & ((pl.col("basic_fen") + pl.col("assistance_fen")) != 0)
        ).select(
            "settlement_id",
            treated.alias("treated"),
            pl.lit(self.region).alias("insured"),
            pl.when(pl.concat_str(month, a, b, separator="|").is_in(strings(cleared)))
            .then(pl.lit(f"{self.stamp:%Y-%m}"))
            .otherwise(month)
            .alias("month"),
            (pl.col("basic_fen") + pl.col("assistance_fen")).alias("amount_fen"),
        )
        sides = [
            moves.select(
                pl.col(region).alias("region"),
                pl.col(other).alias("counterparty"),
                pl.lit(side).alias("side"),
                "settlement_id",
                pl.lit("settlement").alias("entry"),
                "month",
                "amount_fen",
                self._created_at(),
            )
            for region, other, side in (
                ("treated", "insured", "receivable"),
                ("insured", "treated", "payable"),
            )
        ]
        return pl.concat(sides)

    def _reserve_ids(self, n: int) -> pl.Series | int:
        """Settlement ids for n new rows: from the id sequence on PostgreSQL (other sessions
        may take ids meanwhile), after the largest on SQLite (the load holds the write lock).
        The n-th bill in the order of settlement takes the n-th id."""
        if self.conn.dialect.name == "postgresql":
            rows = self.conn.execute(
                text(
                    # The sequence found once (an InitPlan), not once an id:
                    # pg_get_serial_sequence searches pg_depend, ~4.6 us a call.
                    "SELECT nextval((SELECT pg_get_serial_sequence('settlements', 'id')"
                    "::regclass)) FROM generate_series(1, :n)"
                ),
                {"n": n},
            )
            return pl.Series([int(r[0]) for r in rows], dtype=pl.Int64).sort()
        largest = self.conn.execute(select(func.coalesce(func.max(t.settlements.c.id), 0)))
        return int(largest.scalar_one()) + 1

    def _settlement_rows(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The settlements' rows, column for column as booking.settlement_record makes
        one (SETTLEMENT_COLUMNS)."""
        made = {
            "person_id": pl.col("id"),
            "year": pl.lit(self.year, dtype=pl.Int16),
            "seq": pl.col("seq_in_year").cast(pl.Int32),
            "channel": pl.lit("card"),
            "institution_id": pl.col("hospital"),
            "hospital_level": pl.col("level").cast(pl.Int16),
            "hospital_region": pl.col("hospital_region").fill_null(self.region),
            "hospital_designated": pl.col("designated"),
            "hospital_pilot": pl.col("pilot"),
            "region": pl.lit(self.region),
            "encounter_date": pl.col("date"),
            "refused_code": pl.col("refused"),
            "status": pl.lit("settled"),
            "created_at": self._created_at(),
            **facts_columns(rows),
        }
        rows = with_origins(rows)
        return rows.select(
            pl.col("settlement_id").alias("id"),
            *(made.get(c, pl.col(c)).alias(c) for c in SETTLEMENT_COLUMNS),
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


def _columnar_split(settled: pl.DataFrame, one: int) -> pl.DataFrame:
    """The columnar engine's split of bills, in fen, as booking.split_fen makes it."""
    return settled.select(
        "encounter",
        "route",
        pl.col("refused"),
        pl.col("total").alias("total_fen"),
        round_half_up(pl.col("eligible"), one).alias("eligible_fen"),
        pl.col("self_pay").alias("self_pay_fen"),
        round_half_up(pl.col("threshold"), one).alias("threshold_fen"),
        *(pl.col(c.removesuffix("_fen")).alias(c) for c in SPLIT[4:]),
    )
