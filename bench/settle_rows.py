"""What one card settlement costs the database: statements, rows, bytes and WAL.

    .venv/bin/python bench/settle_rows.py [--persons 300] [--bills 2000] [--threads 16]

Makes a scratch PostgreSQL database of its own (YIBAO_ROWS_DATABASE, default
yibao_rows, on YIBAO_BENCH_POSTGRES_URL's server), loads the demo, and settles `bills`
card bills (outpatient, one line, an idempotency key each: the bill bench/settle_http.py
sends) through the group committer from `threads` submitting threads, in this process.
Prints, a settlement: the rows written to each table and their bytes (pg_column_size of
the whole row, and of its largest column), the index entries written, the WAL bytes, the
transactions and subtransactions, and the statements and round trips the service sent
(counted at the driver), with the bills per batch. No timing: what it counts does not
depend on the machine's load.
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import create_engine, text

from settle_http import demo_choices, fresh_database  # YIBAO_BENCH_POSTGRES_URL
from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.migrate import upgrade
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import policy_source
from yibao.domain.model import Kind
from yibao.service.demo import load_demo
from yibao.service.group_commit import GroupCommitter
from yibao.service.settlement import Bill, BillLine, SettlementService

NAME = os.environ.get("YIBAO_ROWS_DATABASE", "yibao_rows")
TABLES = ("settlements", "settlement_lines", "fund_ledger", "idempotency_keys", "person_years")

SENT: Counter[str] = Counter()  # statements the service sent, by their first words
PARAMETER_BYTES: Counter[str] = Counter()  # the text of the parameters sent with them


def _bytes(params: Any) -> int:
    """The characters of a statement's text parameters (the rows' JSON, the ids, the
    explanations), lists and dicts counted by their items: what the service builds and
    the driver sends for it, whatever the format on the wire."""
    if isinstance(params, str | bytes):
        return len(params)
    if isinstance(params, dict):
        return sum(_bytes(v) for v in params.values())
    if isinstance(params, list | tuple):
        return sum(_bytes(v) for v in params)
    return 0


def _count_statements() -> None:
    """Count what goes to the server at the driver: every execute of a cursor or of the
    connection (SAVEPOINT, the counter's statements, COMMIT), and each row of an
    executemany. psycopg's own BEGIN, sent before a transaction's first statement, is
    not counted: one a transaction (see `commits`)."""
    original = psycopg.Cursor.execute
    original_many = psycopg.Cursor.executemany
    original_commit = psycopg.Connection.commit

    def execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        words = str(query if isinstance(query, str) else query.as_string(self)).split()
        SENT[" ".join(words[:2])[:40]] += 1
        PARAMETER_BYTES["sent"] += _bytes(params)
        return original(self, query, params, **kw)

    def executemany(self: Any, query: Any, params_seq: Any, **kw: Any) -> Any:
        # SQLAlchemy's INSERT of several rows (the regions' books): one statement a row,
        # sent in one pipeline.
        rows = list(params_seq)
        words = str(query if isinstance(query, str) else query.as_string(self)).split()
        SENT[" ".join(words[:3])[:40] + " (many)"] += len(rows)
        return original_many(self, query, rows, **kw)

    def commit(self: Any) -> None:
        SENT["COMMIT"] += 1
        original_commit(self)

    # Counting in place: mypy refuses a method assigned to (method-assign).
    psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    psycopg.Cursor.executemany = executemany  # type: ignore[method-assign]
    psycopg.Connection.commit = commit  # type: ignore[method-assign]


def make_database() -> str:
    return fresh_database(NAME)


def counters(engine: Any) -> dict[str, int]:
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        out = {
            f"{r[0]} rows": int(r[1]) + int(r[2])
            for r in conn.execute(
                text(
                    "SELECT relname, n_tup_ins, n_tup_upd FROM pg_stat_user_tables "
                    "WHERE relname = ANY(:t)"
                ),
                {"t": list(TABLES)},
            )
        }
        wal = conn.execute(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")).scalar_one()
        out["WAL bytes"] = int(wal)
        out["commits"] = int(
            conn.execute(
                text("SELECT xact_commit FROM pg_stat_database WHERE datname = :d"), {"d": NAME}
            ).scalar_one()
        )
    return out


def _settlements(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM settlements")).scalar_one())


def row_bytes(engine: Any) -> list[tuple[str, float, str, float]]:
    """Each table's average row of the settlements made, and its largest column."""
    out = []
    with engine.connect() as conn:
        for table, where in (
            ("settlements", "TRUE"),
            ("settlement_lines", "TRUE"),
            ("fund_ledger", "TRUE"),
            ("idempotency_keys", "key LIKE 'rows-%'"),
            ("person_years", "settled > 0"),
        ):
            cols = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns WHERE table_name = :t"
                    ),
                    {"t": table},
                )
            ]
            sizes = ", ".join(f"avg(pg_column_size({c}))" for c in cols)
            row = conn.execute(
                text(f"SELECT avg(pg_column_size(t.*)), {sizes} FROM {table} t WHERE {where}")
            ).one()
            widest = max(range(len(cols)), key=lambda i: float(row[i + 1] or 0))
            out.append((table, float(row[0] or 0), cols[widest], float(row[widest + 1] or 0)))
    return out


def indexes(engine: Any) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [
            (r[0], r[1])
            for r in conn.execute(
                text(
                    "SELECT tablename, indexname FROM pg_indexes "
                    "WHERE tablename = ANY(:t) ORDER BY 1, 2"
                ),
                {"t": list(TABLES)},
            )
        ]


def demo_bills(engine: Any, count: int, seed: int) -> list[Bill]:
    """`count` one-line outpatient bills drawn from the demo region (settle_http's
    demo_choices) by a seeded generator: the same bills for the same seed and database."""
    with engine.connect() as conn:
        cards, places, priced = demo_choices(conn)
    items = [
        (code, Decimal("12.50") if fen is None else Decimal(fen) / 100) for code, fen in priced
    ]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        code, price = rng.choice(items)
        day = date(2026, 1, 1) + timedelta(days=rng.randint(0, 300))
        line = BillLine(code, Decimal(rng.randint(1, 3)), price)
        out.append(
            Bill(rng.choice(places), rng.choice(cards), Kind.OUTPATIENT, day, (line,), "J06.9")
        )
    return out


def bills(engine: Any, count: int) -> list[tuple[Bill, str]]:
    return [
        (bill, f"rows-{n}-{uuid.uuid4().hex[:8]}")
        for n, bill in enumerate(demo_bills(engine, count, seed=7))
    ]


def settle(committer: GroupCommitter, todo: list[tuple[Bill, str]], threads: int) -> Counter[str]:
    """Settle `todo` from `threads` threads at once through the committer; the rules'
    refusals counted by their code."""
    queue, lock, refused = list(todo), threading.Lock(), Counter[str]()

    def submitter() -> None:
        while True:
            with lock:
                if not queue:
                    return
                bill, key = queue.pop()
            try:
                committer.settle(bill, key)
            except Exception as exc:  # a rule's refusal is counted, not fatal
                refused[getattr(exc, "code", type(exc).__name__)] += 1

    workers = [threading.Thread(target=submitter) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=300)
    parser.add_argument("--bills", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()

    url = make_database()
    engine = make_engine(url, pool_size=8)
    upgrade(engine)
    policies = policy_source()
    load_demo(lambda: UnitOfWork(engine), policies, persons=args.persons)
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    todo = bills(engine, args.bills)
    service = SettlementService(lambda: UnitOfWork(engine), policies)
    committer = GroupCommitter(service, lambda: UnitOfWork(engine))

    before = counters(engine)
    made_before = _settlements(engine)  # the demo's: not counted
    _count_statements()
    started = time.perf_counter()
    refused = settle(committer, todo, args.threads)
    elapsed = time.perf_counter() - started
    sent = dict(SENT)
    time.sleep(0.6)  # the statistics collector's flush (PGSTAT_MIN_INTERVAL)
    after = counters(engine)
    settled = _settlements(engine) - made_before
    n = max(settled, 1)
    stats = committer.stats
    print(
        f"{settled} settled ({dict(refused) or 'none refused'}) in {elapsed:.1f} s; "
        f"{stats.batches} batches, {stats.bills / max(stats.batches, 1):.1f} bills a batch, "
        f"{stats.retried_alone} retried alone"
    )
    print("a settlement:")
    for k in before:
        print(f"  {k:28} {(after[k] - before[k]) / n:10.2f}")
    print("statements sent, a settlement:")
    for k, v in sorted(sent.items(), key=lambda kv: -kv[1]):
        print(f"  {k:40} {v / n:6.2f}")
    print(f"  {'all':40} {sum(sent.values()) / n:6.2f}")
    print(f"  {'their parameters, characters':40} {PARAMETER_BYTES['sent'] / n:6.0f}")
    print("bytes of a row (pg_column_size), and its widest column:")
    for table, size, col, col_size in row_bytes(engine):
        print(f"  {table:20} {size:8.0f}   {col} {col_size:.0f}")
    print("indexes:", ", ".join(f"{i}" for _, i in indexes(engine)))
    engine.dispose()


if __name__ == "__main__":
    main()
