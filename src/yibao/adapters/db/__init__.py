"""The database: tables (SQLAlchemy Core), migrations (Alembic), repositories, unit of work.

Domain objects never see a row: repositories map rows to domain values and back.
"""
