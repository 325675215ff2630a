"""The registry's and the catalogue's reads that a message at the counter or the
national interface sends every time, as fixed SQL for PostgreSQL's prepared statements
(prepared.Driver): a card and its holder, a person, an enrolment, an institution, the
person's categories, whether a region is there, the catalogue's generation and a region's
base items. Registry and
CatalogueRepo send these on PostgreSQL and read the rows into the same domain values as
their SQLAlchemy statements (which SQLite keeps).

Each statement names its columns in the order the readers below take them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from yibao.domain.model import CategorySpan, LineClass, Scheme
from yibao.domain.money import from_fen
from yibao.domain.registry import (
    Card,
    CardStatus,
    CatalogueItem,
    Enrolment,
    Institution,
    InstitutionKind,
    PersonRecord,
)

_PERSON = (
    "p.id, p.id_number, p.name, p.birth_date, p.sex, p.region, p.phone, p.assistance, "
    "p.retired, p.contribution_years"
)
PERSON = f"SELECT {_PERSON} FROM persons p WHERE p.id = $1"
PERSON_BY_ID_NUMBER = f"SELECT {_PERSON} FROM persons p WHERE p.id_number = $1"
# As Registry.holder's: the card, its holder, and the holder's enrolment of the year.
HOLDER = f"""SELECT c.number, c.person_id, c.status, c.issued_on, c.replaced_by, c.due_on,
       {_PERSON}, e.scheme, e.status, e.valid_from, e.valid_to
FROM cards c JOIN persons p ON p.id = c.person_id
LEFT JOIN enrolments e ON e.person_id = p.id AND e.year = $2
WHERE c.number = $1"""
ENROLMENT = """SELECT person_id, year, scheme, status, valid_from, valid_to, channel, school_id,
       personal_fen, subsidy_fen, assistance_fen, paid_on
FROM enrolments WHERE person_id = $1 AND year = $2"""
INSTITUTION = """SELECT id, region, name, level, kind, designated, pilot, type, province
FROM institutions WHERE id = $1"""
CATEGORIES = """SELECT category, valid_from, valid_to FROM person_categories
WHERE person_id = $1 ORDER BY id"""
GENERATION = "SELECT generation FROM catalogue_generation"
REGION = "SELECT 1 FROM regions WHERE code = $1"
# Code by code, each by the catalogue's key (as counter_pg.py's read: PostgreSQL's
# generic plan for `code = ANY($2)` may scan the whole region).
CATALOGUE_ITEMS = """SELECT ci.code, ci.name, ci.cls, ci.unit_price_fen
FROM unnest($2::varchar[]) AS q(code)
CROSS JOIN LATERAL (
    SELECT * FROM catalogue_items ci WHERE ci.region = $1 AND ci.code = q.code OFFSET 0) ci"""


def person(row: Sequence[Any]) -> PersonRecord:
    return PersonRecord(*row[:10])


def holder(row: Sequence[Any], year: int) -> tuple[Card, PersonRecord, Enrolment | None]:
    number, person_id, status, issued_on, replaced_by, due_on = row[:6]
    card = Card(number, person_id, CardStatus(status), issued_on, replaced_by, due_on=due_on)
    record = PersonRecord(*row[6:16])
    scheme, enrolment_status, valid_from, valid_to = row[16:20]
    enrolment = None
    if scheme is not None:
        enrolment = Enrolment(
            record.id, year, Scheme(scheme), enrolment_status, valid_from, valid_to
        )
    return card, record, enrolment


def enrolment(row: Sequence[Any]) -> Enrolment:
    (person_id, year, scheme, status, valid_from, valid_to, channel, school_id) = row[:8]
    personal_fen, subsidy_fen, assistance_fen, paid_on = row[8:12]
    return Enrolment(
        person_id,
        year,
        Scheme(scheme),
        status,
        valid_from,
        valid_to,
        channel,
        school_id,
        from_fen(personal_fen),
        from_fen(subsidy_fen),
        from_fen(assistance_fen),
        paid_on,
    )


def institution(row: Sequence[Any]) -> Institution:
    id_, region, name, level, kind, designated, pilot, type_, province = row
    return Institution(
        id_, region, name, level, InstitutionKind(kind), designated, pilot, type_, province
    )


def category(row: Sequence[Any]) -> CategorySpan:
    return CategorySpan(*row)


def catalogue_item(row: Sequence[Any]) -> CatalogueItem:
    code, name, cls, unit_price_fen = row
    fixed = None if unit_price_fen is None else from_fen(unit_price_fen)
    return CatalogueItem(code, name, LineClass(cls), fixed)
