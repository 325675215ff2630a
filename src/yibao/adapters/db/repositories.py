"""Repositories: the only code that knows the tables. Rows in, domain values out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, Table, and_, bindparam, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from yibao.adapters.db import tables as t
from yibao.adapters.db.errors import refused_as_duplicate
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.model import Approval, Filing, LineClass, Scheme
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
from yibao.service.ports.records import SettlementRecord


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
_INSERT_SETTLEMENT = insert(t.settlements).returning(t.settlements.c.id)
# Administration inserts many of these in one batch (a class list, a bank file).
_INSERT_PERSON = insert(t.persons)
_INSERT_ENROLMENT = insert(t.enrolments)
_INSERT_CARD = insert(t.cards)
_INSERT_LINES = insert(t.settlement_lines)
_INSERT_LEDGER = insert(t.fund_ledger)
_SAVE_YEAR = (
    update(t.person_years)
    .where(t.person_years.c.person_id == bindparam("pid"), t.person_years.c.year == bindparam("yr"))
    .values(state=bindparam("state"), settled=bindparam("settled"))
)


def _lock_year_statement(dialect_name: str) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = t.person_years
    return (
        dialect.insert(table)
        .on_conflict_do_update(
            index_elements=[table.c.person_id, table.c.year], set_={"settled": table.c.settled}
        )
        .returning(table.c.state, table.c.settled)
    )


_LOCK_YEAR = {name: _lock_year_statement(name) for name in ("postgresql", "sqlite")}


class Registry:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- reads used by settlement ---------------------------------------------------

    def institution(self, institution_id: str) -> Institution | None:
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
        )

    def catalogue_items(self, region: str, codes: Iterable[str]) -> dict[str, CatalogueItem]:
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
        row = self.conn.execute(select(t.persons).where(t.persons.c.id == person_id)).first()
        return None if row is None else _person(row)

    def person_by_id_number(self, id_number: str) -> PersonRecord | None:
        row = self.conn.execute(select(t.persons).where(t.persons.c.id_number == id_number)).first()
        return None if row is None else _person(row)

    def enrolment(self, person_id: str, year: int) -> Enrolment | None:
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
        c = t.filings.c
        rows = self.conn.execute(select(t.filings).where(c.person_id == person_id).order_by(c.id))
        return tuple(Filing(r.region, r.valid_from, r.valid_to) for r in rows)

    def referrals(self, person_id: str) -> tuple[Referral, ...]:
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


def year_state(acc: YearAccumulators) -> str:
    """A person-year's accumulators as person_years.state holds them (JSON, exact decimal
    strings): the one way every writer of that column makes it."""
    return orjson.dumps(acc.to_dict()).decode()


class Ledger:
    """Person-years, settlements, the fund ledger and idempotency keys."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def lock_person_year(self, person_id: str, year: int) -> tuple[YearAccumulators, int]:
        """The year's accumulators and the number of settlements so far, locked until the
        transaction ends. One statement: insert the year if it is new, otherwise a no-op
        update, which takes the row lock on PostgreSQL (SQLite's write lock is already
        held) and returns the row as the last committed transaction left it."""
        empty = year_state(YearAccumulators(year=year))
        params = {"person_id": person_id, "year": year, "state": empty, "settled": 0}
        row = self.conn.execute(_LOCK_YEAR[self.conn.dialect.name], params).one()
        return YearAccumulators.from_dict(json.loads(row.state)), int(row.settled)

    def read_person_year(self, person_id: str, year: int) -> YearAccumulators:
        c = t.person_years.c
        row = self.conn.execute(
            select(c.state).where(c.person_id == person_id, c.year == year)
        ).first()
        return (
            YearAccumulators(year=year)
            if row is None
            else YearAccumulators.from_dict(json.loads(row.state))
        )

    def save_person_year(self, person_id: str, acc: YearAccumulators, settled: int) -> None:
        params = {
            "pid": person_id,
            "yr": acc.year,
            "state": year_state(acc),
            "settled": settled,
        }
        self.conn.execute(_SAVE_YEAR, params)

    def book(self, record: SettlementRecord) -> int:
        """Write a settled encounter (row, lines, accumulators, ledger entries); its id."""
        sid = self.add_settlement(record.values, record.lines)
        self.save_person_year(record.person_id, record.year, record.settled)
        self.add_ledger_entries([{**e, "settlement_id": sid} for e in record.ledger])
        return sid

    def add_settlement(self, values: dict[str, Any], lines: list[dict[str, Any]]) -> int:
        settlement_id = self.conn.execute(_INSERT_SETTLEMENT, values).scalar_one()
        if lines:
            self.conn.execute(
                _INSERT_LINES, [{"settlement_id": settlement_id, **ln} for ln in lines]
            )
        return int(settlement_id)

    def add_ledger_entries(self, entries: list[dict[str, Any]]) -> None:
        if entries:
            stamp = now()
            self.conn.execute(_INSERT_LEDGER, [{"created_at": stamp, **e} for e in entries])

    def settlements_of(self, person_id: str, year: int) -> list[Any]:
        c = t.settlements.c
        return list(
            self.conn.execute(
                select(t.settlements)
                .where(c.person_id == person_id, c.year == year)
                .order_by(c.seq)
            )
        )

    def settlement(self, settlement_id: int) -> Any | None:
        return self.conn.execute(
            select(t.settlements).where(t.settlements.c.id == settlement_id)
        ).first()

    def ledger_sum(self, **where: Any) -> Decimal:
        cond = and_(*(getattr(t.fund_ledger.c, k) == v for k, v in where.items()))
        total = self.conn.execute(
            select(func.coalesce(func.sum(t.fund_ledger.c.amount_fen), 0)).where(cond)
        ).scalar_one()
        return from_fen(int(total))

    def statement(self, institution_id: str, month: str) -> list[Any]:
        c = t.fund_ledger.c
        return list(
            self.conn.execute(
                select(c.scheme, c.layer, func.sum(c.amount_fen).label("fen"))
                .where(c.institution_id == institution_id, c.month == month)
                .group_by(c.scheme, c.layer)
                .order_by(c.scheme, c.layer)
            )
        )

    # --- idempotency ------------------------------------------------------------------

    def idempotent_answer(self, caller: str, key: str) -> tuple[str, int, str] | None:
        c = t.idempotency_keys.c
        row = self.conn.execute(
            select(c.request_hash, c.status_code, c.response).where(
                c.caller == caller, c.key == key
            )
        ).first()
        return None if row is None else (row.request_hash, row.status_code, row.response)

    def remember_answer(
        self, caller: str, key: str, request_hash: str, status_code: int, response: str
    ) -> None:
        """DuplicateError when the caller's key is taken."""
        with refused_as_duplicate():
            self.conn.execute(
                insert(t.idempotency_keys).values(
                    caller=caller,
                    key=key,
                    request_hash=request_hash,
                    status_code=status_code,
                    response=response,
                    created_at=now(),
                )
            )


class Claims:
    """Manual reimbursement claims."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, values: dict[str, Any]) -> int:
        claim_id = self.conn.execute(
            insert(t.claims).values(**values).returning(t.claims.c.id)
        ).scalar_one()
        return int(claim_id)

    def get(self, claim_id: int, *, lock: bool = False) -> Any | None:
        query = select(t.claims).where(t.claims.c.id == claim_id)
        if lock:
            query = query.with_for_update()
        return self.conn.execute(query).first()

    def update(self, claim_id: int, **values: Any) -> None:
        self.conn.execute(update(t.claims).where(t.claims.c.id == claim_id).values(**values))

    def by_status(self, status: str | None, limit: int = 200) -> list[Any]:
        query = select(t.claims).order_by(t.claims.c.submitted_at, t.claims.c.id).limit(limit)
        if status is not None:
            query = query.where(t.claims.c.status == status)
        return list(self.conn.execute(query))


class History:
    """A person-year's stored settlements, with their lines and latest adjustments."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def settlements(self, person_id: str, year: int) -> list[Any]:
        c = t.settlements.c
        return list(
            self.conn.execute(
                select(t.settlements)
                .where(c.person_id == person_id, c.year == year)
                .order_by(c.seq)
            )
        )

    def lines(self, settlement_ids: Sequence[int]) -> dict[int, list[Any]]:
        if not settlement_ids:
            return {}
        c = t.settlement_lines.c
        out: dict[int, list[Any]] = {}
        rows = self.conn.execute(
            select(t.settlement_lines)
            .where(c.settlement_id.in_(settlement_ids))
            .order_by(c.settlement_id, c.line_no)
        )
        for row in rows:
            out.setdefault(row.settlement_id, []).append(row)
        return out

    def latest_adjustments(self, settlement_ids: Sequence[int]) -> dict[int, Any]:
        if not settlement_ids:
            return {}
        c = t.adjustments.c
        out: dict[int, Any] = {}
        for row in self.conn.execute(
            select(t.adjustments).where(c.settlement_id.in_(settlement_ids)).order_by(c.id)
        ):
            out[row.settlement_id] = row  # the last one wins
        return out

    def add_reversal(self, settlement_id: int, reason: str) -> int:
        rid = self.conn.execute(
            insert(t.reversals)
            .values(settlement_id=settlement_id, reason=reason, created_at=now())
            .returning(t.reversals.c.id)
        ).scalar_one()
        self.conn.execute(
            update(t.settlements)
            .where(t.settlements.c.id == settlement_id)
            .values(status="reversed")
        )
        return int(rid)

    def add_adjustment(self, values: dict[str, Any]) -> int:
        aid = self.conn.execute(
            insert(t.adjustments).values(created_at=now(), **values).returning(t.adjustments.c.id)
        ).scalar_one()
        return int(aid)

    def ledger_by_settlement(self, settlement_ids: Sequence[int]) -> dict[tuple[int, str], int]:
        if not settlement_ids:
            return {}
        c = t.fund_ledger.c
        rows = self.conn.execute(
            select(c.settlement_id, c.layer, func.sum(c.amount_fen))
            .where(c.settlement_id.in_(settlement_ids))
            .group_by(c.settlement_id, c.layer)
        )
        return {(int(r[0]), str(r[1])): int(r[2]) for r in rows}

    def person_years(
        self, year: int, region: str | None = None, after: str = "", limit: int = 1000
    ) -> list[str]:
        """Person ids with a stored year, in id order, after `after` (for chunked runs)."""
        c = t.person_years.c
        query = (
            select(c.person_id)
            .where(c.year == year, c.person_id > after)
            .order_by(c.person_id)
            .limit(limit)
        )
        if region is not None:
            query = query.join(t.persons, t.persons.c.id == c.person_id).where(
                t.persons.c.region == region
            )
        return [str(r[0]) for r in self.conn.execute(query)]

    def years(self) -> list[int]:
        c = t.person_years.c
        return [int(r[0]) for r in self.conn.execute(select(c.year).distinct().order_by(c.year))]

    def count_person_years(self, year: int, region: str | None = None) -> int:
        c = t.person_years.c
        query = select(func.count()).select_from(t.person_years).where(c.year == year)
        if region is not None:
            query = query.join(t.persons, t.persons.c.id == c.person_id).where(
                t.persons.c.region == region
            )
        return int(self.conn.execute(query).scalar_one())


class Yearly:
    """The yearly serious-illness layer's stored payments."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, person_id: str, year: int) -> Any | None:
        c = t.serious_illness_payments.c
        return self.conn.execute(
            select(t.serious_illness_payments).where(c.person_id == person_id, c.year == year)
        ).first()

    def put(self, values: dict[str, Any]) -> None:
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(t.serious_illness_payments).values(updated_at=now(), **values)
        keep = {
            k: stmt.excluded[k]
            for k in ("base_fen", "payment_fen", "explanation", "updated_at", "scheme")
        }
        self.conn.execute(
            stmt.on_conflict_do_update(index_elements=["person_id", "year"], set_=keep)
        )
