"""The national interface's own CPU a message, by message type, without HTTP.

    .venv/bin/python bench/fsi_cpu.py [--hospitals 16] [--days 2] [--patients 160]
                                      [--profile FILE] [--database NAME]
    PYTHONHASHSEED=0 valgrind --tool=callgrind --collect-atstart=no \
        .venv/bin/python bench/fsi_cpu.py --callgrind [--skip 500] [--hospitals 4]

his-sim's hospitals (yibao.fsi.his_sim, the same days and messages as `yibao his-sim`)
play one after the other, each message handed straight to `Gateway.call` in this process
(no HTTP, no credential, no group commit) on a fresh copy of a PostgreSQL database with
the demo loaded (made once, `<database>_template`, YIBAO_BENCH_POSTGRES_URL as in
bench/settle_http.py). Each message's cost is the CPU time of the thread answering it
(time.thread_time), so what else the shared machine does changes it little; it prints
the mean a message and by infno, and with --profile a cProfile of the whole run (thread
CPU as its clock) sorted by own time.

Run the start commit's code beside this one's, in the same minutes:

    PYTHONPATH=/tmp/before/src .venv/bin/python bench/fsi_cpu.py

Thread time still moves with what the rest of a shared machine does (caches, other
processes' memory traffic): 1.8-2.2 ms a message for the same code within minutes. With
--callgrind (under valgrind, collecting nothing at start) callgrind counts the
instructions of the gateway's calls only, from the --skip'th message on (the first ones
fill the process's caches and prepare its statements): its total ("summary:" in
callgrind.out.PID) divided by the messages counted, which this prints, is the same for
the same code on every run (the garbage collector is frozen after the start, and
his-sim's hospitals are seeded).
"""

from __future__ import annotations

import argparse
import cProfile
import ctypes
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import create_engine, make_url, text

from settle_http import ADMIN, YIBAO, drop_database, fresh_database  # bench/settle_http.py
from yibao.bootstrap import engine_from, policy_source, services
from yibao.entrypoints.api.runtime import tune_runtime
from yibao.entrypoints.his_sim import _world
from yibao.fsi import his_client, his_sim
from yibao.fsi.gateway import Gateway
from yibao.fsi.jsontext import loads
from yibao.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def copy_of_template(name: str) -> str:
    """A fresh database `name`, copied from `<name>_template` (the demo, made once)."""
    template = f"{name}_template"
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": template}
        ).first()
    if not exists:
        url = fresh_database(template)
        env = {**os.environ, "YIBAO_DATABASE_URL": url, "YIBAO_SECRET_KEY": "fsi-cpu"}
        for command in (["db", "upgrade"], ["demo", "load"]):
            subprocess.run([YIBAO, *command], env=env, cwd=ROOT, check=True, capture_output=True)
    drop_database(name)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return make_url(ADMIN).set(database=name).render_as_string(hide_password=False)


_TOGGLE = r"""
#include <valgrind/callgrind.h>
void toggle(void) { CALLGRIND_TOGGLE_COLLECT; }
"""


def callgrind_toggle() -> Any:
    """callgrind's collection on or off (a client request, nothing outside valgrind), from
    a library compiled here (as bench/settle_batch_cpu.py's)."""
    folder = Path(tempfile.mkdtemp())
    (folder / "toggle.c").write_text(_TOGGLE)
    lib = folder / "toggle.so"
    subprocess.run(
        ["cc", "-O1", "-shared", "-fPIC", "-o", str(lib), str(folder / "toggle.c")], check=True
    )
    return ctypes.CDLL(str(lib)).toggle


class _Answer:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def __enter__(self) -> _Answer:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        pass

    def read(self) -> bytes:
        return self.body


class InOrder:
    """his-sim's hospital pool, each hospital's day played in this thread, in turn."""

    def __init__(self, max_workers: int | None = None) -> None:
        pass

    def __enter__(self) -> InOrder:
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def submit(self, fn: Any, *args: Any) -> None:
        fn(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hospitals", type=int, default=16)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--patients", type=int, default=160)
    parser.add_argument("--profile", default="")
    parser.add_argument("--database", default=os.environ.get("YIBAO_BENCH_DATABASE", "fsi_cpu"))
    parser.add_argument("--callgrind", action="store_true", help="count the gateway's only")
    parser.add_argument("--skip", type=int, default=500, help="callgrind: from this message")
    args = parser.parse_args()
    toggle = callgrind_toggle() if args.callgrind else lambda: None
    seen = [0]
    url = copy_of_template(args.database)
    settings = Settings(database_url=url, group_commit=False, secret_key="fsi-cpu")
    engine = engine_from(settings)
    gateway = Gateway(services(engine, policy_source(settings.policy_path), settings))
    spent: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def urlopen(request: Any, timeout: float | None = None) -> _Answer:
        infno = loads(request.data)["infno"]
        seen[0] += 1
        counted = args.callgrind and seen[0] > args.skip
        if counted:
            toggle()
        began = time.thread_time()
        answer = gateway.call(request.data)
        if counted:
            toggle()
        row = spent[infno]
        row[0] += 1
        row[1] += time.thread_time() - began
        return _Answer(answer.encode())

    # his_client's and his_sim's own names for what they import (not re-exported:
    # attr-defined) are swapped for these stand-ins, whose types are not the originals'.
    his_client.urllib.request.urlopen = urlopen  # type: ignore[attr-defined]
    his_sim.ThreadPoolExecutor = InOrder  # type: ignore[attr-defined,assignment]
    argv = ["--hospitals", str(args.hospitals), "--days", str(args.days)]
    argv += ["--patients", str(args.patients), "--year", "2026", "--database-url", url]
    profile = cProfile.Profile(time.thread_time) if args.profile else None
    if profile:
        profile.enable()
    # The collector as a server process has it (entrypoints/api/runtime.py): what is made
    # so far frozen, the youngest generation collected every `gc_young` allocations
    # (CPython's 700 counts instructions a server does not spend).
    tune_runtime(Settings())
    # No hospital signs: the messages reach Gateway.call in this process, unsigned
    # (his_client.Client takes a None credential; his_sim's Credentials type has none).
    code = his_sim.main(argv, _world, lambda _url, chosen: dict.fromkeys(chosen))  # type: ignore[arg-type,return-value]
    if profile:
        profile.disable()
    engine.dispose()
    drop_database(args.database)
    total = sum(t for _, t in spent.values())
    count = sum(int(n) for n, _ in spent.values())
    print(f"his-sim {'passed' if code == 0 else 'FAILED'}; {count} messages")
    print(f"gateway CPU: {total / count * 1000:.3f} ms a message (thread time)")
    if args.callgrind:
        print(f"callgrind: {max(0, count - args.skip)} messages counted")
    for infno in sorted(spent):
        n, t = spent[infno]
        print(f"  {infno} {int(n):5d} × {t / n * 1000:6.3f} ms  {100 * t / total:4.1f}% of it")
    if profile:
        profile.dump_stats(args.profile)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(40)
        print(out.getvalue())
    sys.exit(code)


if __name__ == "__main__":
    main()
