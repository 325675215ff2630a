"""The regions and the money between them in memory (ports.stores.Regions): both books'
receivables and payables, the monthly clearings, and what `verify` reads of them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

from fakes.tables import Tables, changed, new_row
from yibao.adapters.db.tables_clearing import clearings, region_ledger
from yibao.domain.money import to_fen
from yibao.service.ports import now
from yibao.service.ports.records import DuplicateError

MOVEMENTS = ("settlement", "reversal", "adjustment")


def pair(one: str, other: str) -> tuple[str, str]:
    return (one, other) if one < other else (other, one)


def sums(rows: list[Any], key: Callable[[Any], Any]) -> dict[Any, int]:
    out: dict[Any, int] = defaultdict(int)
    for r in rows:
        out[key(r)] += r.amount_fen
    return dict(out)


class FakeRegions:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def known(self, code: str) -> bool:
        return code in self.t.regions

    def all(self) -> list[Any]:
        return [self.t.regions[code] for code in sorted(self.t.regions)]

    # --- receivables and payables ---------------------------------------------------

    def book(
        self, settlement_id: int, insured: str, treated: str, entry: str, month: str, fen: int
    ) -> None:
        at = now()
        for region, other, side in (
            (treated, insured, "receivable"),
            (insured, treated, "payable"),
        ):
            self._add_row(
                {
                    "region": region,
                    "counterparty": other,
                    "side": side,
                    "settlement_id": settlement_id,
                    "entry": entry,
                    "month": month,
                    "amount_fen": fen,
                    "created_at": at,
                }
            )

    def _add_row(self, values: dict[str, Any]) -> None:
        row_id = self.t.next_id("region_ledger")
        self.t.region_ledger.append(new_row(region_ledger, {**values, "id": row_id}))

    def moved(self, settlement_id: int) -> bool:
        return any(r.settlement_id == settlement_id for r in self.t.region_ledger)

    def balances(self) -> list[Any]:
        return [
            SimpleNamespace(region=k[0], counterparty=k[1], side=k[2], fen=fen)
            for k, fen in sorted(self.book_sums().items())
        ]

    # --- clearing -------------------------------------------------------------------

    def clearing(self, clearing_id: int) -> Any | None:
        return self.t.clearings.get(clearing_id)

    def clearing_of(self, month: str, a: str, b: str) -> Any | None:
        found = self.t.clearings.values()
        return next((c for c in found if (c.month, c.region_a, c.region_b) == (month, a, b)), None)

    def clearings(self, month: str | None = None, region: str | None = None) -> list[Any]:
        rows = [
            c
            for c in self.t.clearings.values()
            if month in (None, c.month) and region in (None, c.region_a, c.region_b)
        ]
        return sorted(rows, key=lambda c: (c.month, c.region_a, c.region_b))

    def uncleared_pairs(self, month: str) -> list[tuple[str, str]]:
        return sorted(
            {
                pair(r.region, r.counterparty)
                for r in self.t.region_ledger
                if r.month == month and r.clearing_id is None and r.entry in MOVEMENTS
            }
        )

    def _of_pair(self, row: Any, month: str, a: str, b: str) -> bool:
        return (
            row.month == month
            and row.clearing_id is None
            and row.entry in MOVEMENTS
            and pair(row.region, row.counterparty) == (a, b)
        )

    def _update_rows(self, of_month: str, a: str, b: str, **values: Any) -> int:
        rows = self.t.region_ledger
        hits = [i for i, r in enumerate(rows) if self._of_pair(r, of_month, a, b)]
        for i in hits:
            rows[i] = changed(rows[i], **values)
        return len(hits)

    def add_clearing(self, month: str, a: str, b: str) -> int:
        if self.clearing_of(month, a, b) is not None:
            raise DuplicateError(f"the clearing of {month} between {a} and {b} exists")
        new_id = self.t.next_id("clearings")
        self._update_rows(month, a, b, clearing_id=new_id)
        held = [
            r for r in self.t.region_ledger if r.clearing_id == new_id and r.side == "receivable"
        ]
        values = {
            "id": new_id,
            "month": month,
            "region_a": a,
            "region_b": b,
            "a_advanced_fen": sum(r.amount_fen for r in held if r.region == a),
            "b_advanced_fen": sum(r.amount_fen for r in held if r.region == b),
            "entries": len(held),
            "status": "stated",
            "created_at": now(),
        }
        self.t.clearings[new_id] = new_row(clearings, values)
        return new_id

    def move_late(self, month: str, a: str, b: str, to_month: str) -> int:
        return self._update_rows(month, a, b, month=to_month)

    def set_clearing(self, clearing_id: int, **values: Any) -> None:
        if clearing_id in self.t.clearings:
            self.t.clearings[clearing_id] = changed(self.t.clearings[clearing_id], **values)

    def lock_clearing(self, clearing_id: int) -> Any | None:
        return self.clearing(clearing_id)

    def close(self, clearing_id: int, month: str) -> None:
        held = [r for r in self.t.region_ledger if r.clearing_id == clearing_id]
        at = now()
        for (region, other, side), fen in sums(
            held, lambda r: (r.region, r.counterparty, r.side)
        ).items():
            if fen != 0:
                self._add_row(
                    {
                        "region": region,
                        "counterparty": other,
                        "side": side,
                        "settlement_id": None,
                        "entry": "closing",
                        "month": month,
                        "amount_fen": -fen,
                        "clearing_id": clearing_id,
                        "created_at": at,
                    }
                )

    def statement_lines(self, clearing_ids: Sequence[int]) -> list[Any]:
        wanted = set(clearing_ids)
        lines = []
        for r in self.t.region_ledger:
            s = self.t.settlements.get(r.settlement_id)
            if r.clearing_id not in wanted or r.side != "receivable" or r.entry not in MOVEMENTS:
                continue
            if s is None:
                continue
            place = self.t.institutions.get(s.institution_id)
            lines.append(
                SimpleNamespace(
                    clearing_id=r.clearing_id,
                    treated=r.region,
                    insured=r.counterparty,
                    settlement_id=r.settlement_id,
                    entry=r.entry,
                    month=r.month,
                    amount_fen=r.amount_fen,
                    created_at=r.created_at,
                    person_id=s.person_id,
                    institution_id=s.institution_id,
                    encounter_date=s.encounter_date,
                    kind=s.kind,
                    total_fen=s.total_fen,
                    institution_name=None if place is None else place.name,
                    order=(r.clearing_id, r.region, r.id),
                )
            )
        lines.sort(key=lambda line: line.order)
        for line in lines:
            del line.order
        return lines

    # --- what verify reads (adapters/db/regions_checks.py) ----------------------------

    def book_sums(self) -> dict[tuple[str, str, str], int]:
        return sums(self.t.region_ledger, lambda r: (r.region, r.counterparty, r.side))

    def movement_imbalances(self) -> list[tuple[int, str, int]]:
        signed: dict[tuple[int, str], int] = defaultdict(int)
        for r in self.t.region_ledger:
            if r.settlement_id is not None:
                sign = 1 if r.side == "receivable" else -1
                signed[(r.settlement_id, r.entry)] += sign * r.amount_fen
        return [(sid, entry, fen) for (sid, entry), fen in signed.items() if fen != 0]

    def moved_by_settlement(self) -> dict[int, int]:
        moved = [r for r in self.t.region_ledger if r.side == "receivable" and r.entry in MOVEMENTS]
        return sums(moved, lambda r: r.settlement_id)

    def owed_elsewhere(self) -> dict[int, int]:
        owed: dict[int, int] = {}
        for s in self.t.settlements.values():
            if (
                s.channel == "card"
                and s.hospital_region != s.region
                and s.hospital_region in self.t.regions
            ):
                owed[s.id] = sum(
                    e.amount_fen
                    for e in self.t.fund_ledger
                    if e.settlement_id == s.id and e.layer in ("basic", "assistance")
                )
        return owed

    def uncleared_in_cleared_months(self) -> list[Any]:
        cleared = {(c.month, c.region_a, c.region_b) for c in self.t.clearings.values()}
        return [
            SimpleNamespace(
                settlement_id=r.settlement_id,
                entry=r.entry,
                month=r.month,
                region=r.region,
                counterparty=r.counterparty,
            )
            for r in self.t.region_ledger
            if r.clearing_id is None
            and r.entry in MOVEMENTS
            and (r.month, *pair(r.region, r.counterparty)) in cleared
        ]

    def clearing_holdings(self) -> dict[tuple[int, str], int]:
        held = [
            r
            for r in self.t.region_ledger
            if r.side == "receivable" and r.entry in MOVEMENTS and r.clearing_id is not None
        ]
        return sums(held, lambda r: (r.clearing_id, r.region))

    def premiums_by_region(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for (pid, _), e in self.t.enrolments.items():
            if e.paid_on is not None:
                parts = (e.personal, e.subsidy, e.assistance)
                out[self.t.persons[pid].region] += sum(to_fen(p) for p in parts)
        return dict(out)

    def borne_by_region(self) -> dict[str, int]:
        return sums(self.t.fund_ledger, lambda e: e.region)

    def paid_by_region(self) -> dict[str, int]:
        moved = {r.settlement_id for r in self.t.region_ledger}
        out: dict[str, int] = defaultdict(int)
        for e in self.t.fund_ledger:
            s = self.t.settlements.get(e.settlement_id)
            payer = s.hospital_region if e.settlement_id in moved and s is not None else e.region
            if payer is not None:
                out[payer] += e.amount_fen
        return dict(out)

    def region_codes(self) -> list[str]:
        return sorted(self.t.regions)
