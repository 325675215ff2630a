"""Approvals, remote-treatment filings, referral certificates, pilot hospitals and registrations.

Rows in, rows out: the service (service/certificates.py) turns them into views. The
settlement reads approvals, filings and referrals through Registry (repositories.py);
this repository is for the applications, decisions and lists around them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, delete, exists, func, insert, select, update

from yibao.adapters.db import tables as t
from yibao.adapters.db.errors import refused_as_duplicate
from yibao.adapters.db.tables_pilot import pilot_hospitals, pilot_registrations
from yibao.service.ports import now


class Certificates:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def lock_person(self, person_id: str) -> None:
        """Serialise changes to one person's certificates (PostgreSQL row lock; SQLite
        holds its write lock for the whole transaction anyway), so two overlapping filings
        sent at once cannot both pass the overlap check."""
        self.conn.execute(
            select(t.persons.c.id).where(t.persons.c.id == person_id).with_for_update()
        )

    # --- outpatient special-disease approvals -----------------------------------------

    def add_approval(self, values: dict[str, Any]) -> int:
        new_id = self.conn.execute(
            insert(t.approvals).values(**values).returning(t.approvals.c.id)
        ).scalar_one()
        return int(new_id)

    def approval(self, approval_id: int, *, lock: bool = False) -> Any | None:
        query = select(t.approvals).where(t.approvals.c.id == approval_id)
        if lock:
            query = query.with_for_update()
        return self.conn.execute(query).first()

    def update_approval(self, approval_id: int, **values: Any) -> None:
        self.conn.execute(
            update(t.approvals).where(t.approvals.c.id == approval_id).values(**values)
        )

    def open_application(self, person_id: str, disease: str) -> Any | None:
        """An application for this person and disease still waiting for a decision."""
        c = t.approvals.c
        return self.conn.execute(
            select(t.approvals).where(
                c.person_id == person_id, c.disease == disease, c.status == "applied"
            )
        ).first()

    def approvals_of(self, person_id: str) -> list[Any]:
        c = t.approvals.c
        return list(
            self.conn.execute(select(t.approvals).where(c.person_id == person_id).order_by(c.id))
        )

    def approvals_by_status(
        self, status: str | None, region: str | None, limit: int = 200
    ) -> list[Any]:
        """Approvals with the person's region, oldest application first (the queue's order)."""
        c = t.approvals.c
        query = (
            select(t.approvals, t.persons.c.region, t.persons.c.name.label("person_name"))
            .select_from(t.approvals.join(t.persons, t.persons.c.id == c.person_id))
            .order_by(c.applied_on, c.id)
            .limit(limit)
        )
        if status is not None:
            query = query.where(c.status == status)
        if region is not None:
            query = query.where(t.persons.c.region == region)
        return list(self.conn.execute(query))

    # --- remote-treatment filings ------------------------------------------------------

    def add_filing(self, values: dict[str, Any]) -> int:
        new_id = self.conn.execute(
            insert(t.filings).values(created_at=now(), **values).returning(t.filings.c.id)
        ).scalar_one()
        return int(new_id)

    def filing(self, filing_id: int) -> Any | None:
        return self.conn.execute(select(t.filings).where(t.filings.c.id == filing_id)).first()

    def overlapping_filings(self, person_id: str, start: date, end: date) -> list[Any]:
        c = t.filings.c
        return list(
            self.conn.execute(
                select(t.filings)
                .where(c.person_id == person_id, c.valid_from <= end, c.valid_to >= start)
                .order_by(c.valid_from)
            )
        )

    def filings_of(self, person_id: str) -> list[Any]:
        c = t.filings.c
        return list(
            self.conn.execute(
                select(t.filings).where(c.person_id == person_id).order_by(c.valid_from, c.id)
            )
        )

    # --- referral certificates ---------------------------------------------------------

    def add_referral(self, values: dict[str, Any]) -> int:
        new_id = self.conn.execute(
            insert(t.referrals).values(created_at=now(), **values).returning(t.referrals.c.id)
        ).scalar_one()
        return int(new_id)

    def referral(self, referral_id: int) -> Any | None:
        return self.conn.execute(select(t.referrals).where(t.referrals.c.id == referral_id)).first()

    def referrals_of(self, person_id: str) -> list[Any]:
        c = t.referrals.c
        return list(
            self.conn.execute(
                select(t.referrals).where(c.person_id == person_id).order_by(c.valid_from, c.id)
            )
        )

    def referrals_by(
        self, issued_by: str | None, region: str | None, limit: int = 200
    ) -> list[Any]:
        """Referrals issued by one institution, or of the persons of one region; newest first."""
        c = t.referrals.c
        query = select(t.referrals).order_by(c.id.desc()).limit(limit)
        if issued_by is not None:
            query = query.where(c.issued_by == issued_by)
        if region is not None:
            query = query.join(t.persons, t.persons.c.id == c.person_id).where(
                t.persons.c.region == region
            )
        return list(self.conn.execute(query))

    # --- the children's major-disease pilot -------------------------------------------

    def pilot_hospital(self, region: str, year: int, institution_id: str) -> Any | None:
        c = pilot_hospitals.c
        return self.conn.execute(
            select(pilot_hospitals).where(
                c.region == region, c.year == year, c.institution_id == institution_id
            )
        ).first()

    def is_pilot_hospital(self, institution_id: str, region: str, year: int) -> bool:
        """Whether the institution is on its region's pilot list for the year."""
        c = pilot_hospitals.c
        return bool(
            self.conn.execute(
                select(
                    exists().where(
                        c.region == region, c.year == year, c.institution_id == institution_id
                    )
                )
            ).scalar_one()
        )

    def add_pilot_hospital(self, region: str, year: int, institution_id: str, by: str) -> None:
        self.conn.execute(
            insert(pilot_hospitals).values(
                region=region,
                year=year,
                institution_id=institution_id,
                added_by=by,
                added_at=now(),
            )
        )

    def remove_pilot_hospital(self, region: str, year: int, institution_id: str) -> None:
        c = pilot_hospitals.c
        self.conn.execute(
            delete(pilot_hospitals).where(
                c.region == region, c.year == year, c.institution_id == institution_id
            )
        )

    def pilot_hospitals(self, region: str, year: int) -> list[Any]:
        """The year's list with each institution's name and level."""
        c, i = pilot_hospitals.c, t.institutions.c
        return list(
            self.conn.execute(
                select(pilot_hospitals, i.name, i.level, i.kind, i.designated)
                .select_from(pilot_hospitals.join(t.institutions, i.id == c.institution_id))
                .where(c.region == region, c.year == year)
                .order_by(c.institution_id)
            )
        )

    def count_registrations_at(self, hospital_id: str, year: int) -> int:
        c = pilot_registrations.c
        return int(
            self.conn.execute(
                select(func.count())
                .select_from(pilot_registrations)
                .where(c.hospital_id == hospital_id, c.year == year)
            ).scalar_one()
        )

    def add_registration(self, values: dict[str, Any]) -> int:
        """The new registration's id; DuplicateError when it is registered already."""
        with refused_as_duplicate():
            new_id = self.conn.execute(
                insert(pilot_registrations)
                .values(registered_at=now(), **values)
                .returning(pilot_registrations.c.id)
            ).scalar_one()
        return int(new_id)

    def registration(self, person_id: str, disease: str, year: int) -> Any | None:
        c = pilot_registrations.c
        return self.conn.execute(
            select(pilot_registrations).where(
                c.person_id == person_id, c.disease == disease, c.year == year
            )
        ).first()

    def registration_by_id(self, registration_id: int) -> Any | None:
        c = pilot_registrations.c
        return self.conn.execute(select(pilot_registrations).where(c.id == registration_id)).first()

    def registrations_of(self, person_id: str) -> list[Any]:
        c = pilot_registrations.c
        return list(
            self.conn.execute(
                select(pilot_registrations)
                .where(c.person_id == person_id)
                .order_by(c.admission_date, c.id)
            )
        )

    def registrations_by(
        self, hospital_id: str | None, region: str | None, year: int | None, limit: int = 500
    ) -> list[Any]:
        """Registrations at one hospital, or of the children of one region."""
        c = pilot_registrations.c
        query = select(pilot_registrations).order_by(c.admission_date, c.id).limit(limit)
        if hospital_id is not None:
            query = query.where(c.hospital_id == hospital_id)
        if year is not None:
            query = query.where(c.year == year)
        if region is not None:
            query = query.join(t.persons, t.persons.c.id == c.person_id).where(
                t.persons.c.region == region
            )
        return list(self.conn.execute(query))
