"""Benchmark: encounters settled per second by the scalar engine over a generated year.

    .venv/bin/python bench/engine.py [--persons 100000] [--seed 7]

Prints a table and appends a row to bench/results.csv. Not a test: speed targets live here.
"""

from __future__ import annotations

import argparse
import csv
import platform
import random
import resource
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table

from yibao.adapters.parameter_files import load_region
from yibao.domain.engine import settle_year
from yibao.domain.model import Approval, Encounter, Hospital, Kind, Line, LineClass, Person, Scheme

YEAR = 2026
PILOT = ("C91.0", "C92.4", "Q21.1", "Q21.0", "Q25.0", "Q22.1")


def generate(n: int, seed: int) -> list[tuple[str, Person, list[Encounter]]]:
    """A region-year: residents, students and employees with skewed bill counts and costs."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        region = "sample-city" if rng.random() < 0.8 else "hill-county"
        scheme = rng.choices(list(Scheme), weights=(3, 4, 3))[0]
        if region == "hill-county" and scheme is Scheme.EMPLOYEE:
            scheme = Scheme.RESIDENT
        child = scheme is Scheme.STUDENT
        birth = date(
            rng.randint(2009, 2024) if child else rng.randint(1940, 2005),
            rng.randint(1, 12),
            rng.randint(1, 28),
        )
        approvals = (Approval("dialysis", "H2"),) if rng.random() < 0.02 else ()
        person = Person(
            f"P{i}",
            birth,
            scheme,
            region,
            retired=scheme is Scheme.EMPLOYEE and rng.random() < 0.3,
            contribution_years=rng.randint(5, 40) if scheme is Scheme.EMPLOYEE else None,
            assistance=rng.random() < 0.05,
            approvals=approvals,
        )
        bills = []
        for j in range(min(int(rng.expovariate(1 / 3)), 40)):
            kind = rng.choices(list(Kind), weights=(60, 8, 12, 3 if approvals else 0, 17))[0]
            inpatient = kind is Kind.INPATIENT
            cost = rng.lognormvariate(9.3 if inpatient else 5.5, 1.0)
            amount = Decimal(min(int(cost * 100), 80_000_000)) / 100
            b_share = Decimal(rng.randint(0, 40)) / 100
            b = (amount * b_share).quantize(Decimal("0.01"))
            lines: tuple[Line, ...] = (Line(LineClass.A, amount - b), Line(LineClass.B, b))
            if rng.random() < 0.3:
                lines += (Line(LineClass.SELF_PAY, Decimal(rng.randint(100, 50_000)) / 100),)
            elsewhere = rng.random() < 0.05
            bills.append(
                Encounter(
                    f"E{j}",
                    date(YEAR, 1, 1) + timedelta(days=rng.randint(0, 364)),
                    kind,
                    Hospital(
                        "H2" if approvals else f"H{rng.randint(0, 3)}",
                        rng.randint(0, 3),
                        designated=rng.random() < 0.97,
                        region="other-city" if elsewhere else region,
                        pilot=rng.random() < 0.1,
                    ),
                    lines,
                    diagnosis=rng.choice(PILOT)
                    if child and inpatient and rng.random() < 0.1
                    else "K35.8",
                    disease="dialysis" if kind is Kind.SPECIAL_OUTPATIENT else None,
                    referral=elsewhere and rng.random() < 0.5,
                )
            )
        bills.sort(key=lambda e: e.date)
        out.append((region, person, bills))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    policies = {name: load_region(name) for name in ("sample-city", "hill-county")}
    population = generate(args.persons, args.seed)
    encounters = sum(len(b) for _, _, b in population)

    started = time.perf_counter()
    paid = Decimal(0)
    for region, person, bills in track(population, description="settling", transient=True):
        result, _ = settle_year(policies[region], person, YEAR, bills)
        paid += (
            sum((r.basic for r in result.encounters), Decimal(0)) + result.serious_illness.payment
        )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    table = Table(title="scalar engine: one generated region-year")
    for col in (
        "persons",
        "encounters",
        "seconds",
        "encounters/s",
        "persons/s",
        "peak RSS MiB",
        "fund paid",
    ):
        table.add_column(col, justify="right")
    rate = encounters / seconds
    table.add_row(
        f"{args.persons:,}",
        f"{encounters:,}",
        f"{seconds:.1f}",
        f"{rate:,.0f}",
        f"{args.persons / seconds:,.0f}",
        f"{peak:.1f}",
        f"{paid:,.2f}",
    )
    Console(width=140).print(table)
    results = Path(__file__).with_name("results.csv")
    new = not results.exists()
    with results.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(
                ["when", "bench", "machine", "persons", "encounters", "seconds", "encounters_per_s"]
            )
        writer.writerow(
            [
                datetime.now(UTC).isoformat(timespec="seconds"),
                "engine-scalar",
                platform.node(),
                args.persons,
                encounters,
                f"{seconds:.2f}",
                f"{rate:.0f}",
            ]
        )


if __name__ == "__main__":
    main()
