"""Reads of the staff console: person search, work queues, the fund dashboard.

Every read takes the staff member's region (None: every region) and filters by it in SQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, literal, or_, select

from yibao.adapters.db import tables as t
from yibao.adapters.db.tables_schools import school_batch_rows, school_batches, schools

# Cards a person may settle with now come first in a search's "card" column.
_CARD_ORDER = {"active": 0, "ordered": 1, "lost": 2, "replaced": 3}


def _like_escape(text: str) -> str:
    """The text as a LIKE pattern's literal part (\\ escapes %, _ and itself)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Console:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- regions ---------------------------------------------------------------------

    def regions(self, region: str | None) -> list[Any]:
        query = select(t.regions).order_by(t.regions.c.code)
        if region is not None:
            query = query.where(t.regions.c.code == region)
        return list(self.conn.execute(query))

    # --- person search ---------------------------------------------------------------

    def search_persons(
        self, text: str, region: str | None, year: int, limit: int
    ) -> list[dict[str, Any]]:
        """Persons whose name contains the text, whose ID number starts with it, whose
        registry id is it, or who hold (or held) the card numbered so; with the scheme
        of `year` and their current card."""
        p, e = t.persons.c, t.enrolments.c
        pattern = _like_escape(text)
        holders = select(t.cards.c.person_id).where(t.cards.c.number == text)
        query = (
            select(p.id, p.id_number, p.name, p.region, p.birth_date, e.scheme, e.status)
            .select_from(
                t.persons.outerjoin(t.enrolments, and_(e.person_id == p.id, e.year == year))
            )
            .where(
                or_(
                    p.name.like(f"%{pattern}%", escape="\\"),
                    p.id_number.like(f"{pattern.upper()}%", escape="\\"),
                    p.id == text,
                    p.id.in_(holders),
                )
            )
            .order_by(p.name, p.id_number)
            .limit(limit)
        )
        if region is not None:
            query = query.where(p.region == region)
        found = [dict(r._mapping) for r in self.conn.execute(query)]
        cards = self.current_cards([r["id"] for r in found])
        for r in found:
            r["card"] = cards.get(r["id"])
        return found

    def current_cards(self, person_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Each person's card to show: an active one, else one ordered, else the latest."""
        if not person_ids:
            return {}
        c = t.cards.c
        rows = self.conn.execute(
            select(c.person_id, c.number, c.status, c.ordered_on, c.issued_on).where(
                c.person_id.in_(list(person_ids))
            )
        )
        best: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
        for r in rows:
            day = r.issued_on or r.ordered_on
            # Smaller is better: the status first, then the latest day.
            key = (_CARD_ORDER.get(r.status, 9), 0 if day is None else -day.toordinal())
            if r.person_id not in best or key < best[r.person_id][0]:
                best[r.person_id] = (key, {"number": r.number, "status": r.status})
        return {pid: card for pid, (_, card) in best.items()}

    def claims_of(self, person_id: str) -> list[Any]:
        c = t.claims.c
        return list(
            self.conn.execute(
                select(t.claims).where(c.person_id == person_id).order_by(c.submitted_at, c.id)
            )
        )

    # --- work queues -----------------------------------------------------------------

    def submitted_batches(self, region: str | None) -> list[Any]:
        """Class lists with rows waiting for the agency's review, oldest first."""
        b, s, r = school_batches.c, schools.c, school_batch_rows.c
        waiting = (
            select(func.count())
            .where(r.batch_id == b.id, r.status == "submitted")
            .scalar_subquery()
        )
        query = (
            select(
                b.id,
                b.school_id,
                s.name.label("school_name"),
                s.region,
                b.year,
                b.rows,
                b.file_name,
                b.submitted_at,
                waiting.label("waiting"),
            )
            .select_from(school_batches.join(schools, s.id == b.school_id))
            .where(b.status == "submitted")
            .order_by(b.submitted_at, b.id)
        )
        if region is not None:
            query = query.where(s.region == region)
        return list(self.conn.execute(query))

    def queue_counts(self, region: str | None, today: Any) -> dict[str, int]:
        """How many items wait in each queue of the region."""
        p = t.persons.c
        b, s = school_batches.c, schools.c
        in_region = literal(True) if region is None else p.region == region

        batches = (
            select(func.count())
            .select_from(school_batches.join(schools, s.id == b.school_id))
            .where(b.status == "submitted")
        )
        if region is not None:
            batches = batches.where(s.region == region)
        a = t.approvals.c
        approvals = (
            select(func.count())
            .select_from(t.approvals.join(t.persons, p.id == a.person_id))
            .where(a.status == "applied", in_region)
        )
        c = t.claims.c
        claims = (
            select(func.count())
            .select_from(t.claims.join(t.persons, p.id == c.person_id))
            .where(c.status == "submitted", in_region)
        )
        k = t.cards.c
        cards = (
            select(func.count())
            .select_from(t.cards.join(t.persons, p.id == k.person_id))
            .where(k.status == "ordered", k.due_on < today, in_region)
        )
        one = self.conn.execute
        return {
            "schools": int(one(batches).scalar_one()),
            "approvals": int(one(approvals).scalar_one()),
            "claims": int(one(claims).scalar_one()),
            "cards": int(one(cards).scalar_one()),
        }

    # --- the fund dashboard ----------------------------------------------------------

    def ledger_totals(self, region: str, year: int) -> list[Any]:
        """The fund ledger of a region's year, summed by scheme, layer and month (fen)."""
        f = t.fund_ledger.c
        return list(
            self.conn.execute(
                select(f.scheme, f.layer, f.month, func.sum(f.amount_fen).label("amount_fen"))
                .where(f.region == region, f.year == year)
                .group_by(f.scheme, f.layer, f.month)
                .order_by(f.scheme, f.layer, f.month)
            )
        )

    def person_year_states(self, region: str, year: int, chunk: int = 1000) -> Iterator[list[Any]]:
        """The region's person-years (person id, scheme, state JSON), in chunks by person id."""
        py, p, e = t.person_years.c, t.persons.c, t.enrolments.c
        after = ""
        while True:
            rows = list(
                self.conn.execute(
                    select(py.person_id, e.scheme, py.state)
                    .select_from(
                        t.person_years.join(t.persons, p.id == py.person_id).join(
                            t.enrolments, and_(e.person_id == py.person_id, e.year == py.year)
                        )
                    )
                    .where(py.year == year, p.region == region, py.person_id > after)
                    .order_by(py.person_id)
                    .limit(chunk)
                )
            )
            if not rows:
                return
            yield rows
            after = rows[-1].person_id

    def serious_illness(self, region: str, year: int) -> list[Any]:
        """Serious-illness payments of the region's year, by scheme: persons paid, the sum,
        and the largest payment (fen)."""
        s = t.serious_illness_payments.c
        return list(
            self.conn.execute(
                select(
                    s.scheme,
                    func.count().label("persons"),
                    func.sum(s.payment_fen).label("payment_fen"),
                )
                .where(s.region == region, s.year == year, s.payment_fen > 0)
                .group_by(s.scheme)
                .order_by(s.scheme)
            )
        )

    def serious_illness_at_least(self, region: str, year: int, fen: int) -> int:
        s = t.serious_illness_payments.c
        return int(
            self.conn.execute(
                select(func.count()).where(s.region == region, s.year == year, s.payment_fen >= fen)
            ).scalar_one()
        )

    def ledger_years(self, region: str) -> list[int]:
        f = t.fund_ledger.c
        rows = self.conn.execute(
            select(f.year).where(f.region == region).group_by(f.year).order_by(f.year)
        )
        return [int(r.year) for r in rows]

    def premiums_by_day(self, region: str, year: int) -> list[Any]:
        """Premiums of a region's enrolments for the year, collected (or exempted) by day:
        personal, subsidy and assistance parts (fen). Cancelled enrolments are not income."""
        e = t.enrolments.c
        p = t.persons.c
        return list(
            self.conn.execute(
                select(
                    e.paid_on,
                    func.sum(e.personal_fen).label("personal_fen"),
                    func.sum(e.subsidy_fen).label("subsidy_fen"),
                    func.sum(e.assistance_fen).label("assistance_fen"),
                )
                .join(t.persons, p.id == e.person_id)
                .where(
                    p.region == region,
                    e.year == year,
                    e.paid_on.is_not(None),
                    e.status != "cancelled",
                )
                .group_by(e.paid_on)
                .order_by(e.paid_on)
            )
        )

    def institution_names(self, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        c = t.institutions.c
        rows = self.conn.execute(select(c.id, c.name).where(c.id.in_(sorted(set(ids)))))
        return {r.id: r.name for r in rows}

    def correct_person(
        self, person_id: str, name: str, phone: str | None, assistance: bool
    ) -> None:
        """A clerk's correction of a person's name, phone and assistance status."""
        self.conn.execute(
            t.persons.update()
            .where(t.persons.c.id == person_id)
            .values(name=name, phone=phone, assistance=assistance)
        )
