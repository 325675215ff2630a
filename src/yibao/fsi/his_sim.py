"""A hospital simulator: plays institutions' days through the national interface.

    python -m yibao.fsi.his_sim --url http://127.0.0.1:8000 --patients 200 --days 5

`--hospitals N` hospitals play at once, each in its own thread with its own price list
(prices a factor of the catalogue's caps, every third hospital above them: the excess is
over-limit self-pay). Each signs in (9001); each patient visit reads the person (1101),
registers (2201), uploads the visit and fee lines (2203, 2204), pre-settles (2206) and
settles (2207); now and then the settlement is cancelled (2208), or its answer is "lost"
and the hospital recovers with 2601 by the msgid and settles again. Inpatient stays admit
(2401), upload lines with a refund (2301), pre-settle and settle (2303, 2304) and
discharge (2402). Every settlement is queried back (5203). Each hospital's day ends with
3201 and 3202 (its detail file uploaded by 9101) against its own book, which must both
balance, and 9002. It reports throughput, latency percentiles, and any answer that
failed, whose arithmetic does not hold, or any day that did not reconcile.

Each institution signs its messages with the x-tif-* headers of a credential issued for
an account `his-sim-<code>` (made if missing), with the server's secret key (the same
var/secret.key or YIBAO_SECRET_KEY the server uses).

Patients and institutions come from the server's database (`--database-url`, the same
YIBAO_DATABASE_URL the server uses): active cards of persons enrolled in the year, and
designated hospitals and clinics. Catalogue codes are those of the person's region.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import and_, select

from yibao.adapters.db import tables as t
from yibao.adapters.db.engine import make_engine
from yibao.fsi.auth import Credential, simulator_credentials
from yibao.fsi.codes import INSUTYPE
from yibao.fsi.his_day import Book, reconcile
from yibao.fsi.jsontext import dumps, loads
from yibao.fsi.setlinfo import arithmetic_problems
from yibao.settings import Settings

PATH = "/fsi/api/callService"


def _today() -> date:
    return datetime.now(UTC).date()


@dataclass
class Patient:
    person_id: str
    card: str
    insutype: str
    region: str


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    arithmetic: list[str] = field(default_factory=list)
    unreconciled: list[str] = field(default_factory=list)
    settlements: int = 0
    messages: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    def __init__(
        self, url: str, institution: str, stats: Stats, credential: Credential | None = None
    ) -> None:
        self.url = url.rstrip("/") + PATH
        self.institution = institution
        self.credential = credential  # the x-tif-* signed headers of each message
        self.stats = stats
        self.sign_no = ""
        self.day = _today()
        self.seq = 0
        self.last_msgid = ""
        self.book = Book()
        self.markup = Decimal(1)  # this hospital's prices against the catalogue's caps

    def call(self, infno: str, input_: dict[str, Any]) -> dict[str, Any] | None:
        self.seq += 1
        stamp = f"{self.day:%Y%m%d}{time.time_ns() % 10**6:06d}{self.seq:06d}"
        self.last_msgid = f"{self.institution[:12]:0<12}{stamp}"
        message = {
            "infno": infno,
            "msgid": self.last_msgid,
            "mdtrtarea_admvs": "990100",
            "insuplc_admdvs": "990100",
            "recer_sys_code": "HIS_SIM",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": "sim",
            "opter_name": "模拟收费员",
            "inf_time": f"{self.day.isoformat()} 10:00:00",
            "fixmedins_code": self.institution,
            "fixmedins_name": "",
            "sign_no": self.sign_no,
            "input": input_,
        }
        headers = {"Content-Type": "application/json"}
        if self.credential is not None:
            headers.update(self.credential.headers())
        request = urllib.request.Request(self.url, dumps(message).encode(), headers)
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                body = answer.read()
        except Exception as exc:
            self._failed(f"{infno} transport", f"{infno}: {exc}")
            return None
        elapsed = time.perf_counter() - start
        parsed: dict[str, Any] = loads(body)
        with self.stats.lock:
            self.stats.latencies.setdefault(infno, []).append(elapsed)
            self.stats.messages += 1
        if parsed.get("infcode") != 0:
            self._failed(f"{infno} infcode -1", f"{infno}: {parsed.get('err_msg')}")
            return None
        output: dict[str, Any] = parsed["output"]
        return output

    def _failed(self, kind: str, text: str) -> None:
        with self.stats.lock:
            self.stats.errors[kind] += 1
            if len(self.stats.samples) < 20:
                self.stats.samples.append(text)


def _pct(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))] * 1000


def _check(stats: Stats, infno: str, output: dict[str, Any] | None) -> None:
    if output is None:
        return
    problems = arithmetic_problems(output["setlinfo"])
    details = sum((Decimal(str(d["fund_payamt"])) for d in output["setldetail"]), Decimal(0))
    if details != Decimal(str(output["setlinfo"]["fund_pay_sumamt"])):
        problems.append("setldetail ≠ fund_pay_sumamt")
    for p in problems:
        stats.arithmetic.append(f"{infno} {output['setlinfo'].get('setl_id')}: {p}")


def _cert(p: Patient) -> dict[str, str]:
    return {"mdtrt_cert_type": "03", "mdtrt_cert_no": p.card}


Item = tuple[str, Decimal | None]  # a catalogue code and its highest price cap, if any


def _price(rng: random.Random, cap: Decimal | None, markup: Decimal, big: bool) -> Decimal:
    if cap is not None:  # the hospital's own price: a factor of the cap, some above it
        return (cap * markup).quantize(Decimal("0.01"))
    return Decimal(rng.randint(100, 400_000 if big else 30_000)).scaleb(-2)


def _lines(
    c: Client, rng: random.Random, mdtrt_id: str, p: Patient, codes: list[Item], big: bool
) -> list[dict[str, Any]]:
    rows = []
    for i in range(rng.randint(1, 6)):
        cnt = Decimal(rng.randint(1, 4))
        code, cap = rng.choice(codes)
        pric = _price(rng, cap, c.markup, big)
        rows.append(
            {
                "feedetl_sn": f"{mdtrt_id[:8]}{i:03d}",
                "mdtrt_id": mdtrt_id,
                "psn_no": p.person_id,
                "fee_ocur_time": f"{c.day.isoformat()} 10:00:00",
                "med_list_codg": code,
                "medins_list_codg": "SIM",
                "cnt": cnt,
                "pric": pric,
                "det_item_fee_sumamt": cnt * pric,
                "rxno": "RX1",
            }
        )
    return rows


def outpatient(c: Client, rng: random.Random, p: Patient, codes: list[Item]) -> None:
    c.call("1101", {"data": _cert(p)})
    reg = c.call(
        "2201",
        {
            "data": {
                "psn_no": p.person_id,
                "insutype": p.insutype,
                "begntime": f"{c.day.isoformat()} 09:00:00",
                **_cert(p),
                "ipt_otp_no": f"SIM{c.seq}",
                "atddr_no": "D1",
                "dr_name": "医生",
                "dept_code": "01",
                "dept_name": "内科",
                "caty": "A03",
            }
        },
    )
    if reg is None:
        return
    mdtrt_id = reg["data"]["mdtrt_id"]
    c.call(
        "2203",
        {
            "mdtrtinfo": {
                "mdtrt_id": mdtrt_id,
                "psn_no": p.person_id,
                "med_type": "11",
                "begntime": f"{c.day.isoformat()} 09:00:00",
            },
            "diseinfo": [
                {"diag_type": "1", "diag_srt_no": 1, "diag_code": "J06.9", "diag_name": "上感"}
            ],
        },
    )
    lines = _lines(c, rng, mdtrt_id, p, codes, big=False)
    if c.call("2204", {"feedetail": lines}) is None:
        return
    data = {
        "psn_no": p.person_id,
        **_cert(p),
        "med_type": "11",
        "medfee_sumamt": sum((ln["det_item_fee_sumamt"] for ln in lines), Decimal(0)),
        "psn_setlway": "01",
        "mdtrt_id": mdtrt_id,
        "insutype": p.insutype,
        "acct_used_flag": "0",
    }
    _check(c.stats, "2206", c.call("2206", {"data": data}))
    settled = _settle(c, rng, p, data)
    if settled is None:
        return
    ids = {"setl_id": settled["setlinfo"]["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": p.person_id}
    _check(c.stats, "5203", c.call("5203", {"data": ids}))
    if rng.random() < 0.05 and c.call("2208", {"data": ids}) is not None:
        c.book.cancelled(c.day, settled["setlinfo"])


def _settle(
    c: Client, rng: random.Random, p: Patient, data: dict[str, Any]
) -> dict[str, Any] | None:
    """2207; now and then its answer is lost and the hospital recovers: 2601 by the msgid
    (the book learns the settlement and its reversal from the 2601 answer), then 2207."""
    settled = c.call("2207", {"data": data})
    _check(c.stats, "2207", settled)
    if settled is not None and rng.random() < 0.03:
        undo = {"psn_no": p.person_id, "omsgid": c.last_msgid, "oinfno": "2207"}
        reversed_ = c.call("2601", {"data": undo})
        if reversed_ is None:
            return None
        lost = {**reversed_["setlinfo"]}  # the settlement as it was, from its reversal
        for k in ("medfee_sumamt", "fund_pay_sumamt"):
            lost[k] = -Decimal(str(lost[k]))
        c.book.settled(c.day, lost)
        c.book.cancelled(c.day, lost)
        settled = c.call("2207", {"data": data})
        _check(c.stats, "2207", settled)
    if settled is None:
        return None
    with c.stats.lock:
        c.stats.settlements += 1
    c.book.settled(c.day, settled["setlinfo"])
    return settled


def inpatient(c: Client, rng: random.Random, p: Patient, codes: list[Item]) -> None:
    adm = c.call(
        "2401",
        {
            "mdtrtinfo": {
                "psn_no": p.person_id,
                "insutype": p.insutype,
                "begntime": f"{c.day.isoformat()} 09:00:00",
                **_cert(p),
                "med_type": "21",
                "ipt_no": f"SIM{c.seq}",
                "atddr_no": "D1",
                "chfpdr_name": "医生",
                "adm_dept_codg": "02",
                "adm_dept_name": "外科",
                "dscg_maindiag_code": "K35.8",
                "dscg_maindiag_name": "阑尾炎",
            }
        },
    )
    if adm is None:
        return
    mdtrt_id = adm["result"]["mdtrt_id"]
    lines = _lines(c, rng, mdtrt_id, p, codes, big=True)
    first = lines[0]  # charged one unit too many, then refunded one
    first["cnt"] += 1
    first["det_item_fee_sumamt"] = first["cnt"] * first["pric"]
    lines.append(
        {
            **first,
            "feedetl_sn": f"{mdtrt_id[:8]}R01",
            "cnt": Decimal(-1),
            "det_item_fee_sumamt": -first["pric"],
            "init_feedetl_sn": first["feedetl_sn"],
        }
    )
    if c.call("2301", {"feedetail": lines}) is None:
        return
    data = {
        "psn_no": p.person_id,
        **_cert(p),
        "medfee_sumamt": sum((ln["det_item_fee_sumamt"] for ln in lines), Decimal(0)),
        "psn_setlway": "01",
        "mdtrt_id": mdtrt_id,
        "insutype": p.insutype,
        "mid_setl_flag": "0",
        "acct_used_flag": "0",
    }
    _check(c.stats, "2303", c.call("2303", {"data": data}))
    settled = c.call("2304", {"data": data})
    _check(c.stats, "2304", settled)
    if settled is None:
        return
    with c.stats.lock:
        c.stats.settlements += 1
    c.book.settled(c.day, settled["setlinfo"])
    c.call(
        "2402",
        {
            "dscginfo": {
                "mdtrt_id": mdtrt_id,
                "psn_no": p.person_id,
                "insutype": p.insutype,
                "endtime": f"{c.day.isoformat()} 17:00:00",
                "dise_codg": "K35.8",
                "dise_name": "阑尾炎",
                "dscg_way": "1",
            }
        },
    )
    ids = {"setl_id": settled["setlinfo"]["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": p.person_id}
    _check(c.stats, "5203", c.call("5203", {"data": ids}))


def load_world(
    database_url: str, year: int, patients: int, seed: int
) -> tuple[list[str], list[Patient], dict[str, list[Item]]]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        institutions = [
            str(r.id)
            for r in conn.execute(
                select(t.institutions.c.id).where(
                    t.institutions.c.designated, t.institutions.c.kind != "pharmacy"
                )
            )
        ]
        e, c, p = t.enrolments.c, t.cards.c, t.persons.c
        rows = conn.execute(
            select(c.number, p.id, p.region, e.scheme)
            .select_from(
                t.cards.join(t.persons, p.id == c.person_id).join(
                    t.enrolments, and_(e.person_id == p.id, e.year == year)
                )
            )
            .where(c.status == "active", e.status == "active")
            .order_by(p.id)
            .limit(patients * 20)
        ).all()
        catalogue = _catalogue(conn, year)
    engine.dispose()
    rng = random.Random(seed)
    people = [
        Patient(r.id, r.number, INSUTYPE[r.scheme], r.region) for r in rows if r.region in catalogue
    ]
    rng.shuffle(people)
    return institutions, people[:patients], catalogue


def _catalogue(conn: Any, year: int) -> dict[str, list[Item]]:
    """Each region's codes: class items without a fixed price, and the catalogue entries in
    force all year with their highest cap (restricted items among them)."""
    out: dict[str, list[Item]] = {}
    ci = t.catalogue_items.c
    for r in conn.execute(select(ci.region, ci.code).where(ci.unit_price_fen.is_(None))):
        out.setdefault(str(r.region), []).append((str(r.code), None))
    ce = t.catalogue_entries.c
    start, end = date(year, 1, 1), date(year, 12, 31)
    query = select(ce.region, ce.code, ce.caps).where(
        ce.valid_from <= start, ce.valid_to.is_(None) | (ce.valid_to >= end)
    )
    for r in conn.execute(query):
        caps = [Decimal(str(v)) for v in json.loads(r.caps or "{}").values()]
        out.setdefault(str(r.region), []).append((str(r.code), max(caps) if caps else None))
    return out


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m yibao.fsi.his_sim", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--year", type=int, default=_today().year)
    parser.add_argument(
        "--database-url", default=None, help="where to find patients (default: YIBAO_DATABASE_URL)"
    )
    parser.add_argument("--inpatient-share", type=float, default=0.1)
    parser.add_argument(
        "--hospitals", type=int, default=0, help="hospitals playing at once (default: all)"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    console = Console()
    institutions, people, catalogue = load_world(
        args.database_url or Settings().database_url, args.year, args.patients, args.seed
    )
    if not institutions or not people:
        console.print(
            "[red]no designated institutions or enrolled patients with cards in the database[/red]"
        )
        return 2
    stats = Stats()
    chosen = institutions[: args.hospitals] if args.hospitals else institutions
    settings = Settings()
    if args.database_url:
        settings = Settings(database_url=args.database_url)
    # Each institution signs its messages with a credential of its own (fsi/auth.py).
    credentials = simulator_credentials(settings, chosen)
    clients = [Client(args.url, i, stats, credentials[i]) for i in chosen]
    for n, c in enumerate(clients):  # every third hospital prices above the caps
        c.markup = Decimal("1.25") if n % 3 == 2 else Decimal("0.95")
    share = max(1, args.patients // len(clients))
    start = time.perf_counter()
    _play(args, clients, World(people, catalogue, share, args.inpatient_share), console)
    visits = share * len(clients) * args.days
    elapsed = time.perf_counter() - start
    table = Table(title=f"his-sim: {visits} visits, {stats.messages} messages in {elapsed:.1f} s")
    for col in ("infno", "count", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="right")
    for infno, values in sorted(stats.latencies.items()):
        v = sorted(values)
        table.add_row(
            infno,
            str(len(v)),
            f"{_pct(v, 0.5):.1f}",
            f"{_pct(v, 0.95):.1f}",
            f"{_pct(v, 0.99):.1f}",
            f"{v[-1] * 1000:.1f}",
        )
    console.print(table)
    console.print(
        f"throughput: {stats.messages / elapsed:.1f} messages/s, {stats.settlements / elapsed:.1f} settlements/s"
    )
    console.print(f"protocol errors: {sum(stats.errors.values())} {dict(stats.errors)}")
    for s in stats.samples:
        console.print(f"  {s}")
    console.print(f"arithmetic errors: {len(stats.arithmetic)}")
    for a in stats.arithmetic[:20]:
        console.print(f"  {a}")
    days = len(clients) * args.days
    console.print(f"days reconciled (3201 + 3202): {days - len(stats.unreconciled)} of {days}")
    for u in stats.unreconciled[:20]:
        console.print(f"  {u}")
    return 1 if stats.arithmetic or stats.errors or stats.unreconciled else 0


if __name__ == "__main__":
    raise SystemExit(main())
