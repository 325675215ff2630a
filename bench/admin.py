"""The agency's batch work at a school-district scale, on SQLite and on PostgreSQL:

- a class list of N rows uploaded (every row checked, stored in one transaction);
- the agency's review accepting all N (each child registered and enrolled);
- collection accounts opened for the N enrolments, and the bank's result file of N
  lines imported (enrolments activated, cards ordered with their due dates).

    .venv/bin/python bench/admin.py --rows 10000

Prints a table and appends rows to bench/results.csv. Not a test: speed targets live here.
"""

from __future__ import annotations

import argparse
import csv
import io
import platform
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import Engine, make_url

from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.migrate import upgrade
from yibao.adapters.db.tables_schools import school_batch_rows
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import policy_source
from yibao.domain.access import Role
from yibao.domain.ids import make_resident_id
from yibao.service.access import OPERATOR
from yibao.service.services import Services

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TODAY = date(2026, 10, 15)


def class_list(rows: int) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["身份证号", "姓名", "班级", "监护人", "监护人电话", "困难家庭"])
    seen: set[str] = set()
    n = 0
    while len(seen) < rows:
        n += 1
        born = date(2010 + n % 9, 1 + n % 12, 1 + n % 28)
        number = make_resident_id("990100", born, n % 997)
        if number in seen:
            continue
        seen.add(number)
        writer.writerow(
            [
                number,
                f"学生{n}",
                f"{1 + n % 6}年级",
                f"家长{n}",
                f"139{n:08d}",
                "是" if n % 20 == 0 else "否",
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def timed(step: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    answer = step()
    return time.perf_counter() - start, answer


def run(engine: Engine, rows: int) -> dict[str, float]:
    upgrade(engine)
    clock = {"today": TODAY}
    svc = Services.build(lambda: UnitOfWork(engine), policy_source(), lambda: clock["today"])
    with UnitOfWork(engine) as uow:
        uow.registry.add_region("sample-city", "样本市", "Sample City", "990100")
        uow.commit()
    svc.schools.add_school(OPERATOR, "S1", "第一中学", "sample-city")
    made = svc.access.create_account(OPERATOR, "s1", Role.SCHOOL, "第一中学", school_id="S1")
    school = svc.access.authenticate(made["token"])
    assert school is not None
    content = class_list(rows)
    times: dict[str, float] = {}
    times["upload"], report = timed(
        lambda: svc.schools.upload(school, "S1", 2027, "list.csv", content)
    )
    assert report["ok"], report["errors"][:3]
    batch = report["batch"]["id"]
    # Every guardian declared (a bench shortcut: declarations come one by one online).
    with engine.begin() as conn:
        conn.execute(
            update(school_batch_rows)
            .where(school_batch_rows.c.batch_id == batch)
            .values(status="declared")
        )
    svc.schools.submit(school, batch)
    times["review"], reviewed = timed(lambda: svc.schools.review(OPERATOR, batch, accept_all=True))
    assert len(reviewed["accepted"]) == rows
    times["open accounts"], _ = timed(
        lambda: svc.collection.open_accounts(OPERATOR, "sample-city", 2027)
    )
    exported = svc.collection.export_accounts(OPERATOR, "sample-city", 2027)
    lines = list(csv.DictReader(io.StringIO(exported)))
    bank = io.StringIO(newline="")
    writer = csv.writer(bank)
    writer.writerow(["account", "amount", "date", "status"])
    for line in lines:
        writer.writerow([line["account"], line["amount"], "2026-10-20", "success"])
    clock["today"] = date(2026, 10, 21)
    times["bank import"], imported = timed(
        lambda: svc.collection.import_bank_file(OPERATOR, "bank.csv", bank.getvalue().encode())
    )
    assert imported, imported
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        lite = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        results["sqlite"] = run(lite, args.rows)
        lite.dispose()
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"yibao_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        pg = make_engine(
            make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
        )
        results["postgresql"] = run(pg, args.rows)
        pg.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    table = Table(title=f"batch administration, {args.rows:,} pupils")
    table.add_column("step")
    for db in results:
        table.add_column(f"{db} s", justify="right")
        table.add_column(f"{db} rows/s", justify="right")
    for step in next(iter(results.values())):
        cells = []
        for db in results:
            seconds = results[db][step]
            cells += [f"{seconds:.2f}", f"{args.rows / seconds:,.0f}"]
        table.add_row(step, *cells)
    Console(width=120).print(table)
    out = Path(__file__).with_name("results.csv")
    with out.open("a", newline="") as fh:
        writer = csv.writer(fh)
        for db, steps in results.items():
            for step, seconds in steps.items():
                writer.writerow(
                    [
                        datetime.now(UTC).isoformat(timespec="seconds"),
                        f"admin-{step.replace(' ', '-')}-{db}",
                        platform.node(),
                        args.rows,
                        args.rows,
                        f"{seconds:.2f}",
                        f"{args.rows / seconds:.0f}",
                    ]
                )


if __name__ == "__main__":
    main()
