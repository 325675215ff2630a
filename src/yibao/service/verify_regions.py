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

from yibao.domain.money import fmt, from_fen
from yibao.service.ports import stores


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
        return (
            f"fund {self.region}: premiums {money(self.premiums_fen)}, paid out "
            f"{money(self.paid_out_fen)}, clearing in {money(self.clearing_in_fen)} and out "
            f"{money(self.clearing_out_fen)}: balance {money(self.cash_fen)} (its insured's cost "
            f"{money(self.borne_fen)}, owed to it {money(self.receivable_fen)}, owed by it "
            f"{money(self.payable_fen)})"
        )


def money(fen: int) -> str:
    return fmt(from_fen(fen))


def check_regions(books: stores.Regions) -> tuple[list[str], list[FundBalance]]:
    problems = _receivables_and_payables(books)
    problems += _settlements_moved(books)
    problems += _cleared_once(books)
    problems += _clearings_hold(books)
    funds = fund_balances(books)
    problems += [
        f"{f.describe()}: the cash and the books differ by {money(f.cash_fen - f.booked_fen)}"
        for f in funds
        if f.cash_fen != f.booked_fen
    ]
    return problems, funds


def _receivables_and_payables(books: stores.Regions) -> list[str]:
    """Per pair of books, and per movement: the receivable equals the payable."""
    sums = books.book_sums()
    out = []
    for (region, other, side), fen in sorted(sums.items()):
        if side == "receivable" and fen != sums.get((other, region, "payable"), 0):
            out.append(
                f"{region}'s receivable from {other} is {money(fen)}, but {other}'s payable "
                f"to {region} is {money(sums.get((other, region, 'payable'), 0))}"
            )
        if side == "payable" and fen and (other, region, "receivable") not in sums:
            out.append(f"{region}'s payable to {other} of {money(fen)} has no receivable")
    out += [
        f"settlement {sid} {entry}: its receivable and payable differ by {money(fen)}"
        for sid, entry, fen in books.movement_imbalances()
    ]
    return out


def _settlements_moved(books: stores.Regions) -> list[str]:
    """Each settlement elsewhere: its movements add up to the fund's part its institution
    is owed for it now (the fund ledger's)."""
    moved = books.moved_by_settlement()
    return [
        f"settlement {sid} elsewhere: the fund owes its institution {money(fen)}, but the "
        f"regions' books move {money(moved.get(sid, 0))}"
        for sid, fen in sorted(books.owed_elsewhere().items())
        if moved.get(sid, 0) != fen
    ]


def _cleared_once(books: stores.Regions) -> list[str]:
    """A movement of a month its pair has cleared is on that clearing (one: a row names
    one clearing)."""
    return [
        f"settlement {r.settlement_id} {r.entry} of {r.month} ({r.region}, {r.counterparty}) "
        "is in no clearing, though its month is cleared"
        for r in books.uncleared_in_cleared_months()
    ]


def _clearings_hold(books: stores.Regions) -> list[str]:
    """Each clearing's stated totals are the sums of its movements."""
    held = books.clearing_holdings()
    out = []
    for row in books.clearings():
        a = held.get((int(row.id), row.region_a), 0)
        b = held.get((int(row.id), row.region_b), 0)
        if (a, b) != (int(row.a_advanced_fen), int(row.b_advanced_fen)):
            out.append(
                f"clearing {row.id} ({row.month}) states {money(int(row.a_advanced_fen))} and "
                f"{money(int(row.b_advanced_fen))}, its movements add up to {money(a)} and "
                f"{money(b)}"
            )
    return out


def fund_balances(books: stores.Regions) -> list[FundBalance]:
    premiums, borne, paid = (
        books.premiums_by_region(),
        books.borne_by_region(),
        books.paid_by_region(),
    )
    flows = _clearing_flows(books)
    sums: dict[tuple[str, str], int] = {}
    for (region, _, side), fen in books.book_sums().items():
        sums[(region, side)] = sums.get((region, side), 0) + fen
    return [
        FundBalance(
            region,
            premiums.get(region, 0),
            paid.get(region, 0),
            borne.get(region, 0),
            flows.get((region, "in"), 0),
            flows.get((region, "out"), 0),
            sums.get((region, "receivable"), 0),
            sums.get((region, "payable"), 0),
        )
        for region in books.region_codes()
    ]


def _clearing_flows(books: stores.Regions) -> dict[tuple[str, str], int]:
    """What each region received and paid in paid clearings (the net, one way)."""
    flows: dict[tuple[str, str], int] = {}
    for row in books.clearings():
        if row.status != "paid":
            continue
        net = int(row.a_advanced_fen) - int(row.b_advanced_fen)  # > 0: b pays a
        payer, payee = (row.region_b, row.region_a) if net > 0 else (row.region_a, row.region_b)
        flows[(payee, "in")] = flows.get((payee, "in"), 0) + abs(net)
        flows[(payer, "out")] = flows.get((payer, "out"), 0) + abs(net)
    return flows
