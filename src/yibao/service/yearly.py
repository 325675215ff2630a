"""`yibao settle-year`: the residents' serious-illness layer for a region's year, from
the stored settlements (each person-year's accumulators).

In chunks of persons, each chunk one transaction: a crash loses at most the chunk it
was in, and a new run goes on from what is stored. Each person's payment is stored;
a run books only the difference from what is stored, so a second run pays nothing
twice, and a run after late settlements or reversals pays exactly the change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from yibao.domain.engine import serious_illness
from yibao.domain.money import ZERO, from_fen, round_fen, to_fen
from yibao.service.booking import ledger_entries
from yibao.service.history import person_for_year
from yibao.service.ports import PolicySource, UowFactory

CHUNK = 1000


@dataclass
class YearlySummary:
    persons: int = 0
    changed: int = 0
    paid: Decimal = ZERO  # booked by this run (differences)
    total: Decimal = ZERO  # the layer's payments for the year, as they now stand


def person_years(uow: UowFactory, region: str, year: int) -> int:
    """How many person-years of the region's year the yearly run goes through."""
    with uow() as u:
        return u.history.count_person_years(year, region)


def settle_serious_illness(
    uow: UowFactory,
    policies: PolicySource,
    region: str,
    year: int,
    *,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> YearlySummary:
    summary = YearlySummary()
    after = ""
    while True:
        with uow() as u:
            ids = u.history.person_years(year, region, after, chunk)
            for person_id in ids:
                # The year's lock: no bill of this person settles while its layer is computed.
                acc, _ = u.ledger.lock_person_year(person_id, year)
                person = person_for_year(u, person_id, year)
                layer = serious_illness(policies(person.region), person, acc)
                stored = u.yearly.get(person_id, year)
                before = from_fen(stored.payment_fen) if stored is not None else ZERO
                summary.persons += 1
                summary.total += layer.payment
                if stored is not None and before == layer.payment:
                    continue
                u.yearly.put(
                    {
                        "person_id": person_id,
                        "year": year,
                        "region": person.region,
                        "scheme": person.scheme.value,
                        "base_fen": to_fen(round_fen(layer.base)),
                        "payment_fen": to_fen(layer.payment),
                        "explanation": json.dumps(
                            [s.to_dict() for s in layer.steps], ensure_ascii=False
                        ),
                    }
                )
                difference = layer.payment - before
                # Paid to the person (no institution), booked in the year's last month.
                amounts = {"serious_illness": difference}
                entries = ledger_entries(
                    None,
                    person.region,
                    person.scheme.value,
                    None,
                    date(year, 12, 31),
                    amounts,
                    "yearly",
                )
                u.ledger.add_ledger_entries(entries)
                summary.changed += 1
                summary.paid += difference
            u.commit()
        if progress is not None and ids:
            progress(len(ids))
        if len(ids) < chunk:
            return summary
        after = ids[-1]
