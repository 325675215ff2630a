"""The database's errors in the service layer's terms: a write the database refused for a
key or constraint (another transaction wrote the same thing first) becomes
`DuplicateError`, so the service layer never sees SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from yibao.service.ports.records import DuplicateError


def duplicate(exc: IntegrityError) -> DuplicateError:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return DuplicateError(reason)


@contextmanager
def refused_as_duplicate() -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        raise duplicate(exc) from exc
