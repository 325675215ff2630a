"""Reads and writes of the member app: accounts tied to persons, receipts, vouchers."""

from __future__ import annotations

from sqlalchemy import Connection


class Member:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
