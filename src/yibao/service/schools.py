"""School batch enrolment: class lists uploaded, validated row by row, declared by
guardians, submitted by the school, reviewed by the agency.

Reference §7: "the school hands out the forms, the guardian declares online, the school
reviews and submits the class list, the agency reviews". An upload with any bad row
stores nothing: the school gets every bad row with its reason and uploads the corrected
file again. Accepted rows are registered and enrolled (pending until the premium is
collected) in the same unit of work as the review.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.service.access import require, require_region
from yibao.service.base import UseCases
from yibao.service.class_lists import (
    Pupil,
    RawRow,
    RowError,
    check_row,
    check_rows,
    read_class_list,
    template_csv,
    template_xlsx,
)
from yibao.service.enrolment import (
    check_window,
    enrolment_rules_of,
)
from yibao.service.errors import ConflictError, NotFoundError, ServiceError
from yibao.service.ports import UnitOfWork, now
from yibao.service.school_review import accept_rows, return_rows, review_plan
from yibao.service.school_views import batch_view, row_view, school_view

SCHOOL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}")
ROW_FIELDS = ("id_number", "name", "class_name", "guardian_name", "guardian_phone", "assistance")

# progress(done, total, stage): stage is "checking" or "storing".
Progress = Callable[[int, int, str], None]


def _refused(errors: list[RowError], total: int) -> dict[str, Any]:
    """The report of a class list with bad rows: every error, nothing stored."""
    ordered = sorted(errors, key=lambda e: e.row)
    bad = len({e.row for e in ordered})
    return {
        "ok": False,
        "code": "invalid_rows",
        "message": f"{bad} of {total} rows have errors; nothing was imported: "
        "correct them and upload the whole list again",
        "rows": total,
        "bad_rows": bad,
        "errors": [e.to_dict() for e in ordered],
        "batch": None,
    }


def _pupil_values(p: Pupil) -> dict[str, Any]:
    return {
        "row_no": p.row,
        "id_number": p.id_number,
        "name": p.name,
        "birth_date": p.birth_date,
        "sex": p.sex,
        "class_name": p.class_name,
        "guardian_name": p.guardian_name,
        "guardian_phone": p.guardian_phone,
        "assistance": p.assistance,
    }


def _same_name(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


class SchoolsService(UseCases):
    # --- who may see what ---------------------------------------------------------------

    @staticmethod
    def _school(uow: UnitOfWork, who: Principal, school_id: str) -> Any:
        """The school, for its own account and staff of its region; not found for anyone
        else (never a hint that another school exists)."""
        row = uow.schools.school(school_id)
        visible = row is not None and (
            (who.role is Role.SCHOOL and who.school_id == row.id)
            or (who.is_staff and who.region in (None, row.region))
        )
        if not visible:
            raise NotFoundError("unknown_school", f"school {school_id!r} is not known")
        return row

    def _batch(
        self, uow: UnitOfWork, who: Principal, batch_id: int, *, lock: bool = False
    ) -> tuple[Any, Any]:
        batch = uow.schools.batch(batch_id, lock=lock)
        try:
            if batch is None:
                raise NotFoundError("unknown_batch", "")
            school = self._school(uow, who, batch.school_id)
        except NotFoundError:
            raise NotFoundError("unknown_batch", f"batch {batch_id} is not known") from None
        return batch, school

    @staticmethod
    def _view(uow: UnitOfWork, batch_id: int) -> dict[str, Any]:
        batch = uow.schools.batch(batch_id)
        return batch_view(batch, uow.schools.row_counts(batch_id))

    # --- schools ------------------------------------------------------------------------

    def add_school(self, who: Principal, school_id: str, name: str, region: str) -> dict[str, Any]:
        """Staff register a school of their region; its account is made with the access
        service (role school, school_id)."""
        require(who, Role.CLERK)
        require_region(who, region)
        if not SCHOOL_ID.fullmatch(school_id):
            raise ServiceError(
                "invalid_school_id",
                "id: 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit",
                field="id",
            )
        if not name.strip() or len(name.strip()) > 200:
            raise ServiceError("invalid_name", "name: 1 to 200 characters", field="name")
        self._policy(region)
        with self.uow() as uow:
            if not uow.schools.region_exists(region):
                raise NotFoundError("unknown_region", f"region {region!r} is not in the registry")
            if uow.schools.school(school_id) is not None:
                raise ConflictError("school_exists", f"school {school_id!r} already exists")
            uow.schools.add_school(school_id, region, name.strip())
            view = school_view(uow.schools.school(school_id))
            uow.audit.record(who, "school.create", "school", school_id, None, view)
            uow.commit()
        return view

    def schools(self, who: Principal) -> list[dict[str, Any]]:
        require(who, Role.CLERK, Role.APPROVER, Role.SCHOOL)
        with self.uow() as uow:
            if who.role is Role.SCHOOL:
                row = uow.schools.school(str(who.school_id))
                return [] if row is None else [school_view(row)]
            return [school_view(r) for r in uow.schools.schools(who.region)]

    def school(self, who: Principal, school_id: str) -> dict[str, Any]:
        require(who, Role.CLERK, Role.APPROVER, Role.SCHOOL)
        with self.uow() as uow:
            return school_view(self._school(uow, who, school_id))

    # --- the template and the upload -------------------------------------------------------

    @staticmethod
    def template(kind: str) -> bytes:
        if kind == "csv":
            return template_csv()
        if kind == "xlsx":
            return template_xlsx()
        raise ServiceError("invalid_format", f"format: csv or xlsx, not {kind!r}", field="format")

    def upload(
        self,
        who: Principal,
        school_id: str,
        year: int,
        file_name: str,
        content: bytes,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Check every row of a class list; store the list only if every row passes.

        The answer is a report, {ok, rows, bad_rows, errors: [{row, id_number, field, code,
        reason}], batch}; with any error nothing at all is stored."""
        require(who, Role.SCHOOL, Role.CLERK)
        today = self.clock()
        with self.uow() as uow:
            self._school(uow, who, school_id)  # the caller's school, before any work
        # Read and bounded outside any transaction: a hostile file costs its reader
        # time, never the database's write lock.
        raw = read_class_list(file_name, content)
        total = len(raw)
        with self.uow() as uow:
            school = self._school(uow, who, school_id)
            policy = self._policy(school.region)
            check_window(policy, year, today)
            max_age = enrolment_rules_of(policy).max_student_age.at(date(year, 1, 1)).value

            def checking(done: int, _total: int) -> None:
                if progress is not None:
                    progress(done, total, "checking")

            checked = check_rows(
                raw, year=year, max_age=max_age, today=today, progress=checking, total=total
            )
            names = {r.row: r.cells.get("name", "") for r in raw}
            checked.errors.extend(
                self._registry_errors(uow, school, year, checked.valid_ids, names)
            )
            if progress is not None:
                progress(total, total, "checking")
            if checked.errors:
                return _refused(checked.errors, total)
            view = self._store(uow, who, school, year, file_name, checked.pupils, progress)
            uow.commit()
        return {
            "ok": True,
            "message": f"{total} rows imported; guardians may now declare them",
            "rows": total,
            "bad_rows": 0,
            "errors": [],
            "batch": view,
        }

    def _store(
        self,
        uow: UnitOfWork,
        who: Principal,
        school: Any,
        year: int,
        file_name: str,
        pupils: list[Pupil],
        progress: Progress | None,
    ) -> dict[str, Any]:
        """A checked class list stored as a new batch; its view."""
        total = len(pupils)
        batch_id = uow.schools.add_batch(
            {
                "school_id": school.id,
                "year": year,
                "status": "open",
                "file_name": file_name[-200:] or "class list",
                "rows": total,
                "created_by": who.account,
            }
        )
        uow.schools.add_rows(
            batch_id,
            [_pupil_values(p) for p in pupils],
            progress=None if progress is None else lambda n: progress(n, total, "storing"),
        )
        view = self._view(uow, batch_id)
        uow.audit.record(
            who,
            "batch.upload",
            "school_batch",
            str(batch_id),
            None,
            {
                "school_id": school.id,
                "year": year,
                "file_name": view["file_name"],
                "rows": total,
                "assistance": sum(1 for p in pupils if p.assistance),
            },
        )
        return view

    @staticmethod
    def _registry_errors(
        uow: UnitOfWork,
        school: Any,
        year: int,
        valid_ids: dict[int, str],
        names: dict[int, str],
        *,
        besides: tuple[int, int] | None = None,
    ) -> list[RowError]:
        """The checks against what is stored, three queries per thousand rows: enrolled
        already, on another list still under way, registered in another region or under
        another name."""
        numbers = sorted(set(valid_ids.values()))
        enrolled = uow.schools.enrolled(numbers, year)
        elsewhere = uow.schools.on_open_lists(numbers, year, besides=besides)
        persons = uow.schools.persons(numbers)
        errors: list[RowError] = []
        for row, number in valid_ids.items():
            if number in enrolled:
                errors.append(
                    RowError(
                        row, number, "id_number", "already_enrolled", f"already enrolled for {year}"
                    )
                )
            elif number in elsewhere:
                other = elsewhere[number]
                errors.append(
                    RowError(
                        row,
                        number,
                        "id_number",
                        "on_another_list",
                        f"already on class list {other.batch_id} (school {other.school_id}), "
                        f"row {other.row_no}, for {year}",
                    )
                )
            person = persons.get(number)
            if person is not None and person.region != school.region:
                errors.append(
                    RowError(
                        row,
                        number,
                        "id_number",
                        "registered_elsewhere",
                        f"registered in {person.region}: the pupil enrols there",
                    )
                )
            if person is not None and names.get(row) and not _same_name(person.name, names[row]):
                errors.append(
                    RowError(
                        row,
                        number,
                        "name",
                        "name_differs",
                        f"the registry has the name {person.name} for this ID number",
                    )
                )
        return errors

    # --- reading batches ---------------------------------------------------------------------

    def batches(
        self, who: Principal, school_id: str, year: int | None = None
    ) -> list[dict[str, Any]]:
        require(who, Role.SCHOOL, Role.CLERK, Role.APPROVER)
        with self.uow() as uow:
            self._school(uow, who, school_id)
            return [
                batch_view(b, uow.schools.row_counts(b.id))
                for b in uow.schools.batches_of(school_id, year)
            ]

    def batch(self, who: Principal, batch_id: int) -> dict[str, Any]:
        require(who, Role.SCHOOL, Role.CLERK, Role.APPROVER)
        with self.uow() as uow:
            self._batch(uow, who, batch_id)
            return self._view(uow, batch_id)

    def rows(
        self,
        who: Principal,
        batch_id: int,
        *,
        status: str | None = None,
        offset: int = 0,
        limit: int = 500,
    ) -> dict[str, Any]:
        require(who, Role.SCHOOL, Role.CLERK, Role.APPROVER)
        with self.uow() as uow:
            self._batch(uow, who, batch_id)
            rows = uow.schools.rows(batch_id, status=status, offset=offset, limit=limit)
            return {
                "batch": self._view(uow, batch_id),
                "offset": offset,
                "rows": [row_view(r) for r in rows],
            }

    # --- guardians ---------------------------------------------------------------------------

    @staticmethod
    def _phones(uow: UnitOfWork, who: Principal) -> set[str]:
        """The caller's phone numbers: their account's and their registered person's."""
        phones: set[str] = set()
        account = uow.accounts.get(who.account)
        if account is not None and account.phone:
            phones.add(account.phone)
        if who.person_id is not None:
            phone = uow.schools.person_phone(who.person_id)
            if phone:
                phones.add(phone)
        return phones

    def my_rows(self, who: Principal) -> list[dict[str, Any]]:
        """The class-list rows that name the caller's phone as the guardian's: what they
        may declare."""
        require(who, Role.GUARDIAN, Role.INSURED)
        with self.uow() as uow:
            rows = uow.schools.rows_with_phones(self._phones(uow, who))
        return [
            {**row_view(r), "school_id": r.school_id, "school_name": r.school_name, "year": r.year}
            for r in rows
        ]

    def declare(self, who: Principal, batch_id: int, row_no: int) -> dict[str, Any]:
        """The guardian confirms a pupil's row online (or a clerk records a paper
        declaration). A guardian may declare only a row that names their phone."""
        require(who, Role.GUARDIAN, Role.INSURED, Role.CLERK)
        unknown = NotFoundError(
            "unknown_row", f"row {row_no} of batch {batch_id} is not known", row=row_no
        )
        with self.uow() as uow:
            batch = uow.schools.batch(batch_id, lock=True)
            if batch is None:
                raise unknown
            if who.is_staff:
                self._batch(uow, who, batch_id)
            row = uow.schools.row(batch_id, row_no)
            if row is None or (who.is_member and row.guardian_phone not in self._phones(uow, who)):
                raise unknown
            if row.status != "imported":
                raise ConflictError(
                    "not_declarable",
                    f"row {row_no} is {row.status}: only an imported row is declared",
                    row=row_no,
                )
            uow.schools.update_row(
                batch_id, row_no, status="declared", declared_by=who.account, declared_at=now()
            )
            after = row_view(uow.schools.row(batch_id, row_no))
            uow.audit.record(
                who, "row.declare", "school_batch_row", f"{batch_id}/{row_no}", row_view(row), after
            )
            uow.commit()
        return after

    # --- the school submits, the agency reviews ----------------------------------------------

    def submit(self, who: Principal, batch_id: int) -> dict[str, Any]:
        """Send the declared rows to the agency; rows not declared yet stay, listed."""
        require(who, Role.SCHOOL)
        with self.uow() as uow:
            self._batch(uow, who, batch_id, lock=True)
            declared = [r.row_no for r in uow.schools.rows(batch_id, status="declared")]
            waiting = [r.row_no for r in uow.schools.rows(batch_id, status="imported")]
            if not declared:
                raise ServiceError(
                    "nothing_to_submit",
                    f"no row of batch {batch_id} is declared: {len(waiting)} rows await their guardians",
                    not_declared=waiting,
                )
            uow.schools.set_status(batch_id, declared, "submitted")
            uow.schools.update_batch(batch_id, status="submitted", submitted_at=now())
            uow.audit.record(
                who,
                "batch.submit",
                "school_batch",
                str(batch_id),
                None,
                {"submitted": len(declared), "not_declared": len(waiting)},
            )
            view = self._view(uow, batch_id)
            uow.commit()
        return {"batch": view, "submitted": declared, "not_declared": waiting}

    def review(
        self,
        who: Principal,
        batch_id: int,
        *,
        accept: Sequence[int] = (),
        returns: Sequence[tuple[int, str]] = (),
        accept_all: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """The agency accepts submitted rows (the child registered if new, linked to the
        guardian, enrolled in the student scheme through the school, pending until the
        premium is collected) or returns them with a reason. One unit of work: if any row
        cannot be accepted, nothing of the review is stored and the error names the row."""
        require(who, Role.CLERK)
        today = self.clock()
        with self.uow() as uow:
            batch, school = self._batch(uow, who, batch_id, lock=True)
            require_region(who, school.region)
            submitted = {r.row_no: r for r in uow.schools.rows(batch_id, status="submitted")}
            accepted, returned = review_plan(uow, batch_id, submitted, accept, returns, accept_all)
            policy = self._policy(school.region)
            rows = [submitted[n] for n in accepted]
            persons = accept_rows(uow, who, policy, school, batch, rows, today, progress)
            return_rows(uow, who, batch_id, submitted, returned)
            if len(submitted) == len(accepted) + len(returned):
                uow.schools.update_batch(batch_id, status="reviewed", reviewed_at=now())
            view = self._view(uow, batch_id)
            uow.commit()
        return {"batch": view, "accepted": persons, "returned": sorted(returned)}

    # --- corrections ---------------------------------------------------------------------------

    def correct(
        self, who: Principal, batch_id: int, row_no: int, cells: dict[str, str]
    ) -> dict[str, Any]:
        """The school corrects a row (one the agency returned, or one not yet submitted);
        it is checked as an upload's row and awaits its guardian's declaration again (the
        guardian confirms what the agency will enrol)."""
        require(who, Role.SCHOOL)
        today = self.clock()
        with self.uow() as uow:
            batch, school = self._batch(uow, who, batch_id, lock=True)
            row = uow.schools.row(batch_id, row_no)
            if row is None:
                raise NotFoundError(
                    "unknown_row", f"row {row_no} of batch {batch_id} is not known", row=row_no
                )
            if row.status not in ("imported", "declared", "returned"):
                raise ConflictError(
                    "not_correctable",
                    f"row {row_no} is {row.status}: only a returned row or one not yet submitted is corrected",
                    row=row_no,
                )
            policy = self._policy(school.region)
            max_age = enrolment_rules_of(policy).max_student_age.at(date(batch.year, 1, 1)).value
            raw = RawRow(row_no, {k: str(cells.get(k, "")) for k in ROW_FIELDS})
            pupil, errors, number = check_row(raw, year=batch.year, max_age=max_age, today=today)
            if number is not None:
                errors += self._registry_errors(
                    uow,
                    school,
                    batch.year,
                    {row_no: number},
                    {row_no: raw.cells["name"]},
                    besides=(batch_id, row_no),
                )
            if errors or pupil is None:
                first = errors[0]
                raise ServiceError(
                    first.code,
                    f"{first.field}: {first.reason}",
                    row=row_no,
                    errors=[e.to_dict() for e in errors],
                )
            values = _pupil_values(pupil)
            del values["row_no"]
            uow.schools.update_row(
                batch_id,
                row_no,
                **values,
                status="imported",
                return_reason=None,
                declared_by=None,
                declared_at=None,
            )
            after = row_view(uow.schools.row(batch_id, row_no))
            uow.audit.record(
                who, "row.correct", "school_batch_row", f"{batch_id}/{row_no}", row_view(row), after
            )
            uow.commit()
        return after
