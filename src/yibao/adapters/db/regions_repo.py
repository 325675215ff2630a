"""The pooling regions a deployment knows (code, names, admdvs), and the money between
them: what one region's institutions advanced for another's insured, and its clearing
(reference §9)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from yibao.adapters.db import tables as t


class Regions:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def known(self, code: str) -> bool:
        """Whether the region is registered here (its catalogue is the one to bill by)."""
        row = self.conn.execute(select(t.regions.c.code).where(t.regions.c.code == code)).first()
        return row is not None

    def all(self) -> list[Any]:
        return list(self.conn.execute(select(t.regions).order_by(t.regions.c.code)))
