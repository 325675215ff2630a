"""What yibao his-sim plays with, read from the server's database: designated hospitals
and clinics, enrolled persons with an active card, and each region's catalogue codes with
their highest price cap."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select

from yibao.adapters.db import tables as t
from yibao.adapters.db.engine import make_engine

Item = tuple[str, Decimal | None]


def read_world(
    database_url: str, year: int, limit: int
) -> tuple[list[str], list[tuple[str, str, str, str]], dict[str, list[Item]]]:
    """Institutions; (person_id, card, scheme, region) of up to `limit` persons enrolled in
    the year with an active card; the catalogue by region."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            i = t.institutions.c
            institutions = [
                str(r.id)
                for r in conn.execute(select(i.id).where(i.designated, i.kind != "pharmacy"))
            ]
            e, c, p = t.enrolments.c, t.cards.c, t.persons.c
            rows = conn.execute(
                select(p.id, c.number, e.scheme, p.region)
                .select_from(
                    t.cards.join(t.persons, p.id == c.person_id).join(
                        t.enrolments, and_(e.person_id == p.id, e.year == year)
                    )
                )
                .where(c.status == "active", e.status == "active")
                .order_by(p.id)
                .limit(limit)
            ).all()
            catalogue = _catalogue(conn, year)
    finally:
        engine.dispose()
    people = [(str(r.id), str(r.number), str(r.scheme), str(r.region)) for r in rows]
    return institutions, people, catalogue


def _catalogue(conn: Any, year: int) -> dict[str, list[Item]]:
    """Each region's codes: class items without a fixed price, and the catalogue entries in
    force all year with their highest cap (restricted items among them)."""
    out: dict[str, list[Item]] = {}
    ci = t.catalogue_items.c
    for r in conn.execute(select(ci.region, ci.code).where(ci.unit_price_fen.is_(None))):
        out.setdefault(str(r.region), []).append((str(r.code), None))
    ce = t.catalogue_entries.c
    start, end = date(year, 1, 1), date(year, 12, 31)
    query = select(ce.region, ce.code, ce.caps).where(
        ce.valid_from <= start, ce.valid_to.is_(None) | (ce.valid_to >= end)
    )
    for r in conn.execute(query):
        caps = [Decimal(str(v)) for v in json.loads(r.caps or "{}").values()]
        out.setdefault(str(r.region), []).append((str(r.code), max(caps) if caps else None))
    return out
