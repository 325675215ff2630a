"""The batched group commit's two statements look each row up by its key (issue 18):
prepared, they run a generic plan after five runs, in which a JSON function counts for
100 rows; joined to it alone, a table of a few thousand person-years was hashed after a
sequential scan of all of it, for every batch. On PostgreSQL (the plans are its own)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from yibao.adapters.db.counter_pg_batch import READ_MANY, WRITE_MANY

PERSONS = 3000
# The tables a bill's row is looked up in, which grow with the persons and bills.
BIG = ("person_years", "persons", "cards", "enrolments", "idempotency_keys", "catalogue_items")


def generic_plan(conn: Connection, statement: str, types: str) -> str:
    """EXPLAIN of the plan a prepared statement runs after its fifth run."""
    conn.execute(text("SET plan_cache_mode = force_generic_plan"))
    conn.exec_driver_sql(f"PREPARE batch ({types}) AS {statement}")
    nulls = ", ".join("NULL" for _ in types.split(","))
    plan = conn.exec_driver_sql(f"EXPLAIN EXECUTE batch ({nulls})").scalars().all()
    conn.exec_driver_sql("DEALLOCATE batch")
    return "\n".join(plan)


def with_years(conn: Connection) -> None:
    """A region of PERSONS persons with a year each, counted by ANALYZE."""
    conn.execute(text("INSERT INTO regions VALUES ('plan', 'plan', 'plan', '000000')"))
    conn.execute(
        text(
            "INSERT INTO persons (id, id_number, name, birth_date, sex, region)"
            " SELECT 'P' || g, lpad(g::text, 18, '0'), 'p', '1980-01-01', 'F', 'plan'"
            " FROM generate_series(1, :n) g"
        ),
        {"n": PERSONS},
    )
    conn.execute(
        text(
            "INSERT INTO person_years SELECT 'P' || g, 2026, '{}', 0 FROM generate_series(1, :n) g"
        ),
        {"n": PERSONS},
    )
    conn.execute(text("ANALYZE persons, person_years"))


@pytest.mark.database
def test_the_batch_write_updates_each_year_by_its_key(pg_engine: Engine) -> None:
    with pg_engine.connect() as conn:  # rolled back: the rows were only for the planner
        with_years(conn)
        types = ["json"] * 7 + ["varchar[]", "text[]", "timestamptz"]
        plan = generic_plan(conn, WRITE_MANY, ", ".join(types))
    assert "Seq Scan on person_years" not in plan, plan
    assert "pk_person_years" in plan, plan


@pytest.mark.database
def test_the_batch_read_looks_each_bill_up_by_its_keys(pg_engine: Engine) -> None:
    with pg_engine.connect() as conn:  # rolled back: the rows were only for the planner
        with_years(conn)
        plan = generic_plan(conn, READ_MANY, "json")
    for table in BIG:
        assert f"Seq Scan on {table}" not in plan, plan
    assert "pk_person_years" in plan, plan
    assert "pk_idempotency_keys" in plan, plan


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from plan_nodes(child)


@pytest.mark.database
def test_the_batch_read_does_per_batch_work_once(pg_engine: Engine) -> None:
    """Run on 20 bills: the locked years are read once (a CTE has no index: joined to the
    bills, inside each bill's subquery or by a nested loop, it was scanned whole for every
    bill), each bill's card is probed once, and the settlements' sequence is found once
    (pg_get_serial_sequence reads the catalogue)."""
    bills = [
        {"n": n, "card": f"C{n}", "year": 2026, "codes": [], "caller": "c", "key": str(n)}
        for n in range(20)
    ]
    with pg_engine.connect() as conn:  # rolled back: the rows were only for the planner
        with_years(conn)
        explained = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) "
            + READ_MANY.replace("$1::json", "%(bills)s::json"),
            {"bills": json.dumps(bills)},
        ).scalar_one()
    nodes = list(plan_nodes(explained[0]["Plan"]))
    years = [n for n in nodes if n.get("CTE Name") == "year"]
    assert [n["Actual Loops"] for n in years] == [1], years
    sequence = [n for n in nodes if "pg_get_serial_sequence" in str(n.get("Output"))]
    assert [n["Actual Loops"] for n in sequence] == [1], sequence
    cards = [n for n in nodes if n.get("Relation Name") == "cards"]
    assert sum(n["Actual Loops"] for n in cards) == 20, cards
    assert explained[0]["Plan"]["Actual Rows"] == 20
