"""A hospital simulator: plays institutions' days through the national interface.

    yibao his-sim --url http://127.0.0.1:8000 --patients 200 --days 5

`--hospitals N` hospitals play at once, each in its own thread with its own price list
(prices a factor of the catalogue's caps, every third hospital above them: the excess is
over-limit self-pay). Each signs in (9001) and downloads what changed in the catalogue
(1312); each patient visit reads the person (1101), registers (2201), uploads the visit
and fee lines (2203, 2204), pre-settles (2206) and settles (2207); now and then the
settlement is cancelled (2208), or its answer is "lost" and the hospital recovers with
2601 by the msgid and settles again. Inpatient stays admit
(2401), upload lines with a refund (2301), pre-settle and settle (2303, 2304) and
discharge (2402). Every settlement is queried back (5203). Each hospital's day ends with
3201 and 3202 (its detail file uploaded by 9101) against its own book, which must both
balance, and 9002. It reports throughput, latency percentiles, and any answer that
failed, whose arithmetic does not hold, or any day that did not reconcile. Play on a
fresh database (or another --year): yibao reconciles every settlement of a hospital's
day, and a hospital's book here knows only this run's.

Each institution signs its messages with the x-tif-* headers of a credential issued for
an account `his-sim-<code>` (made if missing), with the server's secret key (the same
var/secret.key or YIBAO_SECRET_KEY the server uses).

Patients and institutions come from the server's database (`--database-url`, the same
YIBAO_DATABASE_URL the server uses): active cards of persons enrolled in the year, and
designated hospitals and clinics. Catalogue codes are those of the person's region. The
entry point (yibao.entrypoints.his_sim) gives `main` the readers of both.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from yibao.domain.model import Scheme
from yibao.fsi.auth import Credential
from yibao.fsi.codes import INSUTYPE
from yibao.fsi.his_client import Client, Item, Patient, Stats, pct, today
from yibao.fsi.his_day import reconcile
from yibao.fsi.his_visits import inpatient, outpatient

# (person_id, card number, scheme, region) of enrolled persons with an active card
PatientRow = tuple[str, str, str, str]
# database url, year, how many rows at most → institutions, patients, catalogue by region
WorldReader = Callable[
    [str | None, int, int], tuple[list[str], list[PatientRow], dict[str, list[Item]]]
]
# database url, institutions → each one's credential
Credentials = Callable[[str | None, list[str]], dict[str, Credential]]


@dataclass(frozen=True)
class World:
    people: list[Patient]
    catalogue: dict[str, list[Item]]
    share: int  # patients a hospital sees a day
    inpatient_share: float


def _day(c: Client, day: date, rng: random.Random, w: World) -> None:
    """One hospital's day: sign in, its patients, reconcile, sign out."""
    c.day = day
    signed = c.call("9001", {"signIn": {"opter_no": "sim", "mac": "00", "ip": "127.0.0.1"}})
    c.sign_no = "" if signed is None else str(signed["signinoutb"]["sign_no"])
    # The morning's catalogue download: what changed since yesterday (1312, first page).
    since = (day - timedelta(days=1)).isoformat()
    c.call("1312", {"data": {"updt_time": since, "page_num": 1, "page_size": 100}})
    for _ in range(w.share):
        p = rng.choice(w.people)
        if rng.random() < w.inpatient_share:
            inpatient(c, rng, p, w.catalogue[p.region])
        else:
            outpatient(c, rng, p, w.catalogue[p.region])
    problems = reconcile(c.call, c.book, day, c.institution)
    c.call("9002", {"signOut": {"sign_no": c.sign_no, "opter_no": "sim"}})
    with c.stats.lock:
        c.stats.unreconciled.extend(problems)
        c.stats.days_unreconciled += 1 if problems else 0


def _play(args: argparse.Namespace, clients: list[Client], w: World, console: Console) -> None:
    with Progress(console=console) as progress:
        task = progress.add_task("days", total=args.days)
        for d in range(args.days):
            day = date(args.year, 1, 2) + timedelta(days=d * max(1, 360 // max(args.days, 1)))
            with ThreadPoolExecutor(max_workers=len(clients)) as pool:
                for n, c in enumerate(clients):
                    rng = random.Random(args.seed * 1_000_003 + d * 1009 + n)
                    pool.submit(_day, c, day, rng, w)
            progress.advance(task)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yibao his-sim", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--year", type=int, default=today().year)
    parser.add_argument(
        "--database-url", default=None, help="where to find patients (default: YIBAO_DATABASE_URL)"
    )
    parser.add_argument("--inpatient-share", type=float, default=0.1)
    parser.add_argument(
        "--hospitals", type=int, default=0, help="hospitals playing at once (default: all)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="each hospital keeps one HTTP connection (default: a connection a message)",
    )
    return parser


def _patients(
    rows: list[PatientRow], catalogue: dict[str, list[Item]], n: int, seed: int
) -> list[Patient]:
    people = [
        Patient(pid, card, INSUTYPE[Scheme(scheme)], region)
        for pid, card, scheme, region in rows
        if region in catalogue
    ]
    random.Random(seed).shuffle(people)
    return people[:n]


def _report(console: Console, stats: Stats, visits: int, elapsed: float, days: int) -> None:
    table = Table(title=f"his-sim: {visits} visits, {stats.messages} messages in {elapsed:.1f} s")
    for col in ("infno", "count", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="right")
    for infno, values in sorted(stats.latencies.items()):
        v = sorted(values)
        shown = [f"{pct(v, share):.1f}" for share in (0.5, 0.95, 0.99)]
        table.add_row(infno, str(len(v)), *shown, f"{v[-1] * 1000:.1f}")
    console.print(table)
    console.print(
        f"throughput: {stats.messages / elapsed:.1f} messages/s, "
        f"{stats.settlements / elapsed:.1f} settlements/s"
    )
    console.print(f"protocol errors: {sum(stats.errors.values())} {dict(stats.errors)}")
    for s in stats.samples:
        console.print(f"  {s}")
    console.print(f"arithmetic errors: {len(stats.arithmetic)}")
    for a in stats.arithmetic[:20]:
        console.print(f"  {a}")
    console.print(f"days reconciled (3201 + 3202): {days - stats.days_unreconciled} of {days}")
    for u in stats.unreconciled[:20]:
        console.print(f"  {u}")


def main(argv: list[str] | None, read_world: WorldReader, credentials: Credentials) -> int:
    args = _parser().parse_args(argv)
    console = Console()
    institutions, rows, catalogue = read_world(args.database_url, args.year, args.patients * 20)
    people = _patients(rows, catalogue, args.patients, args.seed)
    if not institutions or not people:
        console.print(
            "[red]no designated institutions or enrolled patients with cards in the database[/red]"
        )
        return 2
    stats = Stats()
    chosen = institutions[: args.hospitals] if args.hospitals else institutions
    # Each institution signs its messages with a credential of its own (fsi/auth.py).
    issued = credentials(args.database_url, chosen)
    clients = [Client(args.url, i, stats, issued[i], keep_alive=args.keep_alive) for i in chosen]
    for n, c in enumerate(clients):  # every third hospital prices above the caps
        c.markup = Decimal("1.25") if n % 3 == 2 else Decimal("0.95")
    share = max(1, args.patients // len(clients))
    start = time.perf_counter()
    _play(args, clients, World(people, catalogue, share, args.inpatient_share), console)
    elapsed = time.perf_counter() - start
    _report(console, stats, share * len(clients) * args.days, elapsed, len(clients) * args.days)
    return 1 if stats.arithmetic or stats.errors or stats.unreconciled else 0
