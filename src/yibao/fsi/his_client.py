"""his-sim's hospital: a client of the national interface that signs its messages, keeps
its latencies and failures (Stats), and its own book of the day's settlements (his_day).
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from yibao.fsi.auth import Credential
from yibao.fsi.his_day import Book
from yibao.fsi.jsontext import dumps, loads
from yibao.fsi.setlinfo import arithmetic_problems

PATH = "/fsi/api/callService"
Item = tuple[str, Decimal | None]  # a catalogue code and its highest price cap, if any


def today() -> date:
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
    unreconciled: list[str] = field(default_factory=list)  # what differed
    days_unreconciled: int = 0  # hospital-days with any difference (3201 or 3202)
    settlements: int = 0
    messages: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    def __init__(
        self,
        url: str,
        institution: str,
        stats: Stats,
        credential: Credential | None = None,
        *,
        keep_alive: bool = False,
    ) -> None:
        self.url = url.rstrip("/") + PATH
        # keep_alive: one HTTP/1.1 connection for the hospital's messages, as a hospital
        # system's HTTP client keeps it; otherwise a connection a message (urllib).
        self.keep_alive = keep_alive
        self._conn: http.client.HTTPConnection | None = None
        self.institution = institution
        self.credential = credential  # the x-tif-* signed headers of each message
        self.stats = stats
        self.sign_no = ""
        self.day = today()
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
        start = time.perf_counter()
        try:
            body = self._post(dumps(message).encode(), headers)
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

    def _post(self, body: bytes, headers: dict[str, str]) -> bytes:
        if not self.keep_alive:
            request = urllib.request.Request(self.url, body, headers)
            with urllib.request.urlopen(request, timeout=60) as answer:
                read: bytes = answer.read()
                return read
        for attempt in (1, 2):
            if self._conn is None:
                where = urllib.parse.urlsplit(self.url)
                self._conn = http.client.HTTPConnection(where.netloc, timeout=60)
            try:
                self._conn.request("POST", urllib.parse.urlsplit(self.url).path, body, headers)
                answer = self._conn.getresponse()
                read = answer.read()
            except (http.client.HTTPException, OSError):
                # The server closed the connection it kept: sent again on a new one (a
                # message answered already is answered again the same, by its msgid).
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
                continue
            if answer.status != 200:
                raise OSError(f"HTTP {answer.status}")
            return read
        raise AssertionError("unreachable")

    def _failed(self, kind: str, text: str) -> None:
        with self.stats.lock:
            self.stats.errors[kind] += 1
            if len(self.stats.samples) < 20:
                self.stats.samples.append(text)


def pct(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))] * 1000


def check(stats: Stats, infno: str, output: dict[str, Any] | None) -> None:
    if output is None:
        return
    problems = arithmetic_problems(output["setlinfo"])
    details = sum((Decimal(str(d["fund_payamt"])) for d in output["setldetail"]), Decimal(0))
    if details != Decimal(str(output["setlinfo"]["fund_pay_sumamt"])):
        problems.append("setldetail ≠ fund_pay_sumamt")
    for p in problems:
        stats.arithmetic.append(f"{infno} {output['setlinfo'].get('setl_id')}: {p}")
