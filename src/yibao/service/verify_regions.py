"""`yibao verify`, between regions (reference §9): every receivable has its payable, every
settlement elsewhere has its movements and each movement is in one clearing once its month
is cleared, every clearing holds what it says, and each fund's balance adds up.

A fund's balance two ways, which must agree:
- its cash: premiums in, what it paid out (to its own institutions, for its insured and
  others' alike, and to persons), clearing received and paid;
- what it bears: premiums in, less the cost of its own insured wherever treated, less
  what it advanced for the others and they still owe it, plus what it still owes them
  (the others advanced it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, select

from yibao.adapters.db import tables as t
from yibao.adapters.db.tables_clearing import clearings, region_ledger
from yibao.domain.money import fmt, from_fen

RL = region_ledger.c
FL = t.fund_ledger.c
MOVEMENTS = ("settlement", "reversal", "adjustment")


@dataclass(frozen=True)
class FundBalance:
    region: str
    premiums_fen: int
    paid_out_fen: int
    borne_fen: int
    clearing_in_fen: int
    clearing_out_fen: int
    receivable_fen: int
    payable_fen: int

    @property
    def cash_fen(self) -> int:
        return self.premiums_fen - self.paid_out_fen + self.clearing_in_fen - self.clearing_out_fen

    @property
    def booked_fen(self) -> int:
        return self.premiums_fen - self.borne_fen - self.receivable_fen + self.payable_fen

    def describe(self) -> str:
        def money(fen: int) -> str:
            return fmt(from_fen(fen))

        return (
            f"fund {self.region}: premiums {money(self.premiums_fen)}, paid out "
            f"{money(self.paid_out_fen)}, clearing in {money(self.clearing_in_fen)} and out "
            f"{money(self.clearing_out_fen)}: balance {money(self.cash_fen)} (its insured's cost "
            f"{money(self.borne_fen)}, owed to it {money(self.receivable_fen)}, owed by it "
            f"{money(self.payable_fen)})"
        )


def check_regions(conn: Connection) -> tuple[list[str], list[FundBalance]]:
    problems = _receivables_and_payables(conn)
    problems += _settlements_moved(conn)
    problems += _cleared_once(conn)
    problems += _clearings_hold(conn)
    funds = fund_balances(conn)
    problems += [
        f"{f.describe()}: the cash and the books differ by {fmt(from_fen(f.cash_fen - f.booked_fen))}"
        for f in funds
        if f.cash_fen != f.booked_fen
    ]
    return problems, funds


def _receivables_and_payables(conn: Connection) -> list[str]:
    """Per pair of books, and per movement: the receivable equals the payable."""
    sums: dict[tuple[str, str, str], int] = {}
    for r in conn.execute(
        select(RL.region, RL.counterparty, RL.side, func.sum(RL.amount_fen)).group_by(
            RL.region, RL.counterparty, RL.side
        )
    ):
        sums[(r[0], r[1], r[2])] = int(r[3])
    out = []
    for (region, other, side), fen in sorted(sums.items()):
        if side != "receivable":
            continue
        payable = sums.get((other, region, "payable"), 0)
        if fen != payable:
            out.append(
                f"{region}'s receivable from {other} is {fmt(from_fen(fen))}, but {other}'s "
                f"payable to {region} is {fmt(from_fen(payable))}"
            )
    for (region, other, side), fen in sorted(sums.items()):
        if side == "payable" and (other, region, "receivable") not in sums and fen:
            out.append(f"{region}'s payable to {other} of {fmt(from_fen(fen))} has no receivable")
    signed = func.sum(case((RL.side == "receivable", RL.amount_fen), else_=-RL.amount_fen))
    for row in conn.execute(
        select(RL.settlement_id, RL.entry, signed)
        .where(RL.settlement_id.is_not(None))
        .group_by(RL.settlement_id, RL.entry)
        .having(signed != 0)
    ):
        out.append(
            f"settlement {row[0]} {row[1]}: its receivable and payable differ by "
            f"{fmt(from_fen(int(row[2])))}"
        )
    return out


def _settlements_moved(conn: Connection) -> list[str]:
    """Each settlement that moved money between regions: its movements add up to the fund's
    part the institution is owed for it now (the fund ledger's)."""
    moved = {
        int(r[0]): int(r[1])
        for r in conn.execute(
            select(RL.settlement_id, func.sum(RL.amount_fen))
            .where(RL.side == "receivable", RL.entry.in_(MOVEMENTS))
            .group_by(RL.settlement_id)
        )
    }
    s = t.settlements.c
    elsewhere = (
        select(s.id, func.coalesce(func.sum(FL.amount_fen), 0))
        .select_from(t.settlements.join(t.fund_ledger, FL.settlement_id == s.id, isouter=True))
        .where(
            s.channel == "card",
            s.hospital_region != s.region,
            exists().where(t.regions.c.code == s.hospital_region),
            FL.layer.in_(("basic", "assistance")) | FL.layer.is_(None),
        )
        .group_by(s.id)
    )
    out = []
    for sid, fen in conn.execute(elsewhere):
        if moved.get(int(sid), 0) != int(fen):
            out.append(
                f"settlement {sid} elsewhere: the fund owes its institution {fmt(from_fen(int(fen)))}, "
                f"but the regions' books move {fmt(from_fen(moved.get(int(sid), 0)))}"
            )
    return out


def _cleared_once(conn: Connection) -> list[str]:
    """A movement of a month its pair has cleared is on that clearing (one: a row names one)."""
    c = clearings.c
    left = conn.execute(
        select(RL.settlement_id, RL.entry, RL.month, RL.region, RL.counterparty).where(
            RL.clearing_id.is_(None),
            RL.entry.in_(MOVEMENTS),
            exists().where(
                and_(
                    c.month == RL.month,
                    ((c.region_a == RL.region) & (c.region_b == RL.counterparty))
                    | ((c.region_b == RL.region) & (c.region_a == RL.counterparty)),
                )
            ),
        )
    ).all()
    return [
        f"settlement {r.settlement_id} {r.entry} of {r.month} ({r.region}, {r.counterparty}) "
        "is in no clearing, though its month is cleared"
        for r in left
    ]


def _clearings_hold(conn: Connection) -> list[str]:
    """Each clearing's stated totals are the sums of its movements."""
    held: dict[tuple[int, str], int] = {
        (int(r[0]), r[1]): int(r[2])
        for r in conn.execute(
            select(RL.clearing_id, RL.region, func.sum(RL.amount_fen))
            .where(RL.side == "receivable", RL.entry.in_(MOVEMENTS), RL.clearing_id.is_not(None))
            .group_by(RL.clearing_id, RL.region)
        )
    }
    out = []
    for row in conn.execute(select(clearings)):
        a = held.get((int(row.id), row.region_a), 0)
        b = held.get((int(row.id), row.region_b), 0)
        if (a, b) != (int(row.a_advanced_fen), int(row.b_advanced_fen)):
            out.append(
                f"clearing {row.id} ({row.month}) states {fmt(from_fen(int(row.a_advanced_fen)))} and "
                f"{fmt(from_fen(int(row.b_advanced_fen)))}, its movements add up to "
                f"{fmt(from_fen(a))} and {fmt(from_fen(b))}"
            )
    return out


def fund_balances(conn: Connection) -> list[FundBalance]:
    regions = [r[0] for r in conn.execute(select(t.regions.c.code).order_by(t.regions.c.code))]
    premiums = _by_region(
        conn,
        select(
            t.persons.c.region,
            func.sum(
                t.enrolments.c.personal_fen
                + t.enrolments.c.subsidy_fen
                + t.enrolments.c.assistance_fen
            ),
        )
        .join(t.persons, t.persons.c.id == t.enrolments.c.person_id)
        .where(t.enrolments.c.paid_on.is_not(None))
        .group_by(t.persons.c.region),
    )
    borne = _by_region(conn, select(FL.region, func.sum(FL.amount_fen)).group_by(FL.region))
    # Who paid: the place of treatment for a settlement that moved between regions (it
    # advanced it), else the fund of the insured.
    moved = exists().where(RL.settlement_id == FL.settlement_id)
    payer = case((moved, t.settlements.c.hospital_region), else_=FL.region)
    paid = _by_region(
        conn,
        select(payer, func.sum(FL.amount_fen))
        .select_from(
            t.fund_ledger.join(t.settlements, t.settlements.c.id == FL.settlement_id, isouter=True)
        )
        .group_by(payer),
    )
    flows = _clearing_flows(conn)
    books = {
        (r[0], r[1]): int(r[2])
        for r in conn.execute(
            select(RL.region, RL.side, func.sum(RL.amount_fen)).group_by(RL.region, RL.side)
        )
    }
    return [
        FundBalance(
            region,
            premiums.get(region, 0),
            paid.get(region, 0),
            borne.get(region, 0),
            flows.get((region, "in"), 0),
            flows.get((region, "out"), 0),
            books.get((region, "receivable"), 0),
            books.get((region, "payable"), 0),
        )
        for region in regions
    ]


def _by_region(conn: Connection, query: Any) -> dict[str, int]:
    return {r[0]: int(r[1] or 0) for r in conn.execute(query) if r[0] is not None}


def _clearing_flows(conn: Connection) -> dict[tuple[str, str], int]:
    """What each region received and paid in paid clearings (the net, one way)."""
    flows: dict[tuple[str, str], int] = {}
    for row in conn.execute(select(clearings).where(clearings.c.status == "paid")):
        net = int(row.a_advanced_fen) - int(row.b_advanced_fen)  # > 0: b pays a
        payer, payee = (row.region_b, row.region_a) if net > 0 else (row.region_a, row.region_b)
        flows[(payee, "in")] = flows.get((payee, "in"), 0) + abs(net)
        flows[(payer, "out")] = flows.get((payer, "out"), 0) + abs(net)
    return flows
