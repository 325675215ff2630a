"""A person-year's stored settlements with their lines, reversals and adjustments
(ports.stores.History), and the yearly serious-illness payments (ports.stores.Yearly),
in memory."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from fakes.tables import Tables, changed, insert, new_row
from yibao.adapters.db.tables import adjustments, reversals, serious_illness_payments
from yibao.service.ports import now
from yibao.service.ports.records import DuplicateError


class FakeHistory:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def settlements(self, person_id: str, year: int) -> list[Any]:
        rows = self.t.settlements.values()
        found = [r for r in rows if r.person_id == person_id and r.year == year]
        return sorted(found, key=lambda r: r.seq)

    def lines(self, settlement_ids: Sequence[int]) -> dict[int, list[Any]]:
        return {
            sid: sorted(self.t.settlement_lines[sid], key=lambda ln: ln.line_no)
            for sid in sorted(set(settlement_ids))
            if self.t.settlement_lines.get(sid)
        }

    def latest_adjustments(self, settlement_ids: Sequence[int]) -> dict[int, Any]:
        wanted = set(settlement_ids)
        latest: dict[int, Any] = {}
        for aid in sorted(self.t.adjustments):
            row = self.t.adjustments[aid]
            if row.settlement_id in wanted:
                latest[row.settlement_id] = row  # the last one wins
        return latest

    def add_reversal(self, settlement_id: int, reason: str) -> int:
        if any(r.settlement_id == settlement_id for r in self.t.reversals.values()):
            raise DuplicateError(f"settlement {settlement_id} is reversed already")
        rid = self.t.next_id("reversals")
        values = {"id": rid, "settlement_id": settlement_id, "reason": reason, "created_at": now()}
        insert(self.t.reversals, rid, new_row(reversals, values), "reversal")
        if settlement_id in self.t.settlements:
            row = self.t.settlements[settlement_id]
            self.t.settlements[settlement_id] = changed(row, status="reversed")
        return rid

    def add_adjustment(self, values: dict[str, Any]) -> int:
        aid = self.t.next_id("adjustments")
        row = new_row(adjustments, {**values, "id": aid, "created_at": now()})
        insert(self.t.adjustments, aid, row, "adjustment")
        return aid

    def ledger_by_settlement(self, settlement_ids: Sequence[int]) -> dict[tuple[int, str], int]:
        wanted = set(settlement_ids)
        fen: dict[tuple[int, str], int] = defaultdict(int)
        for e in self.t.fund_ledger:
            if e.settlement_id in wanted:
                fen[(e.settlement_id, e.layer)] += e.amount_fen
        return dict(fen)

    def person_years(
        self, year: int, region: str | None = None, after: str = "", limit: int = 1000
    ) -> list[str]:
        return sorted(p for p in self._persons(year, region) if p > after)[:limit]

    def years(self) -> list[int]:
        return sorted({y for _, y in self.t.person_years})

    def count_person_years(self, year: int, region: str | None = None) -> int:
        return len(self._persons(year, region))

    def _persons(self, year: int, region: str | None) -> list[str]:
        return [
            pid
            for pid, y in self.t.person_years
            if y == year and (region is None or self.t.persons[pid].region == region)
        ]


class FakeYearly:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def get(self, person_id: str, year: int) -> Any | None:
        return self.t.serious_illness.get((person_id, year))

    def put(self, values: dict[str, Any]) -> None:
        key = (values["person_id"], values["year"])
        row = new_row(serious_illness_payments, {**values, "updated_at": now()})
        kept = self.t.serious_illness.get(key)
        if kept is not None:  # an update of what changes; the region stays
            keep = ("base_fen", "payment_fen", "explanation", "updated_at", "scheme")
            row = changed(kept, **{k: getattr(row, k) for k in keep})
        self.t.serious_illness[key] = row
