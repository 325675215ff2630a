"""Schools, their class lists (batches) and the rows of each list, in memory
(ports.admin.Schools)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date
from types import SimpleNamespace
from typing import Any

from fakes.tables import Tables, changed, insert, new_row
from yibao.adapters.db.tables_schools import school_batch_rows, school_batches, schools
from yibao.service.ports import now

# Rows still on their way to the agency (adapters/db/schools_repo.py).
OPEN_ROW_STATUSES = ("imported", "declared", "submitted")


class FakeSchools:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    # --- schools ---------------------------------------------------------------------

    def add_school(self, school_id: str, region: str, name: str) -> None:
        values = {"id": school_id, "region": region, "name": name, "created_at": now()}
        insert(self.t.schools, school_id, new_row(schools, values), "school")

    def region_exists(self, code: str) -> bool:
        return code in self.t.regions

    def school(self, school_id: str) -> Any | None:
        return self.t.schools.get(school_id)

    def schools(self, region: str | None = None) -> list[Any]:
        rows = [self.t.schools[s] for s in sorted(self.t.schools)]
        return [r for r in rows if region is None or r.region == region]

    # --- batches ---------------------------------------------------------------------

    def add_batch(self, values: dict[str, Any]) -> int:
        bid = self.t.next_id("school_batches")
        row = new_row(school_batches, {**values, "id": bid, "created_at": now()})
        insert(self.t.school_batches, bid, row, "class list")
        return bid

    def batch(self, batch_id: int, *, lock: bool = False) -> Any | None:
        return self.t.school_batches.get(batch_id)

    def batches_of(self, school_id: str, year: int | None = None) -> list[Any]:
        rows = [self.t.school_batches[b] for b in sorted(self.t.school_batches)]
        return [r for r in rows if r.school_id == school_id and (year is None or r.year == year)]

    def update_batch(self, batch_id: int, **values: Any) -> None:
        if batch_id in self.t.school_batches:
            self.t.school_batches[batch_id] = changed(self.t.school_batches[batch_id], **values)

    # --- rows ------------------------------------------------------------------------

    def add_rows(self, batch_id: int, rows: Sequence[dict[str, Any]], progress: Any = None) -> None:
        for r in rows:
            row = new_row(school_batch_rows, {"batch_id": batch_id, "status": "imported", **r})
            insert(self.t.school_rows, (batch_id, row.row_no), row, "class list row")
        if progress is not None and rows:
            progress(len(rows))

    def rows(
        self, batch_id: int, *, status: str | None = None, offset: int = 0, limit: int | None = None
    ) -> list[Any]:
        found = [
            self.t.school_rows[k]
            for k in sorted(self.t.school_rows)
            if k[0] == batch_id and (status is None or self.t.school_rows[k].status == status)
        ]
        return found[offset:] if limit is None else found[offset : offset + limit]

    def row(self, batch_id: int, row_no: int) -> Any | None:
        return self.t.school_rows.get((batch_id, row_no))

    def row_counts(self, batch_id: int) -> dict[str, int]:
        return dict(Counter(r.status for r in self.rows(batch_id)))

    def update_row(self, batch_id: int, row_no: int, **values: Any) -> None:
        key = (batch_id, row_no)
        if key in self.t.school_rows:
            self.t.school_rows[key] = changed(self.t.school_rows[key], **values)

    def set_status(self, batch_id: int, row_nos: Sequence[int], status: str) -> None:
        for n in row_nos:
            self.update_row(batch_id, n, status=status)

    def rows_with_phones(self, phones: Iterable[str]) -> list[Any]:
        wanted = set(phones)
        found = []
        for key in sorted(self.t.school_rows):
            row = self.t.school_rows[key]
            if row.guardian_phone in wanted:
                batch = self.t.school_batches[row.batch_id]
                school = self.t.schools[batch.school_id]
                found.append(
                    changed(
                        row, school_id=batch.school_id, year=batch.year, school_name=school.name
                    )
                )
        return found

    # --- the upload's set-based checks -------------------------------------------------

    def enrolled(self, id_numbers: Sequence[str], year: int) -> set[str]:
        wanted = set(id_numbers)
        return {
            self.t.persons[e.person_id].id_number
            for (_, y), e in self.t.enrolments.items()
            if y == year
            and e.status != "cancelled"
            and self.t.persons[e.person_id].id_number in wanted
        }

    def persons(self, id_numbers: Sequence[str]) -> dict[str, Any]:
        wanted = set(id_numbers)
        return {
            p.id_number: SimpleNamespace(
                id=p.id, id_number=p.id_number, name=p.name, region=p.region
            )
            for p in self.t.persons.values()
            if p.id_number in wanted
        }

    def on_open_lists(
        self, id_numbers: Sequence[str], year: int, *, besides: tuple[int, int] | None = None
    ) -> dict[str, Any]:
        wanted = set(id_numbers)
        found: dict[str, Any] = {}
        for key in sorted(self.t.school_rows):
            row = self.t.school_rows[key]
            batch = self.t.school_batches[row.batch_id]
            if (
                batch.year == year
                and row.status in OPEN_ROW_STATUSES
                and row.id_number in wanted
                and key != besides
            ):
                found.setdefault(
                    row.id_number,
                    SimpleNamespace(
                        id_number=row.id_number,
                        batch_id=row.batch_id,
                        row_no=row.row_no,
                        school_id=batch.school_id,
                    ),
                )
        return found

    # --- the registry, as acceptance needs it --------------------------------------------

    def adults_with_phones(self, phones: set[str], born_on_or_before: date) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for pid in sorted(self.t.persons):
            p = self.t.persons[pid]
            if p.phone in phones and p.birth_date <= born_on_or_before:
                found.setdefault(p.phone, []).append(p.id)
        return found

    def set_assistance(self, changes: Sequence[tuple[str, bool]]) -> None:
        for pid, flag in changes:
            if pid in self.t.persons:
                self.t.persons[pid] = replace(self.t.persons[pid], assistance=flag)

    def accept_rows(self, batch_id: int, accepted: Sequence[tuple[int, str]]) -> None:
        for n, pid in accepted:
            self.update_row(batch_id, n, status="accepted", person_id=pid)

    def person_phone(self, person_id: str) -> str | None:
        p = self.t.persons.get(person_id)
        return None if p is None else p.phone
