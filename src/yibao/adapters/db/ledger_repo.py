"""The ledger's repositories: person-years, settlements and the fund ledger (with the
idempotency keys' answers), claims, settlement history and the year's batch payments."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from yibao.adapters.db import ledger_sql as raw
from yibao.adapters.db import tables as t
from yibao.adapters.db.errors import refused_as_duplicate
from yibao.adapters.db.prepared import Driver
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.money import ZERO, from_fen
from yibao.service.ports import now
from yibao.service.ports.records import SettlementRecord, explanation_text

_INSERT_SETTLEMENT = insert(t.settlements).returning(t.settlements.c.id)
_INSERT_LINES = insert(t.settlement_lines)
_INSERT_LEDGER = insert(t.fund_ledger)
_SAVE_YEAR = (
    update(t.person_years)
    .where(t.person_years.c.person_id == bindparam("pid"), t.person_years.c.year == bindparam("yr"))
    .values(state=bindparam("state"), settled=bindparam("settled"))
)


def _lock_year_statement(dialect_name: str) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = t.person_years
    return (
        dialect.insert(table)
        .on_conflict_do_update(
            index_elements=[table.c.person_id, table.c.year], set_={"settled": table.c.settled}
        )
        .returning(table.c.state, table.c.settled)
    )


_LOCK_YEAR = {name: _lock_year_statement(name) for name in ("postgresql", "sqlite")}


def year_state(acc: YearAccumulators) -> str:
    """A person-year's accumulators as person_years.state holds them (JSON, exact decimal
    strings): the one way every writer of that column makes it.

    Every settlement writes one: the text orjson makes of to_dict() is written directly
    for a year with at most one threshold counter and none of the later rules' counters
    (most years), without the dict, the encoder and the decode (some 3,000 instructions
    a bill). An amount's text is its str() (digits, a sign, a point, an exponent: nothing
    to escape) as to_dict's, "0" for the engine's ZERO; the counter's name as orjson
    writes it (kept). tests/unit/test_written_state.py holds the two to the same text."""
    thresholds = acc.thresholds
    if acc.cause_paid or acc.stays or acc.si_groups or len(thresholds) > 1:
        return orjson.dumps(acc.to_dict()).decode()
    counters = "{}"
    if thresholds:
        ((name, amount),) = thresholds.items()
        counters = f'{{{_json_key(name)}:"{amount!s}"}}'
    pooled, inpatient, outpatient = (
        acc.pooled_cost,
        acc.inpatient_fund_paid,
        acc.outpatient_fund_paid,
    )
    on_eligible, personal = acc.personal_on_eligible, acc.personal
    return (
        f'{{"year":{int.__repr__(acc.year)},'
        f'"pooled_cost":"{"0" if pooled is ZERO else str(pooled)}",'
        f'"inpatient_fund_paid":"{"0" if inpatient is ZERO else str(inpatient)}",'
        f'"outpatient_fund_paid":"{"0" if outpatient is ZERO else str(outpatient)}",'
        f'"thresholds":{counters},'
        f'"personal_on_eligible":"{"0" if on_eligible is ZERO else str(on_eligible)}",'
        f'"personal":"{"0" if personal is ZERO else str(personal)}"}}'
    )


@lru_cache(maxsize=1024)  # counters' names come from policies: a bounded memory
def _json_key(name: str) -> str:
    """A threshold counter's name as JSON (orjson's text of it)."""
    return orjson.dumps(name).decode()


class Ledger:
    """Person-years, settlements, the fund ledger and idempotency keys."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # PostgreSQL: a settlement by id as a prepared statement (ledger_sql.py).
        self.pg = Driver(conn) if conn.dialect.name == "postgresql" else None

    def lock_person_year(self, person_id: str, year: int) -> tuple[YearAccumulators, int]:
        """The year's accumulators and the number of settlements so far, locked until the
        transaction ends. One statement: insert the year if it is new, otherwise a no-op
        update, which takes the row lock on PostgreSQL (SQLite's write lock is already
        held) and returns the row as the last committed transaction left it."""
        empty = year_state(YearAccumulators(year=year))
        params = {"person_id": person_id, "year": year, "state": empty, "settled": 0}
        row = self.conn.execute(_LOCK_YEAR[self.conn.dialect.name], params).one()
        return YearAccumulators.from_dict(json.loads(row.state)), int(row.settled)

    def read_person_year(self, person_id: str, year: int) -> YearAccumulators:
        c = t.person_years.c
        row = self.conn.execute(
            select(c.state).where(c.person_id == person_id, c.year == year)
        ).first()
        return (
            YearAccumulators(year=year)
            if row is None
            else YearAccumulators.from_dict(json.loads(row.state))
        )

    def save_person_year(self, person_id: str, acc: YearAccumulators, settled: int) -> None:
        params = {
            "pid": person_id,
            "yr": acc.year,
            "state": year_state(acc),
            "settled": settled,
        }
        self.conn.execute(_SAVE_YEAR, params)

    def book(self, record: SettlementRecord) -> int:
        """Write a settled encounter (row, lines, accumulators, ledger entries); its id."""
        sid = self.add_settlement(explanation_text(record.values), record.lines)
        self.save_person_year(record.person_id, record.year, record.settled)
        self.add_ledger_entries([{**e, "settlement_id": sid} for e in record.ledger])
        return sid

    def add_settlement(self, values: dict[str, Any], lines: list[dict[str, Any]]) -> int:
        settlement_id = self.conn.execute(_INSERT_SETTLEMENT, values).scalar_one()
        if lines:
            self.conn.execute(
                _INSERT_LINES, [{"settlement_id": settlement_id, **ln} for ln in lines]
            )
        return int(settlement_id)

    def add_ledger_entries(self, entries: list[dict[str, Any]]) -> None:
        if entries:
            stamp = now()
            self.conn.execute(_INSERT_LEDGER, [{"created_at": stamp, **e} for e in entries])

    def settlements_of(self, person_id: str, year: int) -> list[Any]:
        c = t.settlements.c
        return list(
            self.conn.execute(
                select(t.settlements)
                .where(c.person_id == person_id, c.year == year)
                .order_by(c.seq)
            )
        )

    def settlement(self, settlement_id: int) -> Any | None:
        if self.pg is not None:
            row = self.pg.one(raw.SETTLEMENT, (settlement_id,))
            return None if row is None else raw.Settlement._make(row)
        return self.conn.execute(
            select(t.settlements).where(t.settlements.c.id == settlement_id)
        ).first()

    def ledger_sum(self, **where: Any) -> Decimal:
        cond = and_(*(getattr(t.fund_ledger.c, k) == v for k, v in where.items()))
        total = self.conn.execute(
            select(func.coalesce(func.sum(t.fund_ledger.c.amount_fen), 0)).where(cond)
        ).scalar_one()
        return from_fen(int(total))

    def statement(self, institution_id: str, month: str) -> list[Any]:
        c = t.fund_ledger.c
        return list(
            self.conn.execute(
                select(c.scheme, c.layer, func.sum(c.amount_fen).label("fen"))
                .where(c.institution_id == institution_id, c.month == month)
                .group_by(c.scheme, c.layer)
                .order_by(c.scheme, c.layer)
            )
        )

    # --- idempotency ------------------------------------------------------------------

    def idempotent_answer(self, caller: str, key: str) -> tuple[str, int, str] | None:
        c = t.idempotency_keys.c
        row = self.conn.execute(
            select(c.request_hash, c.status_code, c.response).where(
                c.caller == caller, c.key == key
            )
        ).first()
        return None if row is None else (row.request_hash, row.status_code, row.response)

    def remember_answer(
        self, caller: str, key: str, request_hash: str, status_code: int, response: str
    ) -> None:
        """DuplicateError when the caller's key is taken."""
        with refused_as_duplicate():
            self.conn.execute(
                insert(t.idempotency_keys).values(
                    caller=caller,
                    key=key,
                    request_hash=request_hash,
                    status_code=status_code,
                    response=response,
                    created_at=now(),
                )
            )


class Claims:
    """Manual reimbursement claims."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, values: dict[str, Any]) -> int:
        claim_id = self.conn.execute(
            insert(t.claims).values(**values).returning(t.claims.c.id)
        ).scalar_one()
        return int(claim_id)

    def get(self, claim_id: int, *, lock: bool = False) -> Any | None:
        query = select(t.claims).where(t.claims.c.id == claim_id)
        if lock:
            query = query.with_for_update()
        return self.conn.execute(query).first()

    def update(self, claim_id: int, **values: Any) -> None:
        self.conn.execute(update(t.claims).where(t.claims.c.id == claim_id).values(**values))

    def by_status(self, status: str | None, limit: int = 200) -> list[Any]:
        query = select(t.claims).order_by(t.claims.c.submitted_at, t.claims.c.id).limit(limit)
        if status is not None:
            query = query.where(t.claims.c.status == status)
        return list(self.conn.execute(query))


class History:
    """A person-year's stored settlements, with their lines and latest adjustments."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # PostgreSQL: the latest adjustments as a prepared statement (ledger_sql.py).
        self.pg = Driver(conn) if conn.dialect.name == "postgresql" else None

    def settlements(self, person_id: str, year: int) -> list[Any]:
        c = t.settlements.c
        return list(
            self.conn.execute(
                select(t.settlements)
                .where(c.person_id == person_id, c.year == year)
                .order_by(c.seq)
            )
        )

    def lines(self, settlement_ids: Sequence[int]) -> dict[int, list[Any]]:
        if not settlement_ids:
            return {}
        c = t.settlement_lines.c
        out: dict[int, list[Any]] = {}
        rows = self.conn.execute(
            select(t.settlement_lines)
            .where(c.settlement_id.in_(settlement_ids))
            .order_by(c.settlement_id, c.line_no)
        )
        for row in rows:
            out.setdefault(row.settlement_id, []).append(row)
        return out

    def latest_adjustments(self, settlement_ids: Sequence[int]) -> dict[int, Any]:
        if not settlement_ids:
            return {}
        out: dict[int, Any] = {}
        if self.pg is not None:
            for found in self.pg.all(raw.ADJUSTMENTS, (list(settlement_ids),)):
                adjustment: Any = raw.Adjustment._make(found)
                out[adjustment.settlement_id] = adjustment  # the last one wins
            return out
        c = t.adjustments.c
        for row in self.conn.execute(
            select(t.adjustments).where(c.settlement_id.in_(settlement_ids)).order_by(c.id)
        ):
            out[row.settlement_id] = row  # the last one wins
        return out

    def add_reversal(self, settlement_id: int, reason: str) -> int:
        rid = self.conn.execute(
            insert(t.reversals)
            .values(settlement_id=settlement_id, reason=reason, created_at=now())
            .returning(t.reversals.c.id)
        ).scalar_one()
        self.conn.execute(
            update(t.settlements)
            .where(t.settlements.c.id == settlement_id)
            .values(status="reversed")
        )
        return int(rid)

    def add_adjustment(self, values: dict[str, Any]) -> int:
        aid = self.conn.execute(
            insert(t.adjustments).values(created_at=now(), **values).returning(t.adjustments.c.id)
        ).scalar_one()
        return int(aid)

    def ledger_by_settlement(self, settlement_ids: Sequence[int]) -> dict[tuple[int, str], int]:
        if not settlement_ids:
            return {}
        c = t.fund_ledger.c
        rows = self.conn.execute(
            select(c.settlement_id, c.layer, func.sum(c.amount_fen))
            .where(c.settlement_id.in_(settlement_ids))
            .group_by(c.settlement_id, c.layer)
        )
        return {(int(r[0]), str(r[1])): int(r[2]) for r in rows}

    def person_years(
        self, year: int, region: str | None = None, after: str = "", limit: int = 1000
    ) -> list[str]:
        """Person ids with a stored year, in id order, after `after` (for chunked runs)."""
        c = t.person_years.c
        query = (
            select(c.person_id)
            .where(c.year == year, c.person_id > after)
            .order_by(c.person_id)
            .limit(limit)
        )
        if region is not None:
            query = query.join(t.persons, t.persons.c.id == c.person_id).where(
                t.persons.c.region == region
            )
        return [str(r[0]) for r in self.conn.execute(query)]

    def years(self) -> list[int]:
        c = t.person_years.c
        return [int(r[0]) for r in self.conn.execute(select(c.year).distinct().order_by(c.year))]

    def count_person_years(self, year: int, region: str | None = None) -> int:
        c = t.person_years.c
        query = select(func.count()).select_from(t.person_years).where(c.year == year)
        if region is not None:
            query = query.join(t.persons, t.persons.c.id == c.person_id).where(
                t.persons.c.region == region
            )
        return int(self.conn.execute(query).scalar_one())


class Yearly:
    """The yearly serious-illness layer's stored payments."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, person_id: str, year: int) -> Any | None:
        c = t.serious_illness_payments.c
        return self.conn.execute(
            select(t.serious_illness_payments).where(c.person_id == person_id, c.year == year)
        ).first()

    def put(self, values: dict[str, Any]) -> None:
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(t.serious_illness_payments).values(updated_at=now(), **values)
        keep = {
            k: stmt.excluded[k]
            for k in ("base_fen", "payment_fen", "explanation", "updated_at", "scheme")
        }
        self.conn.execute(
            stmt.on_conflict_do_update(index_elements=["person_id", "year"], set_=keep)
        )
