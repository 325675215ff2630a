"""The pooling regions a deployment knows (code, names, admdvs), and the money between
them (tables_clearing.py): what one region's institutions advanced for another's
insured, in both regions' books, and its monthly clearing (reference §9)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from yibao.adapters.db import tables as t
from yibao.adapters.db.regions_checks import RegionChecks
from yibao.adapters.db.tables_clearing import clearings, region_ledger
from yibao.service.ports import now

RL = region_ledger.c
MOVEMENTS = ("settlement", "reversal", "adjustment")


def pair(one: str, other: str) -> tuple[str, str]:
    """A pair of regions in its stored order (by code)."""
    return (one, other) if one < other else (other, one)


class Regions(RegionChecks):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # Regions found registered in this transaction: a region is never removed, so a
        # yes stays true (a no is asked again: a region may be added meanwhile). The
        # counter's batch read tells which of its bills' regions it found (seen_known).
        self._known: set[str] = set()
        # A group commit's batch (counter_pg_batch.py) keeps its bills' movements for its
        # one write instead of an INSERT each: None when each is written as it is made.
        self.deferred: list[dict[str, Any]] | None = None
        # (month, region_a, region_b) found not cleared by a batch's read, which clears
        # nothing: clearing_of need not ask again in its transaction.
        self._uncleared: set[tuple[str, str, str]] = set()

    # --- the regions ----------------------------------------------------------------

    def known(self, code: str) -> bool:
        """Whether the region is registered here (its catalogue is the one to bill by)."""
        if code in self._known:
            return True
        row = self.conn.execute(select(t.regions.c.code).where(t.regions.c.code == code)).first()
        if row is not None:
            self._known.add(code)
        return row is not None

    def seen_known(self, code: str) -> None:
        """A read of this transaction found the region registered."""
        self._known.add(code)

    def all(self) -> list[Any]:
        return list(self.conn.execute(select(t.regions).order_by(t.regions.c.code)))

    # --- receivables and payables ---------------------------------------------------

    def book(
        self, settlement_id: int, insured: str, treated: str, entry: str, month: str, fen: int
    ) -> None:
        """One movement: a receivable from the insured place in the books of the place of
        treatment (which advanced it), and the payable in the insured place's."""
        at = now()
        common = {"settlement_id": settlement_id, "entry": entry, "month": month, "created_at": at}
        rows = [
            {
                **common,
                "region": treated,
                "counterparty": insured,
                "side": "receivable",
                "amount_fen": fen,
            },
            {
                **common,
                "region": insured,
                "counterparty": treated,
                "side": "payable",
                "amount_fen": fen,
            },
        ]
        if self.deferred is not None:
            self.deferred += rows
        else:
            self.conn.execute(insert(region_ledger), rows)

    def moved(self, settlement_id: int) -> bool:
        """Whether the settlement moved money between regions (was booked here)."""
        row = self.conn.execute(
            select(RL.id).where(RL.settlement_id == settlement_id).limit(1)
        ).first()
        return row is not None

    def balances(self) -> list[Any]:
        """What is open in every region's books: (region, counterparty, side, fen)."""
        return list(
            self.conn.execute(
                select(RL.region, RL.counterparty, RL.side, func.sum(RL.amount_fen).label("fen"))
                .group_by(RL.region, RL.counterparty, RL.side)
                .order_by(RL.region, RL.counterparty, RL.side)
            )
        )

    def movements_by_settlement(self) -> list[Any]:
        """Per settlement and side: how many clearings its movements are in (0 for an
        uncleared one), for verify."""
        return list(
            self.conn.execute(
                select(
                    RL.settlement_id,
                    RL.side,
                    func.count(func.distinct(RL.clearing_id)).label("clearings"),
                    func.count().label("rows"),
                    func.count(RL.clearing_id).label("cleared"),
                )
                .where(RL.entry.in_(MOVEMENTS))
                .group_by(RL.settlement_id, RL.side)
            )
        )

    # --- clearing -------------------------------------------------------------------

    def clearing(self, clearing_id: int) -> Any | None:
        return self.conn.execute(select(clearings).where(clearings.c.id == clearing_id)).first()

    def seen_uncleared(self, month: str, a: str, b: str) -> None:
        self._uncleared.add((month, a, b))

    def clearing_of(self, month: str, a: str, b: str) -> Any | None:
        if (month, a, b) in self._uncleared:
            return None
        c = clearings.c
        return self.conn.execute(
            select(clearings).where(c.month == month, c.region_a == a, c.region_b == b)
        ).first()

    def clearings(self, month: str | None = None, region: str | None = None) -> list[Any]:
        c = clearings.c
        query = select(clearings).order_by(c.month, c.region_a, c.region_b)
        if month is not None:
            query = query.where(c.month == month)
        if region is not None:
            query = query.where(or_(c.region_a == region, c.region_b == region))
        return list(self.conn.execute(query))

    def uncleared_pairs(self, month: str) -> list[tuple[str, str]]:
        rows = self.conn.execute(
            select(RL.region, RL.counterparty)
            .where(RL.month == month, RL.clearing_id.is_(None), RL.entry.in_(MOVEMENTS))
            .distinct()
        )
        return sorted({pair(r.region, r.counterparty) for r in rows})

    def _pair_rows(self, month: str, a: str, b: str) -> Any:
        return and_(
            RL.month == month,
            RL.clearing_id.is_(None),
            RL.entry.in_(MOVEMENTS),
            or_(
                and_(RL.region == a, RL.counterparty == b),
                and_(RL.region == b, RL.counterparty == a),
            ),
        )

    def add_clearing(self, month: str, a: str, b: str) -> int:
        """A clearing of the pair's uncleared movements of the month: each is assigned to
        it, and its two directions summed (receivables of a's books: a advanced)."""
        new_id = int(
            self.conn.execute(
                insert(clearings)
                .values(
                    month=month,
                    region_a=a,
                    region_b=b,
                    a_advanced_fen=0,
                    b_advanced_fen=0,
                    entries=0,
                    status="stated",
                    created_at=now(),
                )
                .returning(clearings.c.id)
            ).scalar_one()
        )
        self.conn.execute(
            update(region_ledger).where(self._pair_rows(month, a, b)).values(clearing_id=new_id)
        )
        sums = {
            r.region: (int(r.fen), int(r.n))
            for r in self.conn.execute(
                select(RL.region, func.sum(RL.amount_fen).label("fen"), func.count().label("n"))
                .where(RL.clearing_id == new_id, RL.side == "receivable")
                .group_by(RL.region)
            )
        }
        a_fen, a_n = sums.get(a, (0, 0))
        b_fen, b_n = sums.get(b, (0, 0))
        self.conn.execute(
            update(clearings)
            .where(clearings.c.id == new_id)
            .values(a_advanced_fen=a_fen, b_advanced_fen=b_fen, entries=a_n + b_n)
        )
        return new_id

    def move_late(self, month: str, a: str, b: str, to_month: str) -> int:
        """Movements of a month already cleared that committed after its clearing: they
        go into the month they are found in (as a reversal after clearing does)."""
        result = self.conn.execute(
            update(region_ledger).where(self._pair_rows(month, a, b)).values(month=to_month)
        )
        return int(result.rowcount or 0)

    def set_clearing(self, clearing_id: int, **values: Any) -> None:
        self.conn.execute(update(clearings).where(clearings.c.id == clearing_id).values(**values))

    def lock_clearing(self, clearing_id: int) -> Any | None:
        query = select(clearings).where(clearings.c.id == clearing_id)
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return self.conn.execute(query).first()

    def close(self, clearing_id: int, month: str) -> None:
        """Payment closes the clearing's receivables and payables: per book, a closing row
        of the opposite of what the clearing holds."""
        rows = self.conn.execute(
            select(RL.region, RL.counterparty, RL.side, func.sum(RL.amount_fen).label("fen"))
            .where(RL.clearing_id == clearing_id)
            .group_by(RL.region, RL.counterparty, RL.side)
        ).all()
        at = now()
        closing = [
            {
                "region": r.region,
                "counterparty": r.counterparty,
                "side": r.side,
                "settlement_id": None,
                "entry": "closing",
                "month": month,
                "amount_fen": -int(r.fen),
                "clearing_id": clearing_id,
                "created_at": at,
            }
            for r in rows
            if int(r.fen) != 0
        ]
        if closing:
            self.conn.execute(insert(region_ledger), closing)

    def statement_lines(self, clearing_ids: Sequence[int]) -> list[Any]:
        """The movements on clearing statements (each once: the receivable's row), with
        the settlement they moved."""
        s = t.settlements.c
        return list(
            self.conn.execute(
                select(
                    RL.clearing_id,
                    RL.region.label("treated"),
                    RL.counterparty.label("insured"),
                    RL.settlement_id,
                    RL.entry,
                    RL.month,
                    RL.amount_fen,
                    RL.created_at,
                    s.person_id,
                    s.institution_id,
                    s.encounter_date,
                    s.kind,
                    s.total_fen,
                    t.institutions.c.name.label("institution_name"),
                )
                .join(t.settlements, t.settlements.c.id == RL.settlement_id)
                .join(t.institutions, t.institutions.c.id == s.institution_id, isouter=True)
                .where(RL.clearing_id.in_(list(clearing_ids)), RL.side == "receivable")
                .where(RL.entry.in_(MOVEMENTS))
                .order_by(RL.clearing_id, RL.region, RL.id)
            )
        )
