"""The ledger in memory: person-years, settlements and their lines, the fund ledger and
the answers kept for idempotency keys (ports.stores.Ledger)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from fakes.tables import Tables, changed, insert, new_row
from yibao.adapters.db.tables import claims as claims_table
from yibao.adapters.db.tables import settlement_lines
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.money import from_fen
from yibao.service.ports import now
from yibao.service.ports.records import SettlementRecord, explanation_text


class FakeLedger:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def lock_person_year(self, person_id: str, year: int) -> tuple[YearAccumulators, int]:
        return self.t.person_years.setdefault((person_id, year), (YearAccumulators(year=year), 0))

    def read_person_year(self, person_id: str, year: int) -> YearAccumulators:
        found = self.t.person_years.get((person_id, year))
        return YearAccumulators(year=year) if found is None else found[0]

    def save_person_year(self, person_id: str, acc: YearAccumulators, settled: int) -> None:
        if (person_id, acc.year) in self.t.person_years:  # an update: the lock made the row
            self.t.person_years[(person_id, acc.year)] = (acc, settled)

    def book(self, record: SettlementRecord) -> int:
        sid = self.add_settlement(explanation_text(record.values), record.lines)
        self.save_person_year(record.person_id, record.year, record.settled)
        self.add_ledger_entries([{**e, "settlement_id": sid} for e in record.ledger])
        return sid

    def add_settlement(self, values: dict[str, Any], lines: list[dict[str, Any]]) -> int:
        sid = self.t.next_id("settlements")
        insert(self.t.settlements, sid, SimpleNamespace(id=sid, **values), "settlement")
        self.t.settlement_lines[sid] = [
            new_row(settlement_lines, {"settlement_id": sid, **ln}) for ln in lines
        ]
        return sid

    def add_ledger_entries(self, entries: list[dict[str, Any]]) -> None:
        stamp = now()
        for e in entries:
            entry_id = self.t.next_id("fund_ledger")
            self.t.fund_ledger.append(SimpleNamespace(id=entry_id, created_at=stamp, **e))

    def settlements_of(self, person_id: str, year: int) -> list[Any]:
        rows = self.t.settlements.values()
        found = [r for r in rows if r.person_id == person_id and r.year == year]
        return sorted(found, key=lambda r: r.seq)

    def settlement(self, settlement_id: int) -> Any | None:
        return self.t.settlements.get(settlement_id)

    def ledger_sum(self, **where: Any) -> Decimal:
        matching = (
            e.amount_fen
            for e in self.t.fund_ledger
            if all(getattr(e, k) == v for k, v in where.items())
        )
        return from_fen(sum(matching))

    def statement(self, institution_id: str, month: str) -> list[Any]:
        fen: dict[tuple[str, str], int] = defaultdict(int)
        for e in self.t.fund_ledger:
            if e.institution_id == institution_id and e.month == month:
                fen[(e.scheme, e.layer)] += e.amount_fen
        return [SimpleNamespace(scheme=s, layer=lay, fen=f) for (s, lay), f in sorted(fen.items())]

    def idempotent_answer(self, caller: str, key: str) -> tuple[str, int, str] | None:
        return self.t.answers.get((caller, key))

    def remember_answer(
        self, caller: str, key: str, request_hash: str, status_code: int, response: str
    ) -> None:
        answer = (request_hash, status_code, response)
        insert(self.t.answers, (caller, key), answer, "idempotency key")


class FakeClaims:
    """Manual reimbursement claims: rows with every column of the claims table (those a
    claim leaves out are None, or the table's default)."""

    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def add(self, values: dict[str, Any]) -> int:
        claim_id = self.t.next_id("claims")
        self.t.claims[claim_id] = new_row(claims_table, {**values, "id": claim_id})
        return claim_id

    def get(self, claim_id: int, *, lock: bool = False) -> Any | None:
        return self.t.claims.get(claim_id)

    def update(self, claim_id: int, **values: Any) -> None:
        if claim_id in self.t.claims:
            self.t.claims[claim_id] = changed(self.t.claims[claim_id], **values)

    def by_status(self, status: str | None, limit: int = 200) -> list[Any]:
        rows = sorted(self.t.claims.values(), key=lambda r: (r.submitted_at, r.id))
        return [r for r in rows if status is None or r.status == status][:limit]
