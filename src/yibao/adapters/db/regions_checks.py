"""What `verify` reads of the money between regions (service/verify_regions.py says what
each figure must equal): sums of both books, the movements of each settlement, the fund
ledger's parts owed for settlements elsewhere, clearings and premiums."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, select

from yibao.adapters.db import tables as t
from yibao.adapters.db.tables_clearing import clearings, region_ledger

RL = region_ledger.c
FL = t.fund_ledger.c
MOVEMENTS = ("settlement", "reversal", "adjustment")


class RegionChecks:
    conn: Connection

    def book_sums(self) -> dict[tuple[str, str, str], int]:
        """(region, counterparty, side): what the book holds, closing rows included."""
        return {
            (r[0], r[1], r[2]): int(r[3])
            for r in self.conn.execute(
                select(RL.region, RL.counterparty, RL.side, func.sum(RL.amount_fen)).group_by(
                    RL.region, RL.counterparty, RL.side
                )
            )
        }

    def movement_imbalances(self) -> list[tuple[int, str, int]]:
        """(settlement, entry, receivable - payable) where they differ."""
        signed = func.sum(case((RL.side == "receivable", RL.amount_fen), else_=-RL.amount_fen))
        return [
            (int(r[0]), r[1], int(r[2]))
            for r in self.conn.execute(
                select(RL.settlement_id, RL.entry, signed)
                .where(RL.settlement_id.is_not(None))
                .group_by(RL.settlement_id, RL.entry)
                .having(signed != 0)
            )
        ]

    def moved_by_settlement(self) -> dict[int, int]:
        """Per settlement: what its movements add up to (the receivables)."""
        return {
            int(r[0]): int(r[1])
            for r in self.conn.execute(
                select(RL.settlement_id, func.sum(RL.amount_fen))
                .where(RL.side == "receivable", RL.entry.in_(MOVEMENTS))
                .group_by(RL.settlement_id)
            )
        }

    def owed_elsewhere(self) -> dict[int, int]:
        """Per card settlement at an institution of another registered region: what the
        fund ledger says its institution is owed now (basic and assistance)."""
        s = t.settlements.c
        query = (
            select(s.id, func.coalesce(func.sum(FL.amount_fen), 0))
            .select_from(
                t.settlements.join(
                    t.fund_ledger,
                    and_(FL.settlement_id == s.id, FL.layer.in_(("basic", "assistance"))),
                    isouter=True,
                )
            )
            .where(
                s.channel == "card",
                s.hospital_region != s.region,
                exists().where(t.regions.c.code == s.hospital_region),
            )
            .group_by(s.id)
        )
        return {int(r[0]): int(r[1]) for r in self.conn.execute(query)}

    def uncleared_in_cleared_months(self) -> list[Any]:
        """Movements left out of the clearing of their month and pair."""
        c = clearings.c
        same_pair = ((c.region_a == RL.region) & (c.region_b == RL.counterparty)) | (
            (c.region_b == RL.region) & (c.region_a == RL.counterparty)
        )
        return list(
            self.conn.execute(
                select(RL.settlement_id, RL.entry, RL.month, RL.region, RL.counterparty).where(
                    RL.clearing_id.is_(None),
                    RL.entry.in_(MOVEMENTS),
                    exists().where(and_(c.month == RL.month, same_pair)),
                )
            )
        )

    def clearing_holdings(self) -> dict[tuple[int, str], int]:
        """(clearing, region): what the region advanced on the clearing's movements."""
        return {
            (int(r[0]), r[1]): int(r[2])
            for r in self.conn.execute(
                select(RL.clearing_id, RL.region, func.sum(RL.amount_fen))
                .where(
                    RL.side == "receivable", RL.entry.in_(MOVEMENTS), RL.clearing_id.is_not(None)
                )
                .group_by(RL.clearing_id, RL.region)
            )
        }

    def premiums_by_region(self) -> dict[str, int]:
        e = t.enrolments.c
        return _by_region(
            self.conn,
            select(t.persons.c.region, func.sum(e.personal_fen + e.subsidy_fen + e.assistance_fen))
            .join(t.persons, t.persons.c.id == e.person_id)
            .where(e.paid_on.is_not(None))
            .group_by(t.persons.c.region),
        )

    def borne_by_region(self) -> dict[str, int]:
        """What each fund's insured cost, wherever treated (the fund ledger's region)."""
        return _by_region(self.conn, select(FL.region, func.sum(FL.amount_fen)).group_by(FL.region))

    def paid_by_region(self) -> dict[str, int]:
        """What each fund paid out: the place of treatment for a settlement that moved
        between regions (it advanced it), else the fund of the insured."""
        moved = exists().where(RL.settlement_id == FL.settlement_id)
        payer = case((moved, t.settlements.c.hospital_region), else_=FL.region)
        return _by_region(
            self.conn,
            select(payer, func.sum(FL.amount_fen))
            .select_from(
                t.fund_ledger.join(
                    t.settlements, t.settlements.c.id == FL.settlement_id, isouter=True
                )
            )
            .group_by(payer),
        )

    def region_codes(self) -> list[str]:
        return [
            r[0] for r in self.conn.execute(select(t.regions.c.code).order_by(t.regions.c.code))
        ]


def _by_region(conn: Connection, query: Any) -> dict[str, int]:
    return {r[0]: int(r[1] or 0) for r in conn.execute(query) if r[0] is not None}
