"""What the service layer needs from the outside, as types: a unit of work to open, and
the policy of a region."""

from __future__ import annotations

from collections.abc import Callable

from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.parameters import RegionPolicy

PolicySource = Callable[[str], RegionPolicy]
UowFactory = Callable[[], UnitOfWork]
