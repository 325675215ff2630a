"""What a card settlement costs PostgreSQL because of the schema: one command, a table.

    .venv/bin/python bench/pg_cost.py [--persons 3000] [--bills 3000] [--threads 16]
                                      [--batch N] [--statements]
                                      [--compare REVISION [--rounds 2]]

Makes a database of its own (YIBAO_BENCH_DATABASE, default yibao_bench_pgside, on
YIBAO_BENCH_POSTGRES_URL's server), loads the demo, and settles `bills` card bills (the
outpatient bill of bench/settle_rows.py, an idempotency key each) through the group
committer from `threads` threads in this process, after a warm-up of a tenth of them.
With --batch N, from one thread in batches of N, as the committer's thread settles a
full batch (service/group_commit.py; a server at 2 workers fills its 32-bill batches):
the figures then do not depend on how the threads happened to group the bills.
Prints, a settlement:

- the CPU of this database's backends (from /proc: other databases' work on a shared
  machine is not counted; the WAL writer's and checkpointer's are not either); with
  --statements also by statement (the batch's read, its write, the COMMIT ...);
- rows inserted / updated (HOT and not) / deleted per table, and the index entries each
  index received (a row inserted, or updated other than HOT, adds one to every index of
  its table); index scans per index (the foreign-key checks probe the parent's key);
  sequential scans per table and the rows they read (a plan that does not use a key);
- the foreign keys a settlement checks: one per row inserted into their table (each is a
  query, an index probe and a row lock on the parent, done by a trigger);
- the WAL this database wrote, from pg_walinspect (the records that touch its relations,
  and the commits of its transactions), by record type and relation, with the bytes of
  full-page images apart (they depend on when the last checkpoint was).

With --compare REVISION it measures the schema as of that migration in turns with the
newest (the same code, the same run) and prints the two side by side: what a migration
saves. pg_stat_statements needs shared_preload_libraries, which a shared server does
not have: the counts above come from pg_stat_user_tables / _indexes and the WAL itself,
and do not depend on the machine's load; the CPU does (on a loaded machine by more than
a small change moves it: profile the backends with perf for a share that does not).
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, create_engine, text

from settle_http import fresh_database  # bench/settle_http.py: YIBAO_BENCH_POSTGRES_URL
from settle_rows import bills, settle  # bench/settle_rows.py: its bills, settled by threads
from yibao.adapters.db.counter_pg_batch import READ_MANY, WRITE_MANY
from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.ledger_repo import year_state
from yibao.adapters.db.migrate import upgrade
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import policy_source
from yibao.domain.accumulators import YearAccumulators
from yibao.service.demo import load_demo
from yibao.service.errors import ServiceError
from yibao.service.group_commit import GroupCommitter, bill_order
from yibao.service.settlement import Bill, SettlementService

NAME = os.environ.get("YIBAO_BENCH_DATABASE", "yibao_bench_pgside")
YEAR = 2026  # of the bills of bench/settle_rows.py
HOT_TABLES = ("settlements", "settlement_lines", "fund_ledger", "idempotency_keys", "person_years")


def backend_cpu(admin: Any) -> dict[int, float]:
    """CPU seconds so far of each client backend connected to this database (but the
    measuring one)."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = admin.execute(
        text(
            "SELECT pid FROM pg_stat_activity WHERE datname = :d "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ),
        {"d": NAME},
    ).scalars()
    out = {}
    for pid in pids:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        out[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def table_stats(admin: Any) -> dict[str, tuple[int, ...]]:
    admin.execute(text("SELECT pg_stat_clear_snapshot()"))
    return {
        r[0]: tuple(int(v) for v in r[1:])
        for r in admin.execute(
            text(
                "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, seq_scan, "
                "seq_tup_read "
                "FROM pg_stat_user_tables"
            )
        )
    }


def index_stats(admin: Any) -> dict[tuple[str, str], int]:
    return {
        (r[0], r[1]): int(r[2])
        for r in admin.execute(
            text("SELECT relname, indexrelname, idx_scan FROM pg_stat_user_indexes")
        )
    }


def snapshot(admin: Any) -> dict[str, Any]:
    return {
        "tables": table_stats(admin),
        "indexes": index_stats(admin),
        "lsn": admin.execute(text("SELECT pg_current_wal_flush_lsn()")).scalar_one(),
        "settled": admin.execute(text("SELECT count(*) FROM settlements")).scalar_one(),
        "commits": admin.execute(
            text("SELECT xact_commit FROM pg_stat_database WHERE datname = :d"), {"d": NAME}
        ).scalar_one(),
    }


def open_pool(engine: Engine, size: int) -> None:
    """Connect `size` pooled connections at once, so that the run starts none."""
    conns = [engine.connect() for _ in range(size)]
    for conn in conns:
        conn.execute(text("SELECT 1"))
    for conn in conns:
        conn.close()


def wal(admin: Any, start: str, end: str) -> dict[tuple[str, str], list[int]]:
    """This database's WAL between two LSNs: [records, bytes, full-page-image bytes] by
    (record type, relation). A record belongs to it when a block it touches is in the
    database, or (a commit) when its transaction or one of its subtransactions wrote one."""
    dboid = admin.execute(
        text("SELECT oid FROM pg_database WHERE datname = :d"), {"d": NAME}
    ).scalar_one()
    names = {
        int(r[0]): r[1]
        for r in admin.execute(text("SELECT pg_relation_filenode(oid), relname FROM pg_class"))
        if r[0] is not None
    }
    rows = admin.execute(
        text(
            "SELECT xid, resource_manager, record_type, record_length, fpi_length, "
            "description, block_ref FROM pg_get_wal_records_info(:s, :e)"
        ),
        {"s": start, "e": end},
    ).all()
    ours = re.compile(rf"rel \d+/{dboid}/(\d+)")
    xids: set[int] = set()
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    pending = []
    for xid, rmgr, rtype, length, fpi, description, blocks in rows:
        rels = ours.findall(blocks or "")
        if not rels:
            pending.append((xid, rmgr, rtype, length, fpi, description))
            continue
        xids.add(int(xid))
        name = names.get(int(rels[0]), rels[0])
        _add(out[(f"{rmgr}/{rtype}", name)], length, fpi)
    for xid, rmgr, rtype, length, fpi, description in pending:
        if rmgr != "Transaction":
            continue
        related = {int(xid), *(int(x) for x in re.findall(r"\d+", _subxacts(description)))}
        if related & xids:
            _add(out[(f"{rmgr}/{rtype}", "")], length, fpi)
    return out


def _subxacts(description: str) -> str:
    found = re.search(r"subxacts:([\d ]+)", description or "")
    return found.group(1) if found else ""


def _add(into: list[int], length: int, fpi: int) -> None:
    into[0] += 1
    into[1] += int(length)
    into[2] += int(fpi)


def foreign_keys(admin: Any) -> list[tuple[str, str, str]]:
    """(table, its foreign key, the parent) of the tables a settlement writes."""
    return [
        (r[0], r[1], r[2])
        for r in admin.execute(
            text(
                "SELECT conrelid::regclass::text, conname, confrelid::regclass::text "
                "FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(:t) "
                "ORDER BY 1, 2"
            ),
            {"t": list(HOT_TABLES)},
        )
    ]


def prepare(
    args: argparse.Namespace, revision: str
) -> tuple[str, Engine, GroupCommitter, list[Any]]:
    url = fresh_database(NAME)
    engine = make_engine(url, pool_size=8)
    upgrade(engine, revision)
    policies = policy_source()
    load_demo(lambda: UnitOfWork(engine), policies, persons=args.persons)
    setup = create_engine(url, isolation_level="AUTOCOMMIT")
    with setup.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_walinspect"))
        # Every person has settled this year before (as in a region's running year): the
        # run updates the rows of person_years, packed as their inserts left them.
        conn.execute(
            text(
                "INSERT INTO person_years (person_id, year, state, settled) "
                "SELECT id, :year, :state, 0 FROM persons ON CONFLICT DO NOTHING"
            ),
            {"year": YEAR, "state": year_state(YearAccumulators(year=YEAR))},
        )
        conn.execute(text("VACUUM ANALYZE"))
    setup.dispose()  # its backend reports its statistics now, not during the run
    todo = bills(engine, args.bills + args.bills // 10)
    service = SettlementService(lambda: UnitOfWork(engine), policies)
    committer = GroupCommitter(service, lambda: UnitOfWork(engine))
    return url, engine, committer, todo


@dataclass
class Run:
    revision: str
    n: int  # settlements measured
    cpu: float  # seconds, this database's backends
    before: dict[str, Any]
    after: dict[str, Any]
    records: dict[tuple[str, str], list[int]]
    fks: list[tuple[str, str, str]]
    line: str  # what was settled, how
    statements: Counter[str]  # --statements: the backends' CPU ns, and the count, by kind

    def tables(self) -> dict[str, list[float]]:
        """(inserted, updated, HOT, deleted, seq scans, rows they read) a settlement, by
        table."""
        before, after = self.before["tables"], self.after["tables"]
        return {
            name: [(a - b) / self.n for a, b in zip(after[name], before[name], strict=True)]
            for name in after
            if name in before
        }

    def summary(self) -> dict[str, float]:
        tables, n = self.tables(), self.n
        indexes = {tb for tb, _ in self.after["indexes"]}
        entries = sum(
            (ins + upd - hot) * sum(1 for tb, _ in self.after["indexes"] if tb == name)
            for name, (ins, upd, hot, *_) in tables.items()
            if name in indexes
        )
        years = tables.get("person_years", [0.0] * 6)
        walk = list(self.records.items())
        return {
            "backends' CPU, ms": self.cpu * 1000 / n,
            "index entries written": entries,
            "person_years updates HOT, %": 100 * years[2] / years[1] if years[1] else 0.0,
            "foreign keys checked": sum(tables.get(tb, [0.0])[0] for tb, _, _ in self.fks),
            "row locks (Heap/LOCK)": sum(v[0] for (r, _), v in walk if r == "Heap/LOCK") / n,
            "WAL records": sum(v[0] for _, v in walk) / n,
            "WAL bytes (no FPI)": sum(v[1] - v[2] for _, v in walk) / n,
        }


def measure(args: argparse.Namespace, revision: str) -> Run:
    url, engine, committer, todo = prepare(args, revision)
    warm, todo = todo[: args.bills // 10], todo[args.bills // 10 :]
    settle_by(args, engine, committer, warm)  # caches filled, pages read
    # The backends report their statistics when they go idle only every ten seconds:
    # the warm-up's would be counted with the run. They report them as they exit.
    engine.dispose()
    # One connection for one thread (--batch): the pool would hand its connections out in
    # turn, and each prepares and plans the statements anew (PostgreSQL plans a prepared
    # statement for each of its first five runs: 1.3 ms for the batch's read).
    open_pool(engine, 1 if args.batch else 8)
    admin_engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as admin:
        # A checkpoint (of any database's work) may remove the WAL before it is read: a
        # temporary slot keeps it until this connection ends.
        admin.execute(
            text("SELECT pg_create_physical_replication_slot(:s, true, true)"),
            {"s": f"{NAME}_wal"},
        )
        before, cpu_before = snapshot(admin), backend_cpu(admin)
        started = time.perf_counter()
        with statement_cpu(args.statements) as spent:
            refused = settle_by(args, engine, committer, todo)
        elapsed = time.perf_counter() - started
        cpu_after = backend_cpu(admin)
        engine.dispose()  # the backends exit, and report their statistics
        time.sleep(1.0)
        after = snapshot(admin)
        records = wal(admin, before["lsn"], after["lsn"])
        fks = foreign_keys(admin)
    admin_engine.dispose()
    n = after["settled"] - before["settled"]
    stats = committer.stats
    per_batch = args.batch or stats.bills / max(stats.batches, 1)
    line = (
        f"schema {revision}: {n} settled ({dict(refused) or 'none refused'}) in "
        f"{elapsed:.1f} s; {per_batch:.1f} bills a batch; "
        f"{(after['commits'] - before['commits']) / n:.2f} commits a settlement"
    )
    cpu = sum(cpu_after[p] - cpu_before.get(p, 0.0) for p in cpu_after)
    return Run(revision, n, cpu, before, after, records, fks, line, spent)


def _kind(query: Any, *_params: Any) -> str:
    if query is READ_MANY:
        return "batch read"
    if query is WRITE_MANY:
        return "batch write"
    words = str(query).split()
    return " ".join(words[:2])[:30]


def _on_cpu(conn: psycopg.Connection[Any]) -> int:
    """The nanoseconds the connection's backend has run on a CPU (the scheduler's count:
    a backend waiting for its client, or a lock, does not run)."""
    with open(f"/proc/{conn.info.backend_pid}/schedstat") as stat:
        return int(stat.read().split()[0])


@contextmanager
def statement_cpu(on: bool) -> Iterator[Counter[str]]:
    """With `on`, each statement's share of its backend's CPU, by the statement's kind
    (the batch's read and write, the COMMIT, the others by their first words): the
    backend's schedstat read before and after every execute and commit in this process.
    "n <kind>" counts them. It tells what a statement costs the server apart from what
    a batch costs (run --batch 4 and --batch 32: a statement's fixed part and its part a
    bill), which the backends' CPU as a whole cannot."""
    spent = Counter[str]()
    if not on:
        yield spent
        return
    execute, commit = psycopg.Cursor.execute, psycopg.Connection.commit

    def timed(kind: Callable[..., str], call: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            conn = getattr(self, "connection", self)
            started = _on_cpu(conn)
            try:
                return call(self, *args, **kwargs)
            finally:
                name = kind(*args)
                spent[name] += _on_cpu(conn) - started
                spent[f"n {name}"] += 1

        return run

    # Instrumenting in place: mypy refuses a method assigned to (method-assign).
    psycopg.Cursor.execute = timed(_kind, execute)  # type: ignore[method-assign]
    psycopg.Connection.commit = timed(lambda: "COMMIT", commit)  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        psycopg.Connection.commit = commit  # type: ignore[method-assign]


def settle_by(
    args: argparse.Namespace, engine: Engine, committer: GroupCommitter, todo: list[Any]
) -> Counter[str]:
    """Settle `todo` from threads through the committer, or (--batch) in full batches."""
    if not args.batch:
        return settle(committer, todo, args.threads)
    return settle_batches(engine, committer.settlements, todo, args.batch)


def settle_batches(
    engine: Engine, service: SettlementService, todo: list[tuple[Bill, str]], size: int
) -> Counter[str]:
    """Each `size` bills as the committer's thread settles a full batch: in its one lock
    order, in one unit of work, committed (bench/settle_batch_cpu.py does the same); a
    bill behind another of its person-year then alone, as the committer settles it."""
    refused = Counter[str]()
    for first in range(0, len(todo), size):
        batch = sorted(todo[first : first + size], key=lambda bk: bill_order(bk[0]))
        with UnitOfWork(engine) as uow:
            answers = service.settle_batch(uow, batch)
            uow.commit()
        for (bill, key), answer in zip(batch, answers, strict=True):
            try:
                if answer is None:
                    service.settle(bill, key)
                elif isinstance(answer, Exception):
                    raise answer
            except ServiceError as exc:  # a rule's refusal is counted, not fatal
                refused[exc.code] += 1
    return refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=3000)
    parser.add_argument("--bills", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument(
        "--batch", type=int, default=0, metavar="N", help="one thread, full batches of N bills"
    )
    parser.add_argument(
        "--compare",
        metavar="REVISION",
        help="also measure the schema as of this migration, in turns with the newest, "
        "and print the two side by side (the same code, the same run)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="turns of each, with --compare")
    parser.add_argument(
        "--statements", action="store_true", help="the backends' CPU by statement (schedstat)"
    )
    args = parser.parse_args()
    if not args.compare:
        report(measure(args, "head"))
        return
    runs: dict[str, list[Run]] = {args.compare: [], "head": []}
    for _ in range(args.rounds):
        for revision, done in runs.items():
            done.append(measure(args, revision))
            print(done[-1].line, {k: round(v, 3) for k, v in done[-1].summary().items()})
    report(runs["head"][-1])
    Console(width=120).print(compared(runs))


def compared(runs: dict[str, list[Run]]) -> Table:
    table = Table(title="A settlement, by schema (the mean of the rounds)")
    table.add_column("")
    for revision in runs:
        table.add_column(revision, justify="right")
    means = {
        revision: {k: sum(r.summary()[k] for r in done) / len(done) for k in done[0].summary()}
        for revision, done in runs.items()
    }
    for key in next(iter(means.values())):
        table.add_row(
            key, *(f"{m[key]:.3f}" if "CPU" in key else f"{m[key]:.2f}" for m in means.values())
        )
    return table


def report(run: Run) -> None:
    n, before, after = run.n, run.before, run.after
    console = Console(width=120)
    console.print(run.line)
    console.print(f"PostgreSQL backends' CPU: {run.cpu * 1000 / n:.3f} ms a settlement")
    if run.statements:
        console.print(statements_table(n, run.statements))
    rows = Table(title="Rows and index entries a settlement")
    for column in (
        "table / index",
        "inserted",
        "updated",
        "HOT",
        "deleted",
        "idx scans",
        "seq scans",
        "rows",
    ):
        rows.add_column(column, justify="left" if column == "table / index" else "right")
    tables = run.tables()
    for name, (ins, upd, hot, dele, seq, seq_rows) in sorted(tables.items()):
        scans = {
            ix: (after["indexes"][(tb, ix)] - before["indexes"].get((tb, ix), 0)) / n
            for tb, ix in after["indexes"]
            if tb == name
        }
        if not (ins or upd or dele or seq or any(s >= 0.005 for s in scans.values())):
            continue
        rows.add_row(
            name, *(f"{v:.2f}" for v in (ins, upd, hot, dele)), "", f"{seq:.2f}", f"{seq_rows:.1f}"
        )
        for ix, scan in sorted(scans.items()):
            rows.add_row(f"  {ix}", f"{ins + upd - hot:.2f}", "", "", "", f"{scan:.2f}", "", "")
    console.print(rows)
    checks = Table(title="Foreign keys checked a settlement (one per row inserted)")
    for column in ("foreign key", "parent", "checks"):
        checks.add_column(column)
    for table, name, parent in run.fks:
        checks.add_row(name, parent, f"{tables.get(table, [0.0])[0]:.2f}")
    console.print(checks)
    console.print(wal_table(n, run.records))


def statements_table(n: int, spent: Counter[str]) -> Table:
    table = Table(title="The backends' CPU by statement (schedstat), a settlement")
    for column in ("statement", "statements", "CPU, us", "CPU a statement, us"):
        table.add_column(column, justify="left" if column == "statement" else "right")
    kinds = sorted((k for k in spent if not k.startswith("n ")), key=lambda k: -spent[k])
    for kind in kinds:
        count = spent[f"n {kind}"]
        table.add_row(
            kind,
            f"{count / n:.3f}",
            f"{spent[kind] / n / 1000:.1f}",
            f"{spent[kind] / count / 1000:.0f}",
        )
    total = sum(spent[k] for k in kinds)
    table.add_row("all", "", f"{total / n / 1000:.1f}", "")
    return table


def wal_table(n: int, records: dict[tuple[str, str], list[int]]) -> Table:
    table = Table(title="WAL a settlement (this database's records)")
    for column in ("record", "relation", "records", "bytes", "of which FPI"):
        table.add_column(column, justify="left" if column in ("record", "relation") else "right")
    total, rest = [0, 0, 0], [0, 0, 0]
    for (rtype, rel), (count, length, fpi) in sorted(records.items(), key=lambda kv: -kv[1][1]):
        total = [total[0] + count, total[1] + length, total[2] + fpi]
        if length < 4 * n:  # under 4 bytes a settlement: page splits, sequences, pruning
            rest = [rest[0] + count, rest[1] + length, rest[2] + fpi]
            continue
        table.add_row(rtype, rel, f"{count / n:.2f}", f"{length / n:.0f}", f"{fpi / n:.0f}")
    table.add_row("the rest", "", f"{rest[0] / n:.2f}", f"{rest[1] / n:.0f}", f"{rest[2] / n:.0f}")
    table.add_row("all", "", f"{total[0] / n:.2f}", f"{total[1] / n:.0f}", f"{total[2] / n:.0f}")
    return table


if __name__ == "__main__":
    main()
