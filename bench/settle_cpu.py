"""Benchmark: the settlement's own Python CPU per bill, without a database.

    .venv/bin/python bench/settle_cpu.py [--persons 1000] [--bills 5000] [--mix] [--profile]

Loads the demo region into the in-memory stores of the fast tier (tests/fakes), then
settles bench-like bills through `SettlementService.settle` with an idempotency key, as
bench/settle_http.py's wrk clients send them (one outpatient line; --mix: httpx's 1–4
lines, a tenth of them stays). Prints a table of CPU µs per bill (process time, so
other work on the shared machine does not count), split by the parts of the use case:

    prepare      facts → Prepared (_prepare: the holder, the catalogue, the person)
    engine       run_engine: the encounter settled against the year
    record       the stored explanation's steps and the settlement record
    view         the answer view (with its explanation in both languages)
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
    "record": ("", "stored_steps", "settlement_record"),
    "view": ("", "settlement_view"),
}


class Clock:
    """Process CPU time spent in each part, as the wrapped functions are called."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = dict.fromkeys(PARTS, 0.0)

    def wrap(self, part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        spent, tick = self.spent, time.process_time

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = tick()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[part] += tick() - started

        return timed

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
    todo = bills(db, args.bills, args.mix, args.seed)
    service = SettlementService(db.unit_of_work, policies)
    warm = args.bills // 10  # the first bills fill the caches: not counted
    for n, one in enumerate(todo[:warm]):
        service.settle(one, f"warm-{n}")
    clock = Clock()
    clock.install()
    profile = cProfile.Profile() if args.profile else None
    statuses: dict[str, int] = {}
    started = time.process_time()
    if profile:
        profile.enable()
    for n, one in enumerate(todo[warm:]):
        try:
            status, _ = service.settle(one, f"bench-{n}")
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        except ServiceError as exc:  # a refused bill is counted, as the server answers it
            code = exc.code
            statuses[code] = statuses.get(code, 0) + 1
    if profile:
        profile.disable()
    total = time.process_time() - started
    counted = len(todo) - warm
    report(clock.spent, total, counted, statuses, args)
    if profile:
        # the use case's own code, not the in-memory stores'
        pstats.Stats(profile).sort_stats("tottime").print_stats("yibao|decimal|json", args.profile)


def report(
    spent: dict[str, float], total: float, n: int, statuses: dict[str, int], args: Any
) -> None:
    us = 1e6 / n
    table = Table(title=f"Settlement CPU per bill, in-memory stores ({n:,} bills, {statuses})")
    for col in ("bills", *PARTS, "these four", "rest", "total µs"):
        table.add_column(col, justify="right")
    rest = total - sum(spent.values())
    table.add_row(
        "mix" if args.mix else "wrk-like",
        *(f"{spent[p] * us:.1f}" for p in PARTS),
        f"{sum(spent.values()) * us:.1f}",
        f"{rest * us:.1f}",
        f"{total * us:.1f}",
    )
    Console(width=160).print(table)
    print("code:", use_case.__file__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1000)
    parser.add_argument("--bills", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mix", action="store_true", help="httpx's bills: 1–4 lines, stays")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="cProfile: print the N hottest"
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
