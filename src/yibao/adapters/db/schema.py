"""The whole schema: importing this module registers every table on the one metadata.
Migrations (autogenerate), the migration test and the test fixtures import it, so no
table is left out of a comparison or a TRUNCATE."""

from __future__ import annotations

from yibao.adapters.db import (  # noqa: F401
    tables_clearing,
    tables_collection,
    tables_fsi,
    tables_member,
    tables_pilot,
    tables_schools,
)
from yibao.adapters.db.tables import metadata

__all__ = ["metadata"]
