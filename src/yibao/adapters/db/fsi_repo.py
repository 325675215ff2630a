"""The national interface's records (yibao.service.ports.interface.InterfaceRecords) on
the database: its own tables (tables_fsi.py), and the few registry reads the service
layer does not offer (a region's division code and back). It works on the unit of work's
connection, so that a message's changes and its stored answer commit together.

On PostgreSQL the statements every message sends (its first answer and sign-in, its
stored answer), those of the outpatient day's messages (the visit, its lines, the
settlement) and of the day's start and end (sign-in and out, reconciliation, its files)
go to the driver as prepared statements with fixed SQL (fsi_sql.py), as the
card counter's do (counter_pg.py): built, compiled and read through SQLAlchemy they cost
the server about twice the CPU of the driver's own work. Elsewhere (SQLite) SQLAlchemy
sends them."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, literal, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from yibao.adapters.db import fsi_sql as raw
from yibao.adapters.db import tables as t
from yibao.adapters.db import tables_fsi as f
from yibao.adapters.db.fsi_institutions import cache_of
from yibao.adapters.db.repositories import Registry
from yibao.service.ports.interface import Opening


def now() -> datetime:
    return datetime.now(UTC)


# By database (its engine), region → the region's division code (医保区划), as found:
# FsiStore.admdvs.
_ADMDVS: weakref.WeakKeyDictionary[Engine, dict[str, str]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Message:
    """A message answered before (fsi_messages): what `message` reads."""

    infno: str
    request_hash: str
    response: str


@dataclass(frozen=True)
class SignIn:
    """A sign-in (fsi_sign_ins), its columns in the table's order."""

    sign_no: str
    fixmedins_code: str
    opter: str
    signed_at: datetime
    signed_out_at: datetime | None


class FsiStore:
    def __init__(self, conn: Connection, registry: Registry | None = None) -> None:
        self.conn = conn
        # The unit of work's registry, told the message's institution as the process
        # keeps it (fsi_institutions.py), so that the desk's reads of it read nothing.
        self.registry = registry
        # PostgreSQL: the driver's prepared statements (fsi_sql.py); elsewhere SQLAlchemy.
        self.pg = raw.Driver(conn) if conn.dialect.name == "postgresql" else None

    # --- registry reads ------------------------------------------------------------

    def admdvs(self, region: str) -> str:
        # A region is never changed once added (Registry.add_region inserts or leaves it):
        # its division code, once found, is kept for the process (by database).
        engine = self.conn.engine
        known = _ADMDVS.get(engine)
        if known is None:
            known = _ADMDVS.setdefault(engine, {})
        found = known.get(region)
        if found is None:
            row = self.conn.execute(
                select(t.regions.c.admdvs).where(t.regions.c.code == region)
            ).first()
            if row is None:
                return ""
            found = known[region] = str(row.admdvs)
        return found

    def region_of(self, admdvs: str) -> str | None:
        """The region whose division code (医保区划) this is."""
        row = self.conn.execute(
            select(t.regions.c.code).where(t.regions.c.admdvs == admdvs).limit(1)
        ).first()
        return None if row is None else str(row.code)

    # --- sign-ins and messages -----------------------------------------------------

    def add_sign_in(self, sign_no: str, fixmedins_code: str, opter: str) -> None:
        if self.pg is not None:
            values = {"sign_no": sign_no, "fixmedins_code": fixmedins_code, "opter": opter}
            self.pg.insert(f.fsi_sign_ins, {**values, "signed_at": now()})
            return
        self.conn.execute(
            insert(f.fsi_sign_ins).values(
                sign_no=sign_no, fixmedins_code=fixmedins_code, opter=opter, signed_at=now()
            )
        )

    def sign_in(self, sign_no: str) -> Any | None:
        if self.pg is not None:
            row = self.pg.one(raw.SIGN_IN, (sign_no,))
            return None if row is None else SignIn(*row)
        return self.conn.execute(
            select(f.fsi_sign_ins).where(f.fsi_sign_ins.c.sign_no == sign_no)
        ).first()

    def current_sign_in(self, fixmedins_code: str) -> Any | None:
        """The institution's latest sign-in that is not signed out."""
        c = f.fsi_sign_ins.c
        return self.conn.execute(
            select(f.fsi_sign_ins)
            .where(c.fixmedins_code == fixmedins_code, c.signed_out_at.is_(None))
            .order_by(c.signed_at.desc())
            .limit(1)
        ).first()

    def sign_out(self, sign_no: str) -> None:
        if self.pg is not None:
            self.pg.run(raw.SIGN_OUT, (sign_no, now()))
            return
        self.conn.execute(
            update(f.fsi_sign_ins)
            .where(f.fsi_sign_ins.c.sign_no == sign_no)
            .values(signed_out_at=now())
        )

    def message(self, fixmedins_code: str, msgid: str) -> Any | None:
        if self.pg is not None:
            row = self.pg.one(raw.MESSAGE, (fixmedins_code, msgid))
            return None if row is None else Message(*row)
        c = f.fsi_messages.c
        return self.conn.execute(
            select(c.infno, c.request_hash, c.response).where(
                c.fixmedins_code == fixmedins_code, c.msgid == msgid
            )
        ).first()

    def envelope(
        self, fixmedins_code: str, msgid: str, sign_no: str | None
    ) -> tuple[Any | None, Any | None]:
        """`message` and the sign-in a message runs under (`sign_in(sign_no)`, or with
        None `current_sign_in`) in one statement: two round trips of every message are
        one."""
        if self.pg is not None:
            if sign_no is None:
                found = self.pg.one(raw.ENVELOPE_CURRENT, (fixmedins_code, msgid))
            else:
                found = self.pg.one(raw.ENVELOPE, (fixmedins_code, msgid, sign_no))
            assert found is not None  # FROM (SELECT 1): always one row
            return (
                None if found[0] is None else Message(*found[:3]),
                None if found[3] is None else SignIn(*found[3:]),
            )
        m, s = f.fsi_messages, f.fsi_sign_ins
        if sign_no is None:
            current = (
                select(s.c.sign_no)
                .where(s.c.fixmedins_code == fixmedins_code, s.c.signed_out_at.is_(None))
                .order_by(s.c.signed_at.desc())
                .limit(1)
                .scalar_subquery()
            )
            which = s.c.sign_no == current
        else:
            which = s.c.sign_no == sign_no
        one = select(literal(1).label("one")).subquery()
        row = self.conn.execute(
            select(m.c.infno, m.c.request_hash, m.c.response, *s.c).select_from(
                one.outerjoin(
                    m, and_(m.c.fixmedins_code == fixmedins_code, m.c.msgid == msgid)
                ).outerjoin(s, which)
            )
        ).one()
        message = None if row.infno is None else Message(row.infno, row.request_hash, row.response)
        signed = None if row.sign_no is None else SignIn(*row[3:])
        return message, signed

    def opening(
        self,
        fixmedins_code: str,
        msgid: str,
        sign_no: str | None,
        nonce: tuple[str, str, datetime] | None,
    ) -> Opening:
        """`envelope`, and the x-tif nonce recorded as seen in this transaction (guards_repo
        records it apart for a message that has none, or whose transaction rolled back):
        on PostgreSQL in the envelope's statement, elsewhere in one of its own."""
        if self.pg is not None:
            sql = raw.OPENING[sign_no is None, nonce is not None]
            params: tuple[Any, ...] = (fixmedins_code, msgid)
            if sign_no is not None:
                params += (sign_no,)
            if nonce is not None:
                params += nonce
            found = self.pg.one(sql, params)
            assert found is not None  # FROM (SELECT 1): always one row
            generation = found[8]
            if generation is not None and self.registry is not None:
                self._institution(fixmedins_code, generation, self.registry)
            return Opening(
                None if found[0] is None else Message(*found[:3]),
                None if found[3] is None else SignIn(*found[3:8]),
                nonce is None or found[9] == 1,
                generation,
            )
        fresh = True
        if nonce is not None:
            paasid, value, seen_at = nonce
            added = self.conn.execute(
                sqlite_insert(t.fsi_nonces)
                .values(paasid=paasid, nonce=value, seen_at=seen_at)
                .on_conflict_do_nothing()
                .returning(t.fsi_nonces.c.paasid)
            )
            fresh = added.first() is not None
        message, signed = self.envelope(fixmedins_code, msgid, sign_no)
        return Opening(message, signed, fresh, None)

    def _institution(self, code: str, generation: int, registry: Registry) -> None:
        """The message's institution as of `generation`, read by this transaction, from
        the process's cache (or read once and kept there), told to the registry."""
        found = cache_of(self.conn.engine).institution(code, generation, registry.institution)
        if found is not None:
            registry.seen_institution(found)

    def add_message(
        self, fixmedins_code: str, msgid: str, infno: str, request_hash: str, response: str
    ) -> None:
        if self.pg is not None:
            self.pg.run(
                raw.ADD_MESSAGE, (fixmedins_code, msgid, infno, request_hash, response, now())
            )
            return
        self.conn.execute(
            insert(f.fsi_messages).values(
                fixmedins_code=fixmedins_code,
                msgid=msgid,
                infno=infno,
                request_hash=request_hash,
                response=response,
                created_at=now(),
            )
        )

    # --- visits and fee lines ------------------------------------------------------

    def add_visit(self, values: dict[str, Any]) -> None:
        if self.pg is not None:
            self.pg.insert(f.fsi_visits, {"created_at": now(), **values})
            return
        self.conn.execute(insert(f.fsi_visits).values(created_at=now(), **values))

    def visit(self, mdtrt_id: str, *, lock: bool = False) -> Any | None:
        if self.pg is not None:
            row = self.pg.one(raw.VISIT_LOCKED if lock else raw.VISIT, (mdtrt_id,))
            return None if row is None else raw.Visit._make(row)
        # SQLite: one writer at a time, nothing to lock.
        return self.conn.execute(
            select(f.fsi_visits).where(f.fsi_visits.c.mdtrt_id == mdtrt_id)
        ).first()

    def update_visit(self, mdtrt_id: str, **values: Any) -> None:
        if self.pg is not None:
            self.pg.update_visit(mdtrt_id, values)
            return
        self.conn.execute(
            update(f.fsi_visits).where(f.fsi_visits.c.mdtrt_id == mdtrt_id).values(**values)
        )

    def lines(self, mdtrt_id: str) -> list[Any]:
        if self.pg is not None:
            return [raw.Line._make(row) for row in self.pg.all(raw.LINES, (mdtrt_id,))]
        c = f.fsi_fee_lines.c
        return list(
            self.conn.execute(select(f.fsi_fee_lines).where(c.mdtrt_id == mdtrt_id).order_by(c.seq))
        )

    def next_line_seq(self, mdtrt_id: str) -> int:
        c = f.fsi_fee_lines.c
        top = self.conn.execute(
            select(func.coalesce(func.max(c.seq), 0)).where(c.mdtrt_id == mdtrt_id)
        ).scalar_one()
        return int(top) + 1

    def add_lines(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        stamp = now()  # one upload, one moment
        if self.pg is not None:
            self.pg.insert_many(f.fsi_fee_lines, [{"created_at": stamp, **r} for r in rows])
        else:
            self.conn.execute(insert(f.fsi_fee_lines), [{"created_at": stamp, **r} for r in rows])

    def delete_lines(self, mdtrt_id: str, feedetl_sns: list[str] | None) -> None:
        if self.pg is not None:
            if feedetl_sns is None:
                self.pg.run(raw.DELETE_LINES, (mdtrt_id,))
            else:
                self.pg.run(raw.DELETE_SOME_LINES, (mdtrt_id, feedetl_sns))
            return
        c = f.fsi_fee_lines.c
        query = delete(f.fsi_fee_lines).where(c.mdtrt_id == mdtrt_id)
        if feedetl_sns is not None:
            query = query.where(c.feedetl_sn.in_(feedetl_sns))
        self.conn.execute(query)

    # --- settlements ---------------------------------------------------------------

    def add_settlement(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(f.fsi_settlements).values(created_at=now(), **values))

    def settled(self, values: dict[str, Any], visit: dict[str, Any]) -> None:
        """add_settlement(values), take_lines of its visit and update_visit(**visit): on
        PostgreSQL one statement (the first two in its WITH), elsewhere three."""
        mdtrt_id, setl_id = values["mdtrt_id"], values["setl_id"]
        if self.pg is not None:
            self.pg.settled({"created_at": now(), **values}, visit)
            return
        self.add_settlement(values)
        self.take_lines(mdtrt_id, setl_id)
        self.update_visit(mdtrt_id, **visit)

    def settlement(self, setl_id: int) -> Any | None:
        if self.pg is not None:
            row = self.pg.one(raw.SETTLEMENT, (setl_id,))
            return None if row is None else raw.Settlement._make(row)
        return self.conn.execute(
            select(f.fsi_settlements).where(f.fsi_settlements.c.setl_id == setl_id)
        ).first()

    def settlement_count(self, mdtrt_id: str) -> int:
        if self.pg is not None:
            counted = self.pg.one(raw.SETTLEMENT_COUNT, (mdtrt_id,))
            assert counted is not None
            return int(counted[0])
        c = f.fsi_settlements.c
        n = self.conn.execute(
            select(func.count()).select_from(f.fsi_settlements).where(c.mdtrt_id == mdtrt_id)
        ).scalar_one()
        return int(n)

    def later_settlement(self, mdtrt_id: str, setl_id: int) -> Any | None:
        """A settlement of the visit in force after this one (interim settlements)."""
        if self.pg is not None:
            row = self.pg.one(raw.LATER_SETTLEMENT, (mdtrt_id, setl_id))
            return None if row is None else raw.Settlement._make(row)
        c = f.fsi_settlements.c
        return self.conn.execute(
            select(f.fsi_settlements)
            .where(c.mdtrt_id == mdtrt_id, c.status == "settled", c.setl_id > setl_id)
            .limit(1)
        ).first()

    def has_settlement(self, mdtrt_id: str) -> bool:
        """Whether the visit has a settlement in force (an interim one, say)."""
        return self.active_settlement(mdtrt_id) is not None

    def take_lines(self, mdtrt_id: str, setl_id: int) -> None:
        """The visit's lines not yet settled are taken by this (interim) settlement."""
        c = f.fsi_fee_lines.c
        self.conn.execute(
            update(f.fsi_fee_lines)
            .where(c.mdtrt_id == mdtrt_id, c.setl_id.is_(None))
            .values(setl_id=setl_id)
        )

    def release_lines(self, setl_id: int) -> None:
        """A cancelled settlement's lines are open again."""
        if self.pg is not None:
            self.pg.run(raw.RELEASE_LINES, (setl_id,))
            return
        c = f.fsi_fee_lines.c
        self.conn.execute(update(f.fsi_fee_lines).where(c.setl_id == setl_id).values(setl_id=None))

    def active_settlement(self, mdtrt_id: str) -> Any | None:
        c = f.fsi_settlements.c
        return self.conn.execute(
            select(f.fsi_settlements).where(c.mdtrt_id == mdtrt_id, c.status == "settled").limit(1)
        ).first()

    def cancel_settlement(self, setl_id: int, reversal_id: int | None, day: date) -> None:
        if self.pg is not None:
            self.pg.run(raw.CANCEL_SETTLEMENT, (setl_id, reversal_id, day))
            return
        self.conn.execute(
            update(f.fsi_settlements)
            .where(f.fsi_settlements.c.setl_id == setl_id)
            .values(status="cancelled", reversal_id=reversal_id, cancel_date=day)
        )

    def settlements_between(self, fixmedins_code: str, begin: date, end: date) -> list[Any]:
        """The institution's settlements made or cancelled in the period."""
        if self.pg is not None:
            rows = self.pg.all(raw.SETTLEMENTS_BETWEEN, (fixmedins_code, begin, end))
            return [raw.Settlement._make(row) for row in rows]
        c = f.fsi_settlements.c
        made = c.setl_date.between(begin, end)
        cancelled = c.cancel_date.between(begin, end)
        return list(
            self.conn.execute(
                select(f.fsi_settlements)
                .where(c.fixmedins_code == fixmedins_code, made | cancelled)
                .order_by(c.setl_id)
            )
        )

    # --- files ---------------------------------------------------------------------

    def add_file(self, number: str, fixmedins_code: str, filename: str, content: bytes) -> None:
        if self.pg is not None:
            values = {"file_qury_no": number, "fixmedins_code": fixmedins_code}
            self.pg.insert(
                f.fsi_files,
                {**values, "filename": filename, "content": content, "created_at": now()},
            )
            return
        self.conn.execute(
            insert(f.fsi_files).values(
                file_qury_no=number,
                fixmedins_code=fixmedins_code,
                filename=filename,
                content=content,
                created_at=now(),
            )
        )

    def file(self, number: str) -> Any | None:
        if self.pg is not None:
            row = self.pg.one(raw.FILE, (number,))
            return None if row is None else raw.File._make(row)
        return self.conn.execute(
            select(f.fsi_files).where(f.fsi_files.c.file_qury_no == number)
        ).first()
