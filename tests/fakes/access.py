"""Accounts and their API tokens in memory (ports.admin.Accounts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fakes.tables import Tables, changed, insert, new_row
from yibao.adapters.db.tables import accounts, api_tokens
from yibao.service.ports import now


class FakeAccounts:
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    def add(self, values: dict[str, Any]) -> None:
        row = new_row(accounts, {**values, "created_at": now()})
        insert(self.t.accounts, row.id, row, "account")

    def get(self, account_id: str, *, lock: bool = False) -> Any | None:
        return self.t.accounts.get(account_id)

    def get_many(self, account_ids: set[str]) -> dict[str, Any]:
        return {a: self.t.accounts[a] for a in sorted(account_ids) if a in self.t.accounts}

    def of_person(self, person_id: str) -> list[Any]:
        return [a for a in self.list() if a.person_id == person_id]

    def update(self, account_id: str, **values: Any) -> None:
        if account_id in self.t.accounts:
            self.t.accounts[account_id] = changed(self.t.accounts[account_id], **values)

    def add_token(
        self, token_hash: str, account_id: str, label: str, expires_at: datetime | None
    ) -> None:
        values = {
            "token_hash": token_hash,
            "account_id": account_id,
            "label": label,
            "created_at": now(),
            "expires_at": expires_at,
        }
        insert(self.t.api_tokens, token_hash, new_row(api_tokens, values), "token")

    def by_token(self, token_hash: str) -> Any | None:
        token = self.t.api_tokens.get(token_hash)
        if token is None or token.account_id not in self.t.accounts:
            return None
        account = self.t.accounts[token.account_id]
        return changed(account, expires_at=token.expires_at, revoked_at=token.revoked_at)

    def revoke_tokens(self, account_id: str) -> int:
        live = [
            k
            for k, tok in self.t.api_tokens.items()
            if tok.account_id == account_id and tok.revoked_at is None
        ]
        for k in live:
            self.revoke_token(k)
        return len(live)

    def revoke_token(self, token_hash: str) -> None:
        token = self.t.api_tokens.get(token_hash)
        if token is not None and token.revoked_at is None:
            self.t.api_tokens[token_hash] = changed(token, revoked_at=now())

    def list(self, role: str | None = None) -> list[Any]:
        rows = [self.t.accounts[a] for a in sorted(self.t.accounts)]
        return [r for r in rows if not role or r.role == role]
