"""A hospital simulator: plays institutions' days through the national interface.

    python -m yibao.fsi.his_sim --url http://127.0.0.1:8000 --patients 200 --days 5

Each institution signs in (9001); each patient visit reads the person (1101), registers
(2201), uploads the visit and fee lines (2203, 2204), pre-settles (2206) and settles
(2207), and now and then cancels the settlement (2208); inpatient stays admit (2401),
upload lines with a refund (2301), pre-settle and settle (2303, 2304) and discharge
(2402). Every settlement is queried back (5203). It reports throughput, latency
percentiles, and any answer that failed or whose arithmetic does not hold.

Each institution signs its messages with the x-tif-* headers of a credential issued for
an account `his-sim-<code>` (made if missing), with the server's secret key (the same
var/secret.key or YIBAO_SECRET_KEY the server uses).

Patients and institutions come from the server's database (`--database-url`, the same
YIBAO_DATABASE_URL the server uses): active cards of persons enrolled in the year, and
designated hospitals and clinics. Catalogue codes are those of the person's region.
"""

from __future__ import annotations

import argparse
import random
import time
import urllib.request
from collections import Counter
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
    settlements: int = 0
    messages: int = 0


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

    def call(self, infno: str, input_: dict[str, Any]) -> dict[str, Any] | None:
        self.seq += 1
        message = {
            "infno": infno,
            "msgid": f"{self.institution[:12]:0<12}{self.day:%Y%m%d}{time.time_ns() % 10**6:06d}{self.seq:06d}",
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
            self.stats.errors[f"{infno} transport"] += 1
            self._sample(f"{infno}: {exc}")
            return None
        self.stats.latencies.setdefault(infno, []).append(time.perf_counter() - start)
        self.stats.messages += 1
        parsed: dict[str, Any] = loads(body)
        if parsed.get("infcode") != 0:
            self.stats.errors[f"{infno} infcode -1"] += 1
            self._sample(f"{infno}: {parsed.get('err_msg')}")
            return None
        output: dict[str, Any] = parsed["output"]
        return output

    def _sample(self, text: str) -> None:
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


def _lines(
    rng: random.Random, mdtrt_id: str, p: Patient, codes: list[str], day: date, big: bool
) -> list[dict[str, Any]]:
    rows = []
    for i in range(rng.randint(1, 6)):
        cnt = Decimal(rng.randint(1, 4))
        pric = Decimal(rng.randint(100, 400_000 if big else 30_000)).scaleb(-2)
        rows.append(
            {
                "feedetl_sn": f"{mdtrt_id[:8]}{i:03d}",
                "mdtrt_id": mdtrt_id,
                "psn_no": p.person_id,
                "fee_ocur_time": f"{day.isoformat()} 10:00:00",
                "med_list_codg": rng.choice(codes),
                "medins_list_codg": "SIM",
                "cnt": cnt,
                "pric": pric,
                "det_item_fee_sumamt": cnt * pric,
                "rxno": "RX1",
            }
        )
    return rows


def outpatient(c: Client, rng: random.Random, p: Patient, codes: list[str]) -> None:
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
    lines = _lines(rng, mdtrt_id, p, codes, c.day, big=False)
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
    settled = c.call("2207", {"data": data})
    _check(c.stats, "2207", settled)
    if settled is None:
        return
    c.stats.settlements += 1
    ids = {"setl_id": settled["setlinfo"]["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": p.person_id}
    _check(c.stats, "5203", c.call("5203", {"data": ids}))
    if rng.random() < 0.05:
        c.call("2208", {"data": ids})


def inpatient(c: Client, rng: random.Random, p: Patient, codes: list[str]) -> None:
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
    lines = _lines(rng, mdtrt_id, p, codes, c.day, big=True)
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
    c.stats.settlements += 1
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
) -> tuple[list[str], list[Patient], dict[str, list[str]]]:
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
        catalogue: dict[str, list[str]] = {}
        for r in conn.execute(
            select(t.catalogue_items.c.region, t.catalogue_items.c.code).where(
                t.catalogue_items.c.unit_price_fen.is_(None)
            )
        ):
            catalogue.setdefault(str(r.region), []).append(str(r.code))
    engine.dispose()
    rng = random.Random(seed)
    people = [
        Patient(r.id, r.number, INSUTYPE[r.scheme], r.region) for r in rows if r.region in catalogue
    ]
    rng.shuffle(people)
    return institutions, people[:patients], catalogue


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
    rng = random.Random(args.seed)
    stats = Stats()
    settings = Settings()
    if args.database_url:
        settings = Settings(database_url=args.database_url)
    # Each institution signs its messages with a credential of its own (fsi/auth.py).
    credentials = simulator_credentials(settings, institutions)
    clients = {i: Client(args.url, i, stats, credentials[i]) for i in institutions}
    start = time.perf_counter()
    visits = args.patients * args.days
    with Progress(console=console) as progress:
        task = progress.add_task("visits", total=visits)
        for d in range(args.days):
            day = date(args.year, 1, 2) + timedelta(days=d * max(1, 360 // max(args.days, 1)))
            for c in clients.values():
                c.day = day
                signed = c.call(
                    "9001", {"signIn": {"opter_no": "sim", "mac": "00", "ip": "127.0.0.1"}}
                )
                c.sign_no = "" if signed is None else str(signed["signinoutb"]["sign_no"])
            for _ in range(args.patients):
                c = clients[rng.choice(institutions)]
                p = rng.choice(people)
                codes = catalogue[p.region]
                if rng.random() < args.inpatient_share:
                    inpatient(c, rng, p, codes)
                else:
                    outpatient(c, rng, p, codes)
                progress.advance(task)
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
    return 1 if stats.arithmetic or stats.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
