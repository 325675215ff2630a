"""Accounts, API tokens and the audit log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, or_, select, update

from yibao.adapters.db import tables as t
from yibao.adapters.db.errors import refused_as_duplicate
from yibao.adapters.db.revocations import announce
from yibao.adapters.db.tables_schools import schools
from yibao.domain.access import Principal
from yibao.service.ports import now

_BY_TOKEN = (
    select(t.accounts, t.api_tokens.c.expires_at, t.api_tokens.c.revoked_at)
    .select_from(t.api_tokens.join(t.accounts, t.accounts.c.id == t.api_tokens.c.account_id))
    .where(t.api_tokens.c.token_hash == bindparam("hash"))
)


class Accounts:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, values: dict[str, Any]) -> None:
        """Raises DuplicateError when the account exists."""
        with refused_as_duplicate():
            self.conn.execute(insert(t.accounts).values(created_at=now(), **values))

    def get(self, account_id: str, *, lock: bool = False) -> Any | None:
        query = select(t.accounts).where(t.accounts.c.id == account_id)
        if lock:
            query = query.with_for_update()
        return self.conn.execute(query).first()

    def get_many(self, account_ids: set[str]) -> dict[str, Any]:
        if not account_ids:
            return {}
        rows = self.conn.execute(select(t.accounts).where(t.accounts.c.id.in_(sorted(account_ids))))
        return {r.id: r for r in rows}

    def of_person(self, person_id: str) -> list[Any]:
        c = t.accounts.c
        return list(self.conn.execute(select(t.accounts).where(c.person_id == person_id)))

    def update(self, account_id: str, **values: Any) -> None:
        self.conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(**values))

    def add_token(
        self, token_hash: str, account_id: str, label: str, expires_at: datetime | None
    ) -> None:
        self.conn.execute(
            insert(t.api_tokens).values(
                token_hash=token_hash,
                account_id=account_id,
                label=label,
                created_at=now(),
                expires_at=expires_at,
            )
        )

    def by_token(self, token_hash: str) -> Any | None:
        return self.conn.execute(_BY_TOKEN, {"hash": token_hash}).first()

    def revoke_tokens(self, account_id: str) -> int:
        c = t.api_tokens.c
        result = self.conn.execute(
            update(t.api_tokens)
            .where(c.account_id == account_id, c.revoked_at.is_(None))
            .values(revoked_at=now())
        )
        announce(self.conn)  # to every server on the database, at the commit
        return int(result.rowcount)

    def revoke_token(self, token_hash: str) -> None:
        c = t.api_tokens.c
        self.conn.execute(
            update(t.api_tokens)
            .where(c.token_hash == token_hash, c.revoked_at.is_(None))
            .values(revoked_at=now())
        )
        announce(self.conn)

    def list(self, role: str | None = None) -> list[Any]:
        query = select(t.accounts).order_by(t.accounts.c.id)
        if role:
            query = query.where(t.accounts.c.role == role)
        return list(self.conn.execute(query))


def _json(value: Any) -> str | None:
    return (
        None
        if value is None
        else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    )


_INSERT_AUDIT = insert(t.audit_log)


class Audit:
    """Written in the same transaction as the change it records: both or neither. The
    entries of a unit of work are kept and written together at its commit (one INSERT
    for a batch of ten thousand changes, not ten thousand)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._pending: list[dict[str, Any]] = []

    def record(
        self,
        who: Principal,
        action: str,
        object_type: str,
        object_id: str,
        before: Any = None,
        after: Any = None,
    ) -> None:
        self._pending.append(
            {
                "at": now(),
                "actor": who.account,
                "role": who.role.value,
                "action": action,
                "object_type": object_type,
                "object_id": str(object_id),
                "before": _json(before),
                "after": _json(after),
            }
        )

    def discard(self) -> None:
        self._pending = []

    def flush(self) -> None:
        if self._pending:
            self.conn.execute(_INSERT_AUDIT, self._pending)
            self._pending = []

    def entries(
        self,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        actor: str | None = None,
        region: str | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        self.flush()
        c = t.audit_log.c
        query = select(t.audit_log).order_by(c.id.desc()).limit(limit)
        if region is not None:
            # Staff of one region see what the region's accounts did: its staff, and the
            # schools, institutions and persons of the region.
            a = t.accounts.c
            query = query.join(t.accounts, a.id == c.actor).where(
                or_(
                    a.region == region,
                    a.school_id.in_(select(schools.c.id).where(schools.c.region == region)),
                    a.person_id.in_(select(t.persons.c.id).where(t.persons.c.region == region)),
                    a.institution_id.in_(
                        select(t.institutions.c.id).where(t.institutions.c.region == region)
                    ),
                )
            )
        if object_type:
            query = query.where(c.object_type == object_type)
        if object_id:
            query = query.where(c.object_id == object_id)
        if actor:
            query = query.where(c.actor == actor)
        return [
            {
                "id": r.id,
                "at": r.at.isoformat(),
                "actor": r.actor,
                "role": r.role,
                "action": r.action,
                "object_type": r.object_type,
                "object_id": r.object_id,
                "before": None if r.before is None else json.loads(r.before),
                "after": None if r.after is None else json.loads(r.after),
            }
            for r in self.conn.execute(query)
        ]
