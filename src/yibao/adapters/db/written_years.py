"""The accumulators this process wrote, kept by the text it wrote for them
(person_years.state; counter_pg.py and counter_pg_batch.py write it): the person-year's
next bill reads that text back and takes the object (frozen) instead of parsing it, some
12,000 instructions a bill (a JSON object and a Decimal an amount). Equal texts are
equal accumulators, whether the write committed or not; an object is kept only if it is
what parsing its text makes (its counters' keys in to_dict's sorted order), and taken
once (its next text is another).

Bounded by dropping the oldest kept text for each one kept beyond the bound, not by
emptying it when full: a person-year's next bill is often settled by another worker
(two processes), and this one's text then is never taken. Emptied when full, the
untaken piled up to the bound, ~2,700 accumulators (with their dicts and mapping
proxies) between two young collections of a server process: most of what the collector
found alive, each walked again by the older generations' collections until emptied
(docs/operations.md, the collector). Dropped one for one, the kept stay as many, and
what a bill keeps, a bill frees.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import orjson

from yibao.adapters.db.ledger_repo import year_state
from yibao.domain.accumulators import YearAccumulators

_WRITTEN: dict[str, YearAccumulators] = {}
_WRITTEN_ORDER: deque[str] = deque()  # the texts as kept, oldest first (taken or not)
_WRITTEN_AT_MOST = 8192


def written_state(acc: YearAccumulators) -> str:
    """year_state(acc), the text the write stores, with `acc` kept for its read."""
    state = year_state(acc)
    if _in_order(acc.thresholds) and not (acc.cause_paid or acc.stays or acc.si_groups):
        _WRITTEN[state] = acc
        _WRITTEN_ORDER.append(state)
        if len(_WRITTEN_ORDER) > _WRITTEN_AT_MOST:
            _WRITTEN.pop(_WRITTEN_ORDER.popleft(), None)  # gone already if it was taken
    return state


def year_of(state: str) -> YearAccumulators:
    """The accumulators a person_years.state text holds: the object kept for it, taken,
    or else the text parsed."""
    kept = _WRITTEN.pop(state, None)
    return YearAccumulators.from_dict(orjson.loads(state)) if kept is None else kept


def _in_order(counters: Any) -> bool:
    return len(counters) < 2 or list(counters) == sorted(counters)
