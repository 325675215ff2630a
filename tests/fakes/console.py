"""The staff console's reads in memory (ports.admin.Console): person search, work queues,
the fund dashboard, and a clerk's correction of a person."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from types import SimpleNamespace
from typing import Any

from fakes.member import FakeMember
from fakes.tables import Tables
from yibao.adapters.db.ledger_repo import year_state
from yibao.domain.money import to_fen

# Cards a person may settle with now come first (adapters/db/console_repo.py).
_CARD_ORDER = {"active": 0, "ordered": 1, "lost": 2, "replaced": 3}


class FakeConsole:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def regions(self, region: str | None) -> list[Any]:
        return [self.t.regions[c] for c in sorted(self.t.regions) if region in (None, c)]

    # --- person search ---------------------------------------------------------------

    def search_persons(
        self, text: str, region: str | None, year: int, limit: int
    ) -> list[dict[str, Any]]:
        holders = {c.person_id for c in self.t.cards.values() if c.number == text}
        found = sorted(
            (
                p
                for p in self.t.persons.values()
                if (region is None or p.region == region)
                and (
                    text in p.name
                    or p.id_number.startswith(text.upper())
                    or p.id == text
                    or p.id in holders
                )
            ),
            key=lambda p: (p.name, p.id_number),
        )[:limit]
        cards = self.current_cards([p.id for p in found])
        rows = []
        for p in found:
            e = self.t.enrolments.get((p.id, year))
            rows.append(
                {
                    "id": p.id,
                    "id_number": p.id_number,
                    "name": p.name,
                    "region": p.region,
                    "birth_date": p.birth_date,
                    "scheme": None if e is None else str(e.scheme),
                    "status": None if e is None else e.status,
                    "card": cards.get(p.id),
                }
            )
        return rows

    def current_cards(self, person_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        wanted = set(person_ids)
        best: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
        for c in self.t.cards.values():
            if c.person_id not in wanted:
                continue
            day = c.issued_on or c.ordered_on
            key = (_CARD_ORDER.get(c.status.value, 9), 0 if day is None else -day.toordinal())
            if c.person_id not in best or key < best[c.person_id][0]:
                best[c.person_id] = (key, {"number": c.number, "status": c.status.value})
        return {pid: card for pid, (_, card) in best.items()}

    def claims_of(self, person_id: str) -> list[Any]:
        rows = [c for c in self.t.claims.values() if c.person_id == person_id]
        return sorted(rows, key=lambda r: (r.submitted_at, r.id))

    # --- work queues -----------------------------------------------------------------

    def submitted_batches(self, region: str | None) -> list[Any]:
        rows = []
        for b in self.t.school_batches.values():
            school = self.t.schools[b.school_id]
            if b.status != "submitted" or region not in (None, school.region):
                continue
            waiting = sum(
                1
                for (bid, _), r in self.t.school_rows.items()
                if bid == b.id and r.status == "submitted"
            )
            rows.append(
                SimpleNamespace(
                    id=b.id,
                    school_id=b.school_id,
                    school_name=school.name,
                    region=school.region,
                    year=b.year,
                    rows=b.rows,
                    file_name=b.file_name,
                    submitted_at=b.submitted_at,
                    waiting=waiting,
                )
            )
        return sorted(rows, key=lambda r: (r.submitted_at, r.id))

    def queue_counts(self, region: str | None, today: Any) -> dict[str, int]:
        def here(person_id: str) -> bool:
            return region is None or self.t.persons[person_id].region == region

        batches = self.submitted_batches(region)
        applied = [a.person_id for a in self.t.approvals.values() if a.status == "applied"]
        return {
            "schools": len(batches),
            "approvals": sum(1 for pid in applied if here(pid)),
            "claims": sum(
                1 for c in self.t.claims.values() if c.status == "submitted" and here(c.person_id)
            ),
            "cards": sum(
                1
                for c in self.t.cards.values()
                if c.status.value == "ordered"
                and c.due_on is not None
                and c.due_on < today
                and here(c.person_id)
            ),
        }

    # --- the fund dashboard ----------------------------------------------------------

    def ledger_totals(self, region: str, year: int) -> list[Any]:
        fen: dict[tuple[str, str, str], int] = defaultdict(int)
        for e in self.t.fund_ledger:
            if (e.region, e.year) == (region, year):
                fen[(e.scheme, e.layer, e.month)] += e.amount_fen
        return [
            SimpleNamespace(scheme=s, layer=lay, month=m, amount_fen=f)
            for (s, lay, m), f in sorted(fen.items())
        ]

    def person_year_states(self, region: str, year: int, chunk: int = 1000) -> Iterator[list[Any]]:
        rows = [
            SimpleNamespace(
                person_id=pid, scheme=str(self.t.enrolments[(pid, y)].scheme), state=year_state(acc)
            )
            for (pid, y), (acc, _) in sorted(self.t.person_years.items())
            if y == year and self.t.persons[pid].region == region and (pid, y) in self.t.enrolments
        ]
        for start in range(0, len(rows), chunk):
            yield rows[start : start + chunk]

    def serious_illness(self, region: str, year: int) -> list[Any]:
        by_scheme: dict[str, list[int]] = defaultdict(list)
        for s in self.t.serious_illness.values():
            if (s.region, s.year) == (region, year) and s.payment_fen > 0:
                by_scheme[s.scheme].append(s.payment_fen)
        return [
            SimpleNamespace(scheme=k, persons=len(v), payment_fen=sum(v))
            for k, v in sorted(by_scheme.items())
        ]

    def serious_illness_at_least(self, region: str, year: int, fen: int) -> int:
        return sum(
            1
            for s in self.t.serious_illness.values()
            if (s.region, s.year) == (region, year) and s.payment_fen >= fen
        )

    def ledger_years(self, region: str) -> list[int]:
        return sorted({e.year for e in self.t.fund_ledger if e.region == region})

    def premiums_by_day(self, region: str, year: int) -> list[Any]:
        parts: dict[date, Counter[str]] = defaultdict(Counter)
        for (pid, y), e in self.t.enrolments.items():
            if (
                y == year
                and e.paid_on is not None
                and e.status != "cancelled"
                and self.t.persons[pid].region == region
            ):
                day = parts[e.paid_on]
                day["personal_fen"] += to_fen(e.personal)
                day["subsidy_fen"] += to_fen(e.subsidy)
                day["assistance_fen"] += to_fen(e.assistance)
        return [
            SimpleNamespace(
                paid_on=d,
                personal_fen=c["personal_fen"],
                subsidy_fen=c["subsidy_fen"],
                assistance_fen=c["assistance_fen"],
            )
            for d, c in sorted(parts.items())
        ]

    def institution_names(self, ids: Sequence[str]) -> dict[str, str]:
        return FakeMember(self.t).institution_names(ids)

    def correct_person(
        self, person_id: str, name: str, phone: str | None, assistance: bool
    ) -> None:
        if person_id in self.t.persons:
            p = self.t.persons[person_id]
            self.t.persons[person_id] = replace(p, name=name, phone=phone, assistance=assistance)
