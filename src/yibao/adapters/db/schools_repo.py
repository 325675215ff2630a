"""Schools, their class lists (batches) and the rows of each list."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from yibao.adapters.db import tables as t
from yibao.adapters.db.tables_schools import school_batch_rows, school_batches, schools
from yibao.service.ports import now

# Rows still on their way to the agency: a pupil on one of these may not be on another list.
OPEN_ROW_STATUSES = ("imported", "declared", "submitted")
# Bind parameters per IN list: well under SQLite's and PostgreSQL's limits, and few
# round trips for a 10,000-row list.
CHUNK = 1000


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_ENROLLED = (
    select(t.persons.c.id_number)
    .select_from(t.enrolments.join(t.persons, t.persons.c.id == t.enrolments.c.person_id))
    .where(
        t.enrolments.c.year == bindparam("year"),
        t.enrolments.c.status != "cancelled",
        t.persons.c.id_number.in_(bindparam("numbers", expanding=True)),
    )
)
_PERSONS = select(
    t.persons.c.id, t.persons.c.id_number, t.persons.c.name, t.persons.c.region
).where(t.persons.c.id_number.in_(bindparam("numbers", expanding=True)))
_ON_OPEN_LISTS = (
    select(
        school_batch_rows.c.id_number,
        school_batch_rows.c.batch_id,
        school_batch_rows.c.row_no,
        school_batches.c.school_id,
    )
    .select_from(
        school_batch_rows.join(school_batches, school_batches.c.id == school_batch_rows.c.batch_id)
    )
    .where(
        school_batches.c.year == bindparam("year"),
        school_batch_rows.c.status.in_(OPEN_ROW_STATUSES),
        school_batch_rows.c.id_number.in_(bindparam("numbers", expanding=True)),
    )
)


class Schools:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- schools ---------------------------------------------------------------------

    def add_school(self, school_id: str, region: str, name: str) -> None:
        self.conn.execute(
            insert(schools).values(id=school_id, region=region, name=name, created_at=now())
        )

    def region_exists(self, code: str) -> bool:
        query = select(t.regions.c.code).where(t.regions.c.code == code)
        return self.conn.execute(query).first() is not None

    def school(self, school_id: str) -> Any | None:
        return self.conn.execute(select(schools).where(schools.c.id == school_id)).first()

    def schools(self, region: str | None = None) -> list[Any]:
        query = select(schools).order_by(schools.c.id)
        if region is not None:
            query = query.where(schools.c.region == region)
        return list(self.conn.execute(query))

    # --- batches ---------------------------------------------------------------------

    def add_batch(self, values: dict[str, Any]) -> int:
        result = self.conn.execute(
            insert(school_batches).values(created_at=now(), **values).returning(school_batches.c.id)
        )
        return int(result.scalar_one())

    def batch(self, batch_id: int, *, lock: bool = False) -> Any | None:
        query = select(school_batches).where(school_batches.c.id == batch_id)
        if lock:
            query = query.with_for_update()
        return self.conn.execute(query).first()

    def batches_of(self, school_id: str, year: int | None = None) -> list[Any]:
        c = school_batches.c
        query = select(school_batches).where(c.school_id == school_id).order_by(c.id)
        if year is not None:
            query = query.where(c.year == year)
        return list(self.conn.execute(query))

    def update_batch(self, batch_id: int, **values: Any) -> None:
        self.conn.execute(
            update(school_batches).where(school_batches.c.id == batch_id).values(**values)
        )

    # --- rows ------------------------------------------------------------------------

    def add_rows(self, batch_id: int, rows: Sequence[dict[str, Any]], progress: Any = None) -> None:
        """One multi-row INSERT per chunk (executemany): 10,000 rows in well under a second."""
        statement = insert(school_batch_rows)
        done = 0
        for chunk in chunks(rows):
            self.conn.execute(
                statement, [{"batch_id": batch_id, "status": "imported", **r} for r in chunk]
            )
            done += len(chunk)
            if progress is not None:
                progress(done)

    def rows(
        self,
        batch_id: int,
        *,
        status: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[Any]:
        c = school_batch_rows.c
        query = select(school_batch_rows).where(c.batch_id == batch_id).order_by(c.row_no)
        if status is not None:
            query = query.where(c.status == status)
        if offset:
            query = query.offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return list(self.conn.execute(query))

    def row(self, batch_id: int, row_no: int) -> Any | None:
        c = school_batch_rows.c
        return self.conn.execute(
            select(school_batch_rows).where(c.batch_id == batch_id, c.row_no == row_no)
        ).first()

    def row_counts(self, batch_id: int) -> dict[str, int]:
        c = school_batch_rows.c
        rows = self.conn.execute(
            select(c.status, func.count()).where(c.batch_id == batch_id).group_by(c.status)
        )
        return {status: int(n) for status, n in rows}

    def update_row(self, batch_id: int, row_no: int, **values: Any) -> None:
        c = school_batch_rows.c
        self.conn.execute(
            update(school_batch_rows)
            .where(c.batch_id == batch_id, c.row_no == row_no)
            .values(**values)
        )

    def set_status(self, batch_id: int, row_nos: Sequence[int], status: str) -> None:
        c = school_batch_rows.c
        for chunk in chunks(row_nos):
            self.conn.execute(
                update(school_batch_rows)
                .where(c.batch_id == batch_id, c.row_no.in_(chunk))
                .values(status=status)
            )

    def rows_with_phones(self, phones: Iterable[str]) -> list[Any]:
        """The rows a guardian with these phone numbers may declare, with their school."""
        wanted = sorted(set(phones))
        if not wanted:
            return []
        c = school_batch_rows.c
        query = (
            select(
                school_batch_rows,
                school_batches.c.school_id,
                school_batches.c.year,
                schools.c.name.label("school_name"),
            )
            .select_from(
                school_batch_rows.join(school_batches, school_batches.c.id == c.batch_id).join(
                    schools, schools.c.id == school_batches.c.school_id
                )
            )
            .where(c.guardian_phone.in_(wanted))
            .order_by(c.batch_id, c.row_no)
        )
        return list(self.conn.execute(query))

    # --- the upload's set-based checks -------------------------------------------------

    def enrolled(self, id_numbers: Sequence[str], year: int) -> set[str]:
        """Which of these ID numbers are enrolled for the year already (any channel)."""
        found: set[str] = set()
        for chunk in chunks(id_numbers):
            found.update(
                self.conn.execute(_ENROLLED, {"year": year, "numbers": list(chunk)}).scalars()
            )
        return found

    def persons(self, id_numbers: Sequence[str]) -> dict[str, Any]:
        """The registered persons among these ID numbers (id, name, region)."""
        found: dict[str, Any] = {}
        for chunk in chunks(id_numbers):
            for row in self.conn.execute(_PERSONS, {"numbers": list(chunk)}):
                found[row.id_number] = row
        return found

    def on_open_lists(
        self, id_numbers: Sequence[str], year: int, *, besides: tuple[int, int] | None = None
    ) -> dict[str, Any]:
        """Those of these ID numbers on a list of the year still on its way to the agency
        (batch_id, row_no, school_id of one such row each), the row `besides` left out."""
        found: dict[str, Any] = {}
        for chunk in chunks(id_numbers):
            for row in self.conn.execute(_ON_OPEN_LISTS, {"year": year, "numbers": list(chunk)}):
                if (row.batch_id, row.row_no) != besides:
                    found.setdefault(row.id_number, row)
        return found

    # --- the registry, as acceptance needs it --------------------------------------------

    def adults_with_phones(self, phones: set[str], born_on_or_before: date) -> dict[str, list[str]]:
        """phone -> registered adults with it, for a batch of rows at once."""
        c = t.persons.c
        found: dict[str, list[str]] = {}
        wanted = sorted(phones)
        for i in range(0, len(wanted), 1000):
            rows = self.conn.execute(
                select(c.id, c.phone)
                .where(c.phone.in_(wanted[i : i + 1000]), c.birth_date <= born_on_or_before)
                .order_by(c.id)
            )
            for r in rows:
                found.setdefault(r.phone, []).append(r.id)
        return found

    def set_assistance(self, changes: Sequence[tuple[str, bool]]) -> None:
        """Persons' assistance flags as a class list declares them this year."""
        if changes:
            c = t.persons.c
            self.conn.execute(
                update(t.persons)
                .where(c.id == bindparam("pid"))
                .values(assistance=bindparam("flag")),
                [{"pid": pid, "flag": flag} for pid, flag in changes],
            )

    def accept_rows(self, batch_id: int, accepted: Sequence[tuple[int, str]]) -> None:
        if accepted:
            c = school_batch_rows.c
            self.conn.execute(
                update(school_batch_rows)
                .where(c.batch_id == batch_id, c.row_no == bindparam("n"))
                .values(status="accepted", person_id=bindparam("pid")),
                [{"n": n, "pid": pid} for n, pid in accepted],
            )

    def person_phone(self, person_id: str) -> str | None:
        row = self.conn.execute(
            select(t.persons.c.phone).where(t.persons.c.id == person_id)
        ).first()
        return None if row is None else row.phone
