"""What the service layer needs from the outside, as types: a unit of work to open, the
policy of a region, and a clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.parameters import RegionPolicy

PolicySource = Callable[[str], RegionPolicy]
UowFactory = Callable[[], UnitOfWork]

# Today's date where the agency works: windows, due dates and "past due" are counted in it.
Clock = Callable[[], date]
CHINA = ZoneInfo("Asia/Shanghai")


def china_today() -> date:
    return datetime.now(CHINA).date()
