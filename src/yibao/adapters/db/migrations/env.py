"""Alembic environment: migrations run against the URL in the Alembic config (set by
yibao.adapters.db.migrate), with yibao's metadata for autogenerate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from yibao.adapters.db.schema import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "set sqlalchemy.url (yibao db upgrade does)"

connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
