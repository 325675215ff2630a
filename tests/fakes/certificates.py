"""Approvals, remote-treatment filings, referral certificates, the pilot hospitals' lists
and the pilot's registrations in memory (ports.admin.Certificates). The rows are the
registry's too (fakes/registry.py reads approvals, filings and referrals from them)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

from fakes.tables import Tables, add_row, changed, insert, new_row, rows_of
from yibao.adapters.db import tables
from yibao.adapters.db.tables_pilot import pilot_hospitals, pilot_registrations
from yibao.service.ports import now
from yibao.service.ports.records import DuplicateError


class FakeCertificates:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def lock_person(self, person_id: str) -> None:
        """Nothing to lock: the fakes serve one unit of work at a time."""

    # --- outpatient special-disease approvals -----------------------------------------

    def add_approval(self, values: dict[str, Any]) -> int:
        return add_row(self.t, "approvals", tables.approvals, values)

    def approval(self, approval_id: int, *, lock: bool = False) -> Any | None:
        return self.t.approvals.get(approval_id)

    def update_approval(self, approval_id: int, **values: Any) -> None:
        if approval_id in self.t.approvals:
            self.t.approvals[approval_id] = changed(self.t.approvals[approval_id], **values)

    def open_application(self, person_id: str, disease: str) -> Any | None:
        found = rows_of(self.t.approvals, person_id)
        return next((r for r in found if r.disease == disease and r.status == "applied"), None)

    def approvals_of(self, person_id: str) -> list[Any]:
        return rows_of(self.t.approvals, person_id)

    def approvals_by_status(
        self, status: str | None, region: str | None, limit: int = 200
    ) -> list[Any]:
        rows = []
        for r in self.t.approvals.values():
            person = self.t.persons[r.person_id]
            if (status is None or r.status == status) and region in (None, person.region):
                rows.append(changed(r, region=person.region, person_name=person.name))
        return sorted(rows, key=lambda r: (r.applied_on or date.min, r.id))[:limit]

    # --- remote-treatment filings ------------------------------------------------------

    def add_filing(self, values: dict[str, Any]) -> int:
        return add_row(self.t, "filings", tables.filings, {"created_at": now(), **values})

    def filing(self, filing_id: int) -> Any | None:
        return self.t.filings.get(filing_id)

    def overlapping_filings(self, person_id: str, start: date, end: date) -> list[Any]:
        found = rows_of(self.t.filings, person_id)
        over = [r for r in found if r.valid_from <= end and r.valid_to >= start]
        return sorted(over, key=lambda r: r.valid_from)

    def filings_of(self, person_id: str) -> list[Any]:
        return sorted(rows_of(self.t.filings, person_id), key=lambda r: (r.valid_from, r.id))

    # --- referral certificates ---------------------------------------------------------

    def add_referral(self, values: dict[str, Any]) -> int:
        return add_row(self.t, "referrals", tables.referrals, {"created_at": now(), **values})

    def referral(self, referral_id: int) -> Any | None:
        return self.t.referrals.get(referral_id)

    def referrals_of(self, person_id: str) -> list[Any]:
        return sorted(rows_of(self.t.referrals, person_id), key=lambda r: (r.valid_from, r.id))

    def referrals_by(
        self, issued_by: str | None, region: str | None, limit: int = 200
    ) -> list[Any]:
        rows = [
            self.t.referrals[i]
            for i in sorted(self.t.referrals, reverse=True)
            if issued_by in (None, self.t.referrals[i].issued_by)
            and region in (None, self.t.persons[self.t.referrals[i].person_id].region)
        ]
        return rows[:limit]

    # --- the children's major-disease pilot -------------------------------------------

    def pilot_hospital(self, region: str, year: int, institution_id: str) -> Any | None:
        return self.t.pilot_hospitals.get((region, year, institution_id))

    def is_pilot_hospital(self, institution_id: str, region: str, year: int) -> bool:
        return (region, year, institution_id) in self.t.pilot_hospitals

    def add_pilot_hospital(self, region: str, year: int, institution_id: str, by: str) -> None:
        values = {
            "region": region,
            "year": year,
            "institution_id": institution_id,
            "added_by": by,
            "added_at": now(),
        }
        key = (region, year, institution_id)
        insert(self.t.pilot_hospitals, key, new_row(pilot_hospitals, values), "pilot hospital")

    def remove_pilot_hospital(self, region: str, year: int, institution_id: str) -> None:
        self.t.pilot_hospitals.pop((region, year, institution_id), None)

    def pilot_hospitals(self, region: str, year: int) -> list[Any]:
        rows = []
        for (r, y, iid), row in sorted(self.t.pilot_hospitals.items()):
            inst = self.t.institutions.get(iid)
            if (r, y) == (region, year) and inst is not None:
                extra = {"name": inst.name, "level": inst.level, "kind": str(inst.kind)}
                rows.append(SimpleNamespace(**vars(row), **extra, designated=inst.designated))
        return rows

    def count_registrations_at(self, hospital_id: str, year: int) -> int:
        found = self.t.pilot_registrations.values()
        return sum(1 for r in found if (r.hospital_id, r.year) == (hospital_id, year))

    def add_registration(self, values: dict[str, Any]) -> int:
        key = (values["person_id"], values["disease"], values["year"])
        if self.registration(*key) is not None:
            raise DuplicateError(f"{key} is registered already")
        values = {"registered_at": now(), **values}
        return add_row(self.t, "pilot_registrations", pilot_registrations, values)

    def registration(self, person_id: str, disease: str, year: int) -> Any | None:
        found = rows_of(self.t.pilot_registrations, person_id)
        return next((r for r in found if (r.disease, r.year) == (disease, year)), None)

    def registration_by_id(self, registration_id: int) -> Any | None:
        return self.t.pilot_registrations.get(registration_id)

    def registrations_of(self, person_id: str) -> list[Any]:
        found = rows_of(self.t.pilot_registrations, person_id)
        return sorted(found, key=lambda r: (r.admission_date, r.id))

    def registrations_by(
        self, hospital_id: str | None, region: str | None, year: int | None, limit: int = 500
    ) -> list[Any]:
        rows = [
            r
            for r in self.t.pilot_registrations.values()
            if hospital_id in (None, r.hospital_id)
            and year in (None, r.year)
            and region in (None, self.t.persons[r.person_id].region)
        ]
        return sorted(rows, key=lambda r: (r.admission_date, r.id))[:limit]
