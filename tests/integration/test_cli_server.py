"""The database commands of the real `yibao` console script, run in a subprocess: db
upgrade, demo load, settle-year, verify, and a bad --database URL. Each test gets a
database of its own, empty (not even migrated): an SQLite file, or a PostgreSQL
database created for it and dropped after."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import and_, create_engine, exists, func, inspect, select, text, update
from sqlalchemy.engine import Engine, make_url

from yibao.adapters.db import tables as t
from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.migrate import upgrade
from yibao.adapters.db.schema import metadata
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import policy_source
from yibao.domain.model import Kind
from yibao.domain.money import fmt, from_fen
from yibao.service.demo import load_demo
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine

YIBAO = Path(sys.executable).parent / "yibao"
ADMIN_URL = os.environ.get(
    "YIBAO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REGION = "sample-city"
YEAR = 2026
PERSONS = 200

SETTLE_YEAR = re.compile(
    r"^(\d+) person-years; (\d+) changed; booked (-?[\d.]+) now; "
    r"the year's serious-illness payments stand at (-?[\d.]+)$"
)
VERIFY = re.compile(r"^(\d+) person-years, (\d+) settlements, (\d+) problems$")


# --- running the command --------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def lines(self) -> list[str]:
        """stdout without blank lines (the progress bar leaves one when not a terminal)."""
        return [line for line in self.out.splitlines() if line.strip()]

    def show(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def yibao(cwd: Path, *args: str) -> Ran:
    """Run the console script; the working directory is the test's, so a default
    database (var/yibao.sqlite3) could never land in the project."""
    env = {k: v for k, v in os.environ.items() if k != "YIBAO_DATABASE_URL"}
    env["COLUMNS"] = "200"
    done = subprocess.run(
        [str(YIBAO), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def assert_no_traceback(ran: Ran) -> None:
    both = ran.out + ran.err
    assert "Traceback" not in both, ran.show()
    assert not re.search(r"^\w*(Error|Exception):", both, re.MULTILINE), ran.show()


# --- a database of its own --------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: no schema yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.sqlite3'}"
        return
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"yibao_cli_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - the message is the point
        admin.dispose()
        pytest.fail(f"PostgreSQL at {ADMIN_URL} is needed for the database tests: {exc}")
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def db(url: str) -> Iterator[Engine]:
    """An engine on the test's database, for looking at (and into) it in-process."""
    engine = make_engine(url)
    yield engine
    engine.dispose()


# --- settled bills, in-process ------------------------------------------------------------


@dataclass(frozen=True)
class Settled:
    person_id: str
    scheme: str
    settlement_id: int


def load_and_settle(engine: Engine) -> list[Settled]:
    """The demo region, then a large inpatient bill for three residents or students (each
    above the serious-illness deductible) and an outpatient bill for an employee."""
    policies = policy_source()
    upgrade(engine)
    load_demo(lambda: UnitOfWork(engine), policies, region=REGION, persons=PERSONS, year=YEAR)
    services = Services.build(lambda: UnitOfWork(engine), policies)
    i, c, e = t.institutions.c, t.catalogue_items.c, t.enrolments.c
    with engine.connect() as conn:
        hospital = conn.execute(
            select(i.id)
            .where(i.region == REGION, i.level == 3, i.kind == "hospital", i.designated)
            .order_by(i.id)
            .limit(1)
        ).scalar_one()
        drug = conn.execute(  # an A-class drug without a fixed price
            select(c.code)
            .where(c.region == REGION, c.cls == "A", c.unit_price_fen.is_(None))
            .order_by(c.code)
            .limit(1)
        ).scalar_one()
        plain = and_(
            ~exists().where(t.approvals.c.person_id == t.cards.c.person_id),
            ~exists().where(t.filings.c.person_id == t.cards.c.person_id),
        )
        holders = conn.execute(
            select(t.cards.c.number, t.cards.c.person_id, e.scheme)
            .join(t.enrolments, and_(e.person_id == t.cards.c.person_id, e.year == YEAR))
            .join(t.persons, t.persons.c.id == t.cards.c.person_id)
            .where(t.cards.c.status == "active", e.status == "active", plain)
            .where(t.persons.c.region == REGION)  # not the neighbouring demo region's
            .order_by(t.cards.c.person_id)
        ).all()
    residents = [h for h in holders if h.scheme in ("resident", "student")][:3]
    employee = next(h for h in holders if h.scheme == "employee")
    assert len(residents) == 3

    settled: list[Settled] = []
    for n, h in enumerate(residents):
        price = Decimal("300000.00") + 10000 * n
        bill = Bill(
            hospital,
            h.number,
            Kind.INPATIENT,
            date(YEAR, 3, 2 + n),
            (BillLine(drug, Decimal(1), price),),
        )
        status, view = services.settlements.settle(bill)
        assert status == 201, view
        assert view["refused"] is None, view
        settled.append(Settled(h.person_id, h.scheme, int(view["id"])))
    bill = Bill(
        hospital,
        employee.number,
        Kind.OUTPATIENT,
        date(YEAR, 4, 1),
        (BillLine(drug, Decimal(2), Decimal("180.00")),),
    )
    status, view = services.settlements.settle(bill)
    assert status == 201, view
    assert view["refused"] is None, view
    settled.append(Settled(employee.person_id, employee.scheme, int(view["id"])))
    return settled


def serious_illness_ledger(engine: Engine) -> Decimal:
    c = t.fund_ledger.c
    with engine.connect() as conn:
        fen = conn.execute(
            select(func.coalesce(func.sum(c.amount_fen), 0)).where(c.layer == "serious_illness")
        ).scalar_one()
    return from_fen(int(fen))


# --- the tests ------------------------------------------------------------------------------


def test_db_upgrade_creates_the_schema_and_can_run_again(
    url: str, db: Engine, tmp_path: Path
) -> None:
    assert not set(inspect(db).get_table_names()) & set(metadata.tables)
    for _ in range(2):
        ran = yibao(tmp_path, "db", "upgrade", "--database", url)
        assert ran.code == 0, ran.show()
        assert "newest schema" in ran.out, ran.show()
        assert_no_traceback(ran)
        db.dispose()  # look again, not through a cached connection
        tables = set(inspect(db).get_table_names())
        assert set(metadata.tables) <= tables, sorted(set(metadata.tables) - tables)
        assert "alembic_version" in tables
    with db.connect() as conn:  # an empty schema: nothing but the tables
        assert conn.execute(select(func.count()).select_from(t.persons)).scalar_one() == 0


def test_demo_load_fills_the_region_once_and_then_refuses(
    url: str, db: Engine, tmp_path: Path
) -> None:
    ran = yibao(tmp_path, "demo", "load", "--database", url, "--persons", str(PERSONS))
    assert ran.code == 0, ran.show()
    assert_no_traceback(ran)
    summary = ran.lines()
    assert summary[0].startswith(f"demo region {REGION} 2026"), ran.show()
    assert f"{PERSONS} persons" in summary[0], ran.show()
    assert summary[1].startswith("sign in (POST /v1/auth/tokens) as clerk"), ran.show()
    assert summary[1].endswith("try these cards:"), ran.show()
    assert len(summary) >= 4, ran.show()  # sample cards to try, one a line
    with db.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(t.persons).where(t.persons.c.region == REGION)
            ).scalar_one()
            == PERSONS
        )

    again = yibao(tmp_path, "demo", "load", "--database", url, "--persons", str(PERSONS))
    assert again.code == 2, again.show()
    assert_no_traceback(again)
    errors = [line for line in again.err.splitlines() if line.strip()]
    assert len(errors) == 1, again.show()
    assert errors[0].startswith("error: "), again.show()
    assert REGION in errors[0] or "demo_exists" in errors[0], again.show()
    assert "demo region" not in again.out, again.show()
    with db.connect() as conn:  # nothing added the second time
        assert (
            conn.execute(
                select(func.count()).select_from(t.persons).where(t.persons.c.region == REGION)
            ).scalar_one()
            == PERSONS
        )


def test_settle_year_books_the_layer_once(url: str, db: Engine, tmp_path: Path) -> None:
    settled = load_and_settle(db)
    args = ("settle-year", "--region", REGION, "--year", str(YEAR), "--database", url)

    first = yibao(tmp_path, *args)
    assert first.code == 0, first.show()
    assert_no_traceback(first)
    found = SETTLE_YEAR.match(first.lines()[-1])
    assert found is not None, first.show()
    persons, changed, booked, total = found.groups()
    # Each settled person has a year; each gets a stored payment the first time (0 for
    # the employee, who is outside the layer).
    assert (int(persons), int(changed)) == (len(settled), len(settled)), first.show()
    assert Decimal(booked) == Decimal(total) > 0, first.show()
    assert serious_illness_ledger(db) == Decimal(booked)
    c = t.serious_illness_payments.c
    with db.connect() as conn:
        paid = dict(conn.execute(select(c.person_id, c.payment_fen).where(c.year == YEAR)).all())
    assert paid.keys() == {s.person_id for s in settled}
    assert sum(from_fen(int(v)) for v in paid.values()) == Decimal(total)
    for s in settled:
        if s.scheme == "employee":
            assert paid[s.person_id] == 0
        else:
            assert paid[s.person_id] > 0, s

    second = yibao(tmp_path, *args)
    assert second.code == 0, second.show()
    found = SETTLE_YEAR.match(second.lines()[-1])
    assert found is not None, second.show()
    assert found.groups() == (persons, "0", "0.00", total), second.show()
    assert serious_illness_ledger(db) == Decimal(total)

    check = yibao(tmp_path, "verify", "--database", url)
    assert check.code == 0, check.show()
    assert (
        check.lines()[-1] == f"{len(settled)} person-years, {len(settled)} settlements, 0 problems"
    )


def test_verify_finds_a_corrupted_ledger_and_year(url: str, db: Engine, tmp_path: Path) -> None:
    settled = load_and_settle(db)
    clean = yibao(tmp_path, "verify", "--database", url)
    assert clean.code == 0, clean.show()
    assert_no_traceback(clean)
    assert clean.lines() == [f"{len(settled)} person-years, {len(settled)} settlements, 0 problems"]

    # One ledger row of a settlement moved by 123.45.
    victim = settled[0]
    ledger = t.fund_ledger.c
    with db.begin() as conn:
        row = conn.execute(
            select(ledger.id, ledger.amount_fen).where(
                ledger.settlement_id == victim.settlement_id, ledger.layer == "basic"
            )
        ).one()
        conn.execute(
            update(t.fund_ledger)
            .where(ledger.id == row.id)
            .values(amount_fen=row.amount_fen + 12345)
        )
    broken = yibao(tmp_path, "verify", "--database", url)
    assert broken.code == 1, broken.show()
    assert_no_traceback(broken)
    lines = broken.lines()
    want = (
        f"{victim.person_id} {YEAR}: settlement {victim.settlement_id} basic: ledger holds "
        f"{fmt(from_fen(row.amount_fen + 12345))}, settlement says {fmt(from_fen(row.amount_fen))}"
    )
    assert lines == [want, f"{len(settled)} person-years, {len(settled)} settlements, 1 problems"]

    # And one person-year's accumulators: a stored personal payment 1.00 too high.
    other = settled[-1]
    years = t.person_years.c
    with db.begin() as conn:
        state = json.loads(
            conn.execute(
                select(years.state).where(years.person_id == other.person_id, years.year == YEAR)
            ).scalar_one()
        )
        state["personal"] = str(Decimal(state["personal"]) + 1)
        conn.execute(
            update(t.person_years)
            .where(years.person_id == other.person_id, years.year == YEAR)
            .values(state=json.dumps(state))
        )
    worse = yibao(tmp_path, "verify", "--year", str(YEAR), "--region", REGION, "--database", url)
    assert worse.code == 1, worse.show()
    assert_no_traceback(worse)
    lines = worse.lines()
    assert lines[0] == want, worse.show()
    assert lines[1].startswith(f"{other.person_id} {YEAR}: stored accumulators "), worse.show()
    assert "differ from" in lines[1], worse.show()
    assert lines[2:] == [f"{len(settled)} person-years, {len(settled)} settlements, 2 problems"]


BAD_URLS = {
    "unknown dialect": "notadb://x",
    "not a URL": "not a database url",
    "unreachable server": "postgresql+psycopg://nobody@127.0.0.1:1/nothing",
}
COMMANDS = {
    "db upgrade": ("db", "upgrade"),
    "demo load": ("demo", "load", "--persons", "1"),
    "settle-year": ("settle-year", "--region", REGION, "--year", str(YEAR)),
    "verify": ("verify",),
}


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_an_unknown_database_dialect_is_one_error_line(command: str, tmp_path: Path) -> None:
    ran = yibao(tmp_path, *COMMANDS[command], "--database", BAD_URLS["unknown dialect"])
    assert ran.code != 0, ran.show()
    assert_no_traceback(ran)
    assert any(line.startswith("error: ") for line in ran.err.splitlines()), ran.show()
    assert not list(tmp_path.iterdir()), "no default database is created"


@pytest.mark.parametrize("kind", ["not a URL", "unreachable server"])
def test_a_bad_database_url_is_one_error_line(kind: str, tmp_path: Path) -> None:
    ran = yibao(tmp_path, "verify", "--database", BAD_URLS[kind])
    assert ran.code != 0, ran.show()
    assert_no_traceback(ran)
    assert any(line.startswith("error: ") for line in ran.err.splitlines()), ran.show()
