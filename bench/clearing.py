"""A month of cross-region settlements cleared from PostgreSQL: N settlements at the
institutions of three regions for persons of the others (each with its two rows in the
regions' books), then `ClearingService.run` for the month (a statement per pair of
regions), the second run (nothing to do), and the largest statement exported as CSV.

    .venv/bin/python bench/clearing.py --settlements 1000000

The setup writes the rows in PostgreSQL itself (generate_series), as the counter would
have left them; what is timed is the service's work. Prints a table and appends rows to
bench/results.csv. Not a test."""

from __future__ import annotations

import argparse
import csv
import platform
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from common import peak_mib  # bench/common.py
from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.migrate import upgrade
from yibao.adapters.db.uow import UnitOfWork
from yibao.service.access import OPERATOR
from yibao.service.clearing import ClearingService

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REGIONS = (("sample-city", "990100"), ("hill-county", "990200"), ("other-city", "990800"))

SETUP = """
INSERT INTO regions (code, name_zh, name_en, admdvs) VALUES
  ('sample-city', '样本市', 'Sample City', '990100'),
  ('hill-county', '山县', 'Hill County', '990200'),
  ('other-city', '邻市', 'Other City', '990800');
INSERT INTO institutions (id, region, name, level, kind, designated, pilot) VALUES
  ('H-sample-city', 'sample-city', '样本市第一人民医院', 3, 'hospital', true, false),
  ('H-hill-county', 'hill-county', '山县人民医院', 2, 'hospital', true, false),
  ('H-other-city', 'other-city', '邻市人民医院', 3, 'hospital', true, false);
INSERT INTO persons (id, id_number, name, birth_date, sex, region) VALUES
  ('P-sample-city', '990100197001010011', '甲', '1970-01-01', 'M', 'sample-city'),
  ('P-hill-county', '990200197001010011', '乙', '1970-01-01', 'M', 'hill-county'),
  ('P-other-city', '990800197001010011', '丙', '1970-01-01', 'M', 'other-city');
CREATE TEMP TABLE pairs (n int, insured text, treated text);
INSERT INTO pairs VALUES (0, 'sample-city', 'hill-county'), (1, 'hill-county', 'sample-city'),
  (2, 'sample-city', 'other-city'), (3, 'other-city', 'sample-city'),
  (4, 'hill-county', 'other-city'), (5, 'other-city', 'hill-county');
INSERT INTO settlements (id, person_id, year, seq, channel, institution_id, hospital_level,
  hospital_region, hospital_designated, hospital_pilot, region, scheme, kind, encounter_date,
  referral, prescription, total_fen, eligible_fen, self_pay_fen, threshold_fen, basic_fen,
  assistance_fen, institution_fen, personal_fen, route, explanation, status, created_at)
SELECT i, 'P-' || p.insured, 2026, i, 'card', 'H-' || p.treated, 3, p.treated, true, false,
  p.insured, 'resident', 'outpatient', DATE '2026-03-01' + (i % 31), false, true,
  20000, 20000, 0, 0, 10000 + i % 997, 0, 0, 10000 - i % 997, 'basic', '[]', 'settled', now()
FROM generate_series(1, :n) AS i JOIN pairs p ON p.n = i % 6;
INSERT INTO region_ledger (region, counterparty, side, settlement_id, entry, month,
  amount_fen, created_at)
SELECT s.hospital_region, s.region, 'receivable', s.id, 'settlement', '2026-03', s.basic_fen, now()
FROM settlements s
UNION ALL
SELECT s.region, s.hospital_region, 'payable', s.id, 'settlement', '2026-03', s.basic_fen, now()
FROM settlements s;
SELECT setval(pg_get_serial_sequence('settlements', 'id'), :n);
ANALYZE;
"""


def bench(n: int) -> dict[str, float]:
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"yibao_bench_clearing_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade(engine)
        started = time.perf_counter()
        with engine.begin() as conn:
            for statement in SETUP.split(";\n"):
                if statement.strip():
                    conn.execute(text(statement), {"n": n})
        setup = time.perf_counter() - started
        service = ClearingService(lambda: UnitOfWork(engine), lambda: date(2026, 4, 10))
        started = time.perf_counter()
        first = service.run("2026-03", OPERATOR)
        run = time.perf_counter() - started
        started = time.perf_counter()
        second = service.run("2026-03", OPERATOR)
        again = time.perf_counter() - started
        assert second["made"] == [], second
        assert len(first["made"]) == 3, first
        assert sum(s["entries"] for s in first["statements"]) == n
        largest = max(first["statements"], key=lambda s: s["entries"])
        started = time.perf_counter()
        data = service.export(OPERATOR, largest["id"], "csv")
        export = time.perf_counter() - started
        assert data.count(b"\n") >= largest["entries"]
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return {"setup": setup, "run": run, "again": again, "export": export, "peak": peak_mib()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settlements", type=int, default=1_000_000)
    args = parser.parse_args()
    result = bench(args.settlements)
    table = Table(
        title=f"clearing a month of {args.settlements:,} cross-region settlements (PostgreSQL)"
    )
    for column in ("setup s", "run s", "second run s", "export largest CSV s", "peak MiB"):
        table.add_column(column, justify="right")
    table.add_row(
        *(f"{result[k]:.2f}" for k in ("setup", "run", "again", "export")), f"{result['peak']:.0f}"
    )
    Console().print(table)
    with (Path(__file__).parent / "results.csv").open("a", newline="") as f:
        when = datetime.now(UTC).isoformat(timespec="seconds")
        writer = csv.writer(f)
        for key in ("run", "again", "export"):
            writer.writerow(
                [
                    when,
                    f"clearing-{key}",
                    platform.node() or "vm",
                    "",
                    args.settlements,
                    f"{result[key]:.2f}",
                    f"{args.settlements / result[key]:.0f}" if result[key] else "",
                ]
            )


if __name__ == "__main__":
    main()
