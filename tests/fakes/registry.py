"""The registry in memory: institutions, catalogue items, persons, enrolments, cards,
guardians and certificates (ports.stores.Registry)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from fakes.tables import Tables, add_row, insert, rows_of
from yibao.adapters.db import tables
from yibao.domain.model import Approval, CategorySpan, Filing
from yibao.domain.money import to_fen
from yibao.domain.registry import (
    Card,
    CardStatus,
    CatalogueItem,
    Enrolment,
    Institution,
    PersonRecord,
    Referral,
)
from yibao.service.ports.records import DuplicateError


class FakeRegistry:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    # --- reads ------------------------------------------------------------------------

    def institution(self, institution_id: str) -> Institution | None:
        return self.t.institutions.get(institution_id)

    def catalogue_items(self, region: str, codes: Iterable[str]) -> dict[str, CatalogueItem]:
        items = self.t.catalogue_items
        return {c: items[(region, c)] for c in set(codes) if (region, c) in items}

    def card(self, number: str) -> Card | None:
        return self.t.cards.get(number)

    def holder(
        self, card_number: str, year: int
    ) -> tuple[Card, PersonRecord, Enrolment | None] | None:
        card = self.t.cards.get(card_number)
        if card is None:
            return None
        person = self.t.persons[card.person_id]
        return card, person, self.t.enrolments.get((person.id, year))

    def person(self, person_id: str) -> PersonRecord | None:
        return self.t.persons.get(person_id)

    def person_by_id_number(self, id_number: str) -> PersonRecord | None:
        return next((p for p in self.t.persons.values() if p.id_number == id_number), None)

    def enrolment(self, person_id: str, year: int) -> Enrolment | None:
        return self.t.enrolments.get((person_id, year))

    def enrolments_of(self, person_id: str) -> list[Enrolment]:
        found = [e for (pid, _), e in self.t.enrolments.items() if pid == person_id]
        return sorted(found, key=lambda e: e.year)

    def cards_of(self, person_id: str) -> list[Card]:
        found = [c for c in self.t.cards.values() if c.person_id == person_id]
        return sorted(found, key=lambda c: (c.ordered_on or c.issued_on or date.min, c.number))

    def children_of(self, guardian_id: str) -> list[str]:
        return [c for c, g in self.t.guardians if g == guardian_id]

    def guardians_of(self, child_id: str) -> list[str]:
        return [g for c, g in self.t.guardians if c == child_id]

    def premium_totals(self, region: str, year: int) -> list[Any]:
        sums: dict[tuple[str, str], list[int]] = {}
        for (pid, y), e in self.t.enrolments.items():
            if y != year or e.status == "cancelled" or self.t.persons[pid].region != region:
                continue
            parts = (to_fen(e.personal), to_fen(e.subsidy), to_fen(e.assistance))
            row = sums.setdefault((str(e.scheme), e.status), [0, 0, 0, 0, 0])
            for i, fen in enumerate((1, int(parts[2] > 0), *parts)):
                row[i] += fen
        return [
            SimpleNamespace(
                scheme=scheme,
                status=status,
                persons=n,
                exempt=exempt,
                personal=personal,
                subsidy=subsidy,
                assistance=assistance,
            )
            for (scheme, status), (n, exempt, personal, subsidy, assistance) in sorted(sums.items())
        ]

    def persons_by_id_number(self, numbers: Iterable[str]) -> dict[str, PersonRecord]:
        wanted = set(numbers)
        return {p.id_number: p for p in self.t.persons.values() if p.id_number in wanted}

    def enrolled_in(self, year: int, person_ids: Iterable[str]) -> set[str]:
        return {pid for pid in set(person_ids) if (pid, year) in self.t.enrolments}

    def approvals(self, person_id: str) -> tuple[Approval, ...]:
        return tuple(
            Approval(r.disease, r.hospital_id, r.valid_from, r.valid_to)
            for r in rows_of(self.t.approvals, person_id)
            if r.status == "approved"
        )

    def filings(self, person_id: str) -> tuple[Filing, ...]:
        return tuple(
            Filing(r.region, r.valid_from, r.valid_to) for r in rows_of(self.t.filings, person_id)
        )

    def categories(self, person_id: str) -> tuple[CategorySpan, ...]:
        return tuple(c for pid, c in self.t.categories if pid == person_id)

    def referrals(self, person_id: str) -> tuple[Referral, ...]:
        return tuple(
            Referral(r.person_id, r.issued_by, r.to_region, r.valid_from, r.valid_to)
            for r in rows_of(self.t.referrals, person_id)
        )

    def has_persons(self, region: str) -> bool:
        return any(p.region == region for p in self.t.persons.values())

    def active_cards(
        self, region: str, year: int | None = None, limit: int | None = None
    ) -> list[tuple[str, str]]:
        found = sorted(
            (c.person_id, c.number)
            for c in self.t.cards.values()
            if c.status is CardStatus.ACTIVE
            and self.t.persons[c.person_id].region == region
            and (
                year is None
                or getattr(self.t.enrolments.get((c.person_id, year)), "status", None) == "active"
            )
        )
        return [(number, person) for person, number in found[:limit]]

    # --- writes -----------------------------------------------------------------------

    def add_region(self, code: str, name_zh: str, name_en: str, admdvs: str) -> None:
        self.t.regions.setdefault(
            code, SimpleNamespace(code=code, name_zh=name_zh, name_en=name_en, admdvs=admdvs)
        )

    def add_institution(self, inst: Institution) -> None:
        insert(self.t.institutions, inst.id, inst, "institution")

    def update_institution(self, inst: Institution) -> None:
        old = self.t.institutions.get(inst.id)
        if old is not None:
            self.t.institutions[inst.id] = replace(
                old,
                name=inst.name,
                level=inst.level,
                designated=inst.designated,
                type=inst.type,
                province=inst.province,
            )

    def add_catalogue_items(self, region: str, items: Sequence[CatalogueItem]) -> None:
        for item in items:
            insert(self.t.catalogue_items, (region, item.code), item, "catalogue item")

    def add_person(self, p: PersonRecord) -> None:
        if self.person_by_id_number(p.id_number) is not None:
            raise DuplicateError(f"ID number {p.id_number} is registered")
        insert(self.t.persons, p.id, p, "person")

    def add_persons(self, records: Sequence[PersonRecord]) -> None:
        for p in records:
            self.add_person(p)

    def add_enrolment(self, e: Enrolment) -> None:
        insert(self.t.enrolments, (e.person_id, e.year), e, "enrolment")

    def add_enrolments(self, enrolments: Sequence[Enrolment]) -> None:
        for e in enrolments:
            self.add_enrolment(e)

    def add_guardian(self, child_id: str, guardian_id: str) -> None:
        self.t.guardians.add((child_id, guardian_id))

    def add_guardians(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.t.guardians.update(pairs)

    def add_card(self, card: Card) -> None:
        insert(self.t.cards, card.number, card, "card")

    def add_cards(self, cards: Sequence[Card]) -> None:
        for card in cards:
            self.add_card(card)

    def set_card_status(self, number: str, status: CardStatus) -> None:
        if number in self.t.cards:
            self.t.cards[number] = replace(self.t.cards[number], status=status)

    def add_approval(self, person_id: str, a: Approval) -> None:
        values = {
            "person_id": person_id,
            "disease": a.disease,
            "hospital_id": a.hospital,
            "valid_from": a.valid_from,
            "valid_to": a.valid_to,
        }
        add_row(self.t, "approvals", tables.approvals, values)

    def add_filing(self, person_id: str, f: Filing) -> None:
        values = {
            "person_id": person_id,
            "region": f.region,
            "valid_from": f.valid_from,
            "valid_to": f.valid_to,
        }
        add_row(self.t, "filings", tables.filings, values)

    def add_category(
        self, person_id: str, span: CategorySpan, who: str | None = None, at: datetime | None = None
    ) -> None:
        self.t.categories.append((person_id, span))

    def end_category(self, person_id: str, span: CategorySpan, valid_to: date) -> None:
        self.t.categories = [
            (pid, replace(c, valid_to=valid_to) if (pid, c) == (person_id, span) else c)
            for pid, c in self.t.categories
        ]

    def add_referral(self, r: Referral) -> None:
        values = {
            "person_id": r.person_id,
            "issued_by": r.issued_by,
            "to_region": r.to_region,
            "valid_from": r.valid_from,
            "valid_to": r.valid_to,
        }
        add_row(self.t, "referrals", tables.referrals, values)
