"""Benchmark: the settlement's own Python CPU per bill, without a database.

    .venv/bin/python bench/settle_cpu.py [--persons 1000] [--bills 1000] [--rounds 5] [--mix]
                                         [--profile N]

Loads the demo region into the in-memory stores of the fast tier (tests/fakes), then
settles bench-like bills through `SettlementService.settle_in` with an idempotency key, as
bench/settle_http.py's wrk clients send them (one outpatient line; --mix: httpx's 1–4
lines, a tenth of them stays). Prints a table of CPU µs per bill (process time, so
other work on the shared machine does not count; the best of some rounds), split by
the parts of the use case:

    prepare      facts → Prepared (_prepare: the holder, the catalogue, the person)
    engine       run_engine: the encounter settled against the year
    explanation  the steps as stored and as shown, in one pass (stored_and_shown; 0 for
                 code before it, whose record and view parts made them)
    record       the settlement record (and, before stored_and_shown, the stored steps)
    view         the answer view (before stored_and_shown, with its explanation's words)
    rest         everything else: the in-memory stores, the fingerprint, the kept answer

Run it for the start commit's code beside this one's (same machine, same minute):

    PYTHONPATH=/work/before/src .venv/bin/python bench/settle_cpu.py
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the fast tier's in-memory stores

from common import cpu_timed  # noqa: E402
from fakes import FakeDatabase  # noqa: E402
from yibao.bootstrap import policy_source  # noqa: E402
from yibao.domain.model import Kind  # noqa: E402
from yibao.service import settlement as use_case  # noqa: E402
from yibao.service.demo import load_demo  # noqa: E402
from yibao.service.errors import ServiceError  # noqa: E402
from yibao.service.settlement import Bill, BillLine, SettlementService  # noqa: E402

# The use case's parts, by the names it calls them in service/settlement.py.
PARTS = {
    "prepare": ("SettlementService", "_prepare"),
    "engine": ("", "run_engine"),
    "explanation": ("", "stored_and_shown"),
    "record": ("", "stored_steps", "settlement_record"),
    "view": ("", "settlement_view"),
}


class Clock:
    """Process CPU time spent in each part, as the wrapped functions are called."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = dict.fromkeys(PARTS, 0.0)

    def wrap(self, part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        return cpu_timed(self.spent, part, fn)

    def install(self) -> None:
        for part, (owner, *names) in PARTS.items():
            home: Any = getattr(use_case, owner) if owner else use_case
            for name in names:
                if hasattr(home, name):
                    setattr(home, name, self.wrap(part, getattr(home, name)))


def bills(db: FakeDatabase, n: int, mix: bool, seed: int) -> list[Bill]:
    """Bills as bench/settle_http.py sends them: its wrk script's by default (one
    outpatient line, January to October), its httpx clients' with `mix`."""
    t = db.tables
    cards = sorted(c.number for c in t.cards.values() if c.status.value == "active")
    places = sorted(
        i.id
        for i in t.institutions.values()
        if i.designated and i.region == "sample-city" and i.kind != "pharmacy"
    )
    items = sorted(
        (i.code, i.unit_price)
        for (region, _), i in t.catalogue_items.items()
        if region == "sample-city" and i.cls.value != "self_pay"
    )
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        picked = rng.sample(items, rng.randint(1, 4) if mix else 1)
        lines = tuple(
            BillLine(code, Decimal(rng.randint(1, 3)), price or Decimal("12.50"))
            for code, price in picked
        )
        kind = Kind.OUTPATIENT
        day = date(2026, rng.randint(1, 10), rng.randint(1, 28))
        if mix:
            kind = rng.choices([Kind.OUTPATIENT, Kind.INPATIENT, Kind.EMERGENCY], (85, 10, 5))[0]
            day = date(2026, 1, 1) + timedelta(days=rng.randint(0, 320))
        out.append(Bill(rng.choice(places), rng.choice(cards), kind, day, lines, "J06.9"))
    return out


def run(args: argparse.Namespace) -> None:
    policies = policy_source()
    db = FakeDatabase()
    load_demo(db.unit_of_work, policies, persons=args.persons)
    todo = bills(db, args.bills * (args.rounds + 1), args.mix, args.seed)
    service = SettlementService(db.unit_of_work, policies)
    settle_all(service, db, todo[: args.bills], "warm")  # fills the caches: not counted
    clock = Clock()
    clock.install()
    profile = cProfile.Profile() if args.profile else None
    rounds = []
    for r in range(1, args.rounds + 1):
        clock.spent.update(dict.fromkeys(PARTS, 0.0))
        if profile:
            profile.enable()
        total, statuses = settle_all(service, db, todo[r * args.bills : (r + 1) * args.bills], r)
        if profile:
            profile.disable()
        rounds.append((sum(clock.spent.values()), dict(clock.spent), total, statuses))
    report(rounds, args)
    if profile:
        # the use case's own code, not the in-memory stores'
        pstats.Stats(profile).sort_stats("tottime").print_stats("yibao|decimal|json", args.profile)


def settle_all(
    service: SettlementService, db: FakeDatabase, todo: list[Bill], name: object
) -> tuple[float, dict[str, int]]:
    """Settle `todo` with idempotency keys, a hundred bills to a unit of work (as a group
    commit does: the in-memory stores copy their tables for each unit of work, which
    would cost more than the settlements and crowd them out of the caches); CPU seconds."""
    statuses: dict[str, int] = {}
    started = time.process_time()
    for first in range(0, len(todo), 100):
        with db.unit_of_work() as uow:
            for n, one in enumerate(todo[first : first + 100], start=first):
                try:
                    status, _ = service.settle_in(uow, one, f"{name}-{n}")
                    statuses[str(status)] = statuses.get(str(status), 0) + 1
                except ServiceError as exc:  # a refused bill is counted, as the server answers it
                    statuses[exc.code] = statuses.get(exc.code, 0) + 1
            uow.commit()
    return time.process_time() - started, statuses


def report(rounds: list[tuple[float, dict[str, float], float, dict[str, int]]], args: Any) -> None:
    """The round whose parts cost least: CPU time is what this process used, but
    the other work on a shared machine still slows it (caches, memory): the least is the
    code's own cost."""
    _, spent, total, statuses = min(rounds, key=lambda r: r[0])
    us = 1e6 / args.bills
    table = Table(
        title=f"Settlement CPU µs per bill, in-memory stores: the best of {args.rounds} rounds "
        f"of {args.bills:,} bills ({statuses})"
    )
    for col in ("bills", *PARTS, "these parts", "rest", "total"):
        table.add_column(col, justify="right")
    table.add_row(
        "mix" if args.mix else "wrk-like",
        *(f"{spent[p] * us:.1f}" for p in PARTS),
        f"{sum(spent.values()) * us:.1f}",
        f"{(total - sum(spent.values())) * us:.1f}",
        f"{total * us:.1f}",
    )
    Console(width=160).print(table)
    print("code:", use_case.__file__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1000)
    parser.add_argument("--bills", type=int, default=1000, help="bills a round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mix", action="store_true", help="httpx's bills: 1–4 lines, stays")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="cProfile: print the N hottest"
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
