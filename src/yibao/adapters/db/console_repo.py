"""Reads of the staff console: person search, work queues, the fund dashboard."""

from __future__ import annotations

from sqlalchemy import Connection


class Console:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
