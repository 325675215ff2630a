"""The registry's repository: institutions, catalogue items, persons, enrolments, cards,
guardians and certificates. Repositories are the only code that knows the tables: rows
in, domain values out. The ledger's side is in ledger_repo.py."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from yibao.adapters.db import registry_sql as raw
from yibao.adapters.db import tables as t
from yibao.adapters.db.prepared import Driver
from yibao.domain.model import Approval, CategorySpan, Filing, LineClass, Scheme
from yibao.domain.money import from_fen, to_fen
from yibao.domain.registry import (
    Card,
    CardStatus,
    CatalogueItem,
    Enrolment,
    Institution,
    InstitutionKind,
    PersonRecord,
    Referral,
)
from yibao.service.ports import now


def _insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING, in the dialect at hand."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


# The hot path's statements, built once: a statement built per call costs more Python
# than the database spends running it.
_INSTITUTION = select(t.institutions).where(t.institutions.c.id == bindparam("id"))
_CATALOGUE = select(t.catalogue_items).where(
    t.catalogue_items.c.region == bindparam("region"),
    t.catalogue_items.c.code.in_(bindparam("codes", expanding=True)),
)
_HOLDER = (
    select(
        t.cards,
        t.persons,
        t.enrolments.c.scheme,
        t.enrolments.c.status.label("enrolment_status"),
        t.enrolments.c.valid_from,
        t.enrolments.c.valid_to,
    )
    .select_from(
        t.cards.join(t.persons, t.persons.c.id == t.cards.c.person_id).outerjoin(
            t.enrolments,
            and_(
                t.enrolments.c.person_id == t.persons.c.id, t.enrolments.c.year == bindparam("year")
            ),
        )
    )
    .where(t.cards.c.number == bindparam("number"))
)
# Administration inserts many of these in one batch (a class list, a bank file).
_INSERT_PERSON = insert(t.persons)
_INSERT_ENROLMENT = insert(t.enrolments)
_INSERT_CARD = insert(t.cards)


class Registry:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # PostgreSQL: the reads of every message as prepared statements (registry_sql.py).
        self.pg = Driver(conn) if conn.dialect.name == "postgresql" else None
        # A person's referrals and filings as a group commit's read found them, for its
        # bills elsewhere (counter_pg_batch.py): that transaction settles, and writes
        # neither, so they stay what it read.
        self._certificates: dict[str, tuple[tuple[Referral, ...], tuple[Filing, ...]]] = {}
        # Institutions as a national-interface message's first read found them in the
        # process's cache, valid for this transaction (fsi_repo.FsiStore.opening).
        self._institutions: dict[str, Institution] = {}

    def seen_institution(self, institution: Institution) -> None:
        self._institutions[institution.id] = institution

    def seen_certificates(
        self, person_id: str, referrals: tuple[Referral, ...], filings: tuple[Filing, ...]
    ) -> None:
        self._certificates[person_id] = (referrals, filings)

    # --- reads used by settlement ---------------------------------------------------

    def institution(self, institution_id: str) -> Institution | None:
        seen = self._institutions.get(institution_id)
        if seen is not None:
            return seen
        if self.pg is not None:
            found = self.pg.one(raw.INSTITUTION, (institution_id,))
            return None if found is None else raw.institution(found)
        row = self.conn.execute(_INSTITUTION, {"id": institution_id}).first()
        if row is None:
            return None
        return Institution(
            row.id,
            row.region,
            row.name,
            row.level,
            InstitutionKind(row.kind),
            row.designated,
            row.pilot,
            row.type,
            row.province,
        )

    def catalogue_items(self, region: str, codes: Iterable[str]) -> dict[str, CatalogueItem]:
        if self.pg is not None:
            found = self.pg.all(raw.CATALOGUE_ITEMS, (region, sorted(set(codes))))
            return {r[0]: raw.catalogue_item(r) for r in found}
        rows = self.conn.execute(_CATALOGUE, {"region": region, "codes": sorted(set(codes))})
        return {
            r.code: CatalogueItem(
                r.code,
                r.name,
                LineClass(r.cls),
                None if r.unit_price_fen is None else from_fen(r.unit_price_fen),
            )
            for r in rows
        }

    def card(self, number: str) -> Card | None:
        row = self.conn.execute(select(t.cards).where(t.cards.c.number == number)).first()
        return None if row is None else _card(row)

    def holder(
        self, card_number: str, year: int
    ) -> tuple[Card, PersonRecord, Enrolment | None] | None:
        """A card, its holder and the holder's enrolment for the year, in one query."""
        if self.pg is not None:
            found = self.pg.one(raw.HOLDER, (card_number, year))
            return None if found is None else raw.holder(found, year)
        row = self.conn.execute(_HOLDER, {"number": card_number, "year": year}).first()
        if row is None:
            return None
        m = row._mapping
        card = Card(
            m[t.cards.c.number],
            m[t.cards.c.person_id],
            CardStatus(m[t.cards.c.status]),
            m[t.cards.c.issued_on],
            m[t.cards.c.replaced_by],
            due_on=m[t.cards.c.due_on],
        )
        person = PersonRecord(
            m[t.persons.c.id],
            m[t.persons.c.id_number],
            m[t.persons.c.name],
            m[t.persons.c.birth_date],
            m[t.persons.c.sex],
            m[t.persons.c.region],
            m[t.persons.c.phone],
            m[t.persons.c.assistance],
            m[t.persons.c.retired],
            m[t.persons.c.contribution_years],
        )
        enrolment = None
        if m["scheme"] is not None:
            enrolment = Enrolment(
                person.id,
                year,
                Scheme(m["scheme"]),
                m["enrolment_status"],
                m["valid_from"],
                m["valid_to"],
            )
        return card, person, enrolment

    def person(self, person_id: str) -> PersonRecord | None:
        if self.pg is not None:
            found = self.pg.one(raw.PERSON, (person_id,))
            return None if found is None else raw.person(found)
        row = self.conn.execute(select(t.persons).where(t.persons.c.id == person_id)).first()
        return None if row is None else _person(row)

    def person_by_id_number(self, id_number: str) -> PersonRecord | None:
        if self.pg is not None:
            found = self.pg.one(raw.PERSON_BY_ID_NUMBER, (id_number,))
            return None if found is None else raw.person(found)
        row = self.conn.execute(select(t.persons).where(t.persons.c.id_number == id_number)).first()
        return None if row is None else _person(row)

    def enrolment(self, person_id: str, year: int) -> Enrolment | None:
        if self.pg is not None:
            found = self.pg.one(raw.ENROLMENT, (person_id, year))
            return None if found is None else raw.enrolment(found)
        c = t.enrolments.c
        row = self.conn.execute(
            select(t.enrolments).where(c.person_id == person_id, c.year == year)
        ).first()
        if row is None:
            return None
        return _enrolment(row)

    def enrolments_of(self, person_id: str) -> list[Enrolment]:
        c = t.enrolments.c
        rows = self.conn.execute(
            select(t.enrolments).where(c.person_id == person_id).order_by(c.year)
        )
        return [_enrolment(r) for r in rows]

    def cards_of(self, person_id: str) -> list[Card]:
        c = t.cards.c
        rows = self.conn.execute(
            # Oldest first; NULLs would sort differently on SQLite and PostgreSQL.
            select(t.cards)
            .where(c.person_id == person_id)
            .order_by(func.coalesce(c.ordered_on, c.issued_on), c.number)
        )
        return [_card(r) for r in rows]

    def children_of(self, guardian_id: str) -> list[str]:
        c = t.guardians.c
        rows = self.conn.execute(select(c.child_id).where(c.guardian_id == guardian_id))
        return [r.child_id for r in rows]

    def guardians_of(self, child_id: str) -> list[str]:
        c = t.guardians.c
        rows = self.conn.execute(select(c.guardian_id).where(c.child_id == child_id))
        return [r.guardian_id for r in rows]

    def premium_totals(self, region: str, year: int) -> list[Any]:
        """Per scheme and status: persons, exempt persons and the premium's parts in fen."""
        e, p = t.enrolments.c, t.persons.c
        query = (
            select(
                e.scheme,
                e.status,
                func.count().label("persons"),
                func.sum(case((e.assistance_fen > 0, 1), else_=0)).label("exempt"),
                func.sum(e.personal_fen).label("personal"),
                func.sum(e.subsidy_fen).label("subsidy"),
                func.sum(e.assistance_fen).label("assistance"),
            )
            .select_from(t.enrolments.join(t.persons, p.id == e.person_id))
            .where(p.region == region, e.year == year, e.status != "cancelled")
            .group_by(e.scheme, e.status)
            .order_by(e.scheme, e.status)
        )
        return list(self.conn.execute(query))

    def persons_by_id_number(self, numbers: Iterable[str]) -> dict[str, PersonRecord]:
        """Registered persons by ID number, a thousand numbers a query."""
        wanted = sorted(set(numbers))
        found: dict[str, PersonRecord] = {}
        for i in range(0, len(wanted), 1000):
            rows = self.conn.execute(
                select(t.persons).where(t.persons.c.id_number.in_(wanted[i : i + 1000]))
            )
            found.update((r.id_number, _person(r)) for r in rows)
        return found

    def enrolled_in(self, year: int, person_ids: Iterable[str]) -> set[str]:
        """Which of these persons have an enrolment for the year (any status)."""
        wanted = sorted(set(person_ids))
        c = t.enrolments.c
        found: set[str] = set()
        for i in range(0, len(wanted), 1000):
            rows = self.conn.execute(
                select(c.person_id).where(c.year == year, c.person_id.in_(wanted[i : i + 1000]))
            )
            found.update(r.person_id for r in rows)
        return found

    def add_persons(self, records: Sequence[PersonRecord]) -> None:
        if records:
            self.conn.execute(_INSERT_PERSON, [_person_values(p) for p in records])

    def add_enrolments(self, enrolments: Sequence[Enrolment]) -> None:
        if enrolments:
            self.conn.execute(_INSERT_ENROLMENT, [_enrolment_values(e) for e in enrolments])

    def add_guardians(self, pairs: Sequence[tuple[str, str]]) -> None:
        """(child, guardian) links; a link already there stays as it is."""
        known = (
            {
                (r.child_id, r.guardian_id)
                for r in self.conn.execute(
                    select(t.guardians).where(
                        t.guardians.c.child_id.in_(sorted({c for c, _ in pairs}))
                    )
                )
            }
            if pairs
            else set()
        )
        new = sorted(set(pairs) - known)
        if new:
            self.conn.execute(
                insert(t.guardians), [{"child_id": c, "guardian_id": g} for c, g in new]
            )

    def add_guardian(self, child_id: str, guardian_id: str) -> None:
        _insert_ignore(self.conn, t.guardians, {"child_id": child_id, "guardian_id": guardian_id})

    def approvals(self, person_id: str) -> tuple[Approval, ...]:
        c = t.approvals.c
        rows = self.conn.execute(
            select(t.approvals)
            .where(c.person_id == person_id, c.status == "approved")
            .order_by(c.id)
        )
        return tuple(Approval(r.disease, r.hospital_id, r.valid_from, r.valid_to) for r in rows)

    def filings(self, person_id: str) -> tuple[Filing, ...]:
        if person_id in self._certificates:
            return self._certificates[person_id][1]
        c = t.filings.c
        rows = self.conn.execute(select(t.filings).where(c.person_id == person_id).order_by(c.id))
        return tuple(Filing(r.region, r.valid_from, r.valid_to) for r in rows)

    def categories(self, person_id: str) -> tuple[CategorySpan, ...]:
        if self.pg is not None:
            return tuple(raw.category(r) for r in self.pg.all(raw.CATEGORIES, (person_id,)))
        c = t.person_categories.c
        rows = self.conn.execute(
            select(t.person_categories).where(c.person_id == person_id).order_by(c.id)
        )
        return tuple(CategorySpan(r.category, r.valid_from, r.valid_to) for r in rows)

    def referrals(self, person_id: str) -> tuple[Referral, ...]:
        if person_id in self._certificates:
            return self._certificates[person_id][0]
        c = t.referrals.c
        rows = self.conn.execute(select(t.referrals).where(c.person_id == person_id).order_by(c.id))
        return tuple(
            Referral(r.person_id, r.issued_by, r.to_region, r.valid_from, r.valid_to) for r in rows
        )

    def has_persons(self, region: str) -> bool:
        return (
            self.conn.execute(
                select(t.persons.c.id).where(t.persons.c.region == region).limit(1)
            ).first()
            is not None
        )

    def active_cards(
        self, region: str, year: int | None = None, limit: int | None = None
    ) -> list[tuple[str, str]]:
        c, p, e = t.cards.c, t.persons.c, t.enrolments.c
        joined = t.cards.join(t.persons, p.id == c.person_id)
        query = select(c.number, p.id).where(p.region == region, c.status == "active")
        if year is not None:
            joined = joined.join(t.enrolments, (e.person_id == p.id) & (e.year == year))
            query = query.where(e.status == "active")
        rows = self.conn.execute(query.select_from(joined).order_by(p.id, c.number).limit(limit))
        return [(r.number, r.id) for r in rows]

    # --- writes used by set-up, demo data and administration ---------------------------

    def add_region(self, code: str, name_zh: str, name_en: str, admdvs: str) -> None:
        _insert_ignore(
            self.conn,
            t.regions,
            {"code": code, "name_zh": name_zh, "name_en": name_en, "admdvs": admdvs},
        )

    def add_institution(self, inst: Institution) -> None:
        self.conn.execute(
            insert(t.institutions).values(
                id=inst.id,
                region=inst.region,
                name=inst.name,
                level=inst.level,
                kind=inst.kind.value,
                designated=inst.designated,
                pilot=inst.pilot,
                type=inst.type,
                province=inst.province,
            )
        )

    def update_institution(self, inst: Institution) -> None:
        self.conn.execute(
            update(t.institutions)
            .where(t.institutions.c.id == inst.id)
            .values(
                name=inst.name,
                level=inst.level,
                designated=inst.designated,
                type=inst.type,
                province=inst.province,
            )
        )

    def add_catalogue_items(self, region: str, items: Sequence[CatalogueItem]) -> None:
        if items:
            self.conn.execute(
                insert(t.catalogue_items),
                [
                    {
                        "region": region,
                        "code": i.code,
                        "name": i.name,
                        "cls": i.cls.value,
                        "unit_price_fen": None if i.unit_price is None else to_fen(i.unit_price),
                    }
                    for i in items
                ],
            )

    def add_person(self, p: PersonRecord) -> None:
        self.conn.execute(_INSERT_PERSON, _person_values(p))

    def add_enrolment(self, e: Enrolment) -> None:
        self.conn.execute(_INSERT_ENROLMENT, _enrolment_values(e))

    def add_card(self, card: Card) -> None:
        self.conn.execute(_INSERT_CARD, _card_values(card))

    def add_cards(self, cards: Sequence[Card]) -> None:
        if cards:
            self.conn.execute(_INSERT_CARD, [_card_values(c) for c in cards])

    def set_card_status(self, number: str, status: CardStatus) -> None:
        self.conn.execute(
            update(t.cards).where(t.cards.c.number == number).values(status=status.value)
        )

    def add_approval(self, person_id: str, a: Approval) -> None:
        self.conn.execute(
            insert(t.approvals).values(
                person_id=person_id,
                disease=a.disease,
                hospital_id=a.hospital,
                valid_from=a.valid_from,
                valid_to=a.valid_to,
            )
        )

    def add_filing(self, person_id: str, f: Filing) -> None:
        self.conn.execute(
            insert(t.filings).values(
                person_id=person_id, region=f.region, valid_from=f.valid_from, valid_to=f.valid_to
            )
        )

    def add_category(
        self, person_id: str, span: CategorySpan, who: str | None = None, at: datetime | None = None
    ) -> None:
        self.conn.execute(
            insert(t.person_categories).values(
                person_id=person_id,
                category=span.category,
                valid_from=span.valid_from,
                valid_to=span.valid_to,
                created_by=who,
                created_at=at,
            )
        )

    def end_category(self, person_id: str, span: CategorySpan, valid_to: date) -> None:
        c = t.person_categories.c
        same_from = (
            c.valid_from.is_(None) if span.valid_from is None else c.valid_from == span.valid_from
        )
        self.conn.execute(
            update(t.person_categories)
            .where(
                c.person_id == person_id,
                c.category == span.category,
                same_from,
                c.valid_to.is_(None),
            )
            .values(valid_to=valid_to)
        )

    def add_referral(self, r: Referral) -> None:
        self.conn.execute(
            insert(t.referrals).values(
                person_id=r.person_id,
                issued_by=r.issued_by,
                to_region=r.to_region,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
            )
        )


def _person_values(p: PersonRecord) -> dict[str, Any]:
    return {
        "id": p.id,
        "id_number": p.id_number,
        "name": p.name,
        "birth_date": p.birth_date,
        "sex": p.sex,
        "region": p.region,
        "phone": p.phone,
        "assistance": p.assistance,
        "retired": p.retired,
        "contribution_years": p.contribution_years,
    }


def _enrolment_values(e: Enrolment) -> dict[str, Any]:
    return {
        "person_id": e.person_id,
        "year": e.year,
        "scheme": e.scheme.value,
        "status": e.status,
        "valid_from": e.valid_from,
        "valid_to": e.valid_to,
        "channel": e.channel,
        "school_id": e.school_id,
        "personal_fen": to_fen(e.personal),
        "subsidy_fen": to_fen(e.subsidy),
        "assistance_fen": to_fen(e.assistance),
        "paid_on": e.paid_on,
        "created_at": now(),
    }


def _card_values(card: Card) -> dict[str, Any]:
    return {
        "number": card.number,
        "person_id": card.person_id,
        "status": card.status.value,
        "issued_on": card.issued_on,
        "replaced_by": card.replaced_by,
        "ordered_on": card.ordered_on,
        "due_on": card.due_on,
        "lost_on": card.lost_on,
        "replaces": card.replaces,
    }


def _enrolment(row: Any) -> Enrolment:
    return Enrolment(
        row.person_id,
        row.year,
        Scheme(row.scheme),
        row.status,
        row.valid_from,
        row.valid_to,
        row.channel,
        row.school_id,
        from_fen(row.personal_fen),
        from_fen(row.subsidy_fen),
        from_fen(row.assistance_fen),
        row.paid_on,
    )


def _card(row: Any) -> Card:
    return Card(
        row.number,
        row.person_id,
        CardStatus(row.status),
        row.issued_on,
        row.replaced_by,
        row.ordered_on,
        row.due_on,
        row.lost_on,
        row.replaces,
    )


def _person(row: Any) -> PersonRecord:
    return PersonRecord(
        row.id,
        row.id_number,
        row.name,
        row.birth_date,
        row.sex,
        row.region,
        row.phone,
        row.assistance,
        row.retired,
        row.contribution_years,
    )
