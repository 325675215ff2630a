"""Generated bills on the demo region and every answer the settlement service gives them:
the view (or the refusal), the stored settlement row, its lines and ledger entries, the
person-year's accumulators after it, as canonical JSON, one digest a bill.

test_settlement_answers.py compares the digests with those the start commit of the
settlement CPU work gave (settlement_answers.txt), so a change made for speed that
moves a single byte of an answer fails. To make the file again, or to see what moved,
run this module with the code of the commit that made it:

    PYTHONPATH=/work/before/src:tests .venv/bin/python -m fast.answers > before.txt
    PYTHONPATH=src:tests .venv/bin/python -m fast.answers --full 12 > after.txt
"""

from __future__ import annotations

import argparse
import hashlib
import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import orjson

from fakes import FakeDatabase
from fast.stores import policies
from yibao.domain.model import Kind
from yibao.domain.registry import CardStatus
from yibao.service.demo import load_demo
from yibao.service.errors import ServiceError
from yibao.service.settlement import Bill, BillLine, SettlementService

PERSONS = 150
BILLS = 400
SEED = 14


def bills(db: FakeDatabase, n: int, seed: int) -> list[Bill]:
    """Bills of every kind at every designated place, the demo's regions' cards and
    catalogue items (a price of their own, or another), on days of the whole year: some
    refused, some elsewhere, some special diseases, some on items outside the catalogue."""
    t = db.tables
    cards = sorted(c.number for c in t.cards.values() if c.status is CardStatus.ACTIVE)
    places = sorted(i.id for i in t.institutions.values())
    items = sorted((code, i.unit_price) for (_, code), i in t.catalogue_items.items())
    diseases = sorted({a.disease for a in t.approvals.values()}) or ["H2"]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        lines = tuple(
            BillLine(
                code,
                Decimal(rng.randint(1, 12)),
                price if price is not None and rng.random() < 0.8 else _price(rng),
            )
            for code, price in rng.sample(items, rng.randint(1, 5))
        )
        kind = rng.choices(list(Kind), weights=(60, 8, 15, 7, 10))[0]
        out.append(
            Bill(
                rng.choice(places),
                rng.choice(cards),
                kind,
                date(2026, 1, 1) + timedelta(days=rng.randint(0, 364)),
                lines,
                diagnosis=rng.choice(("J06.9", "J18.9", "C91.0", "N18.5", None)),
                disease=rng.choice(diseases) if kind is Kind.SPECIAL_OUTPATIENT else None,
                prescription=rng.random() < 0.8,
            )
        )
    return out


def _price(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(1, 900_000)).scaleb(-2)


def answers(persons: int = PERSONS, n: int = BILLS, seed: int = SEED) -> Iterator[bytes]:
    """Each bill's answer and what it stored, as canonical JSON (the time of writing left out)."""
    db = FakeDatabase()
    load_demo(db.unit_of_work, policies(), persons=persons)
    service = SettlementService(db.unit_of_work, policies(), clock=lambda: date(2026, 12, 1))
    for no, bill in enumerate(bills(db, n, seed)):
        try:
            status, view = service.settle(bill, f"key-{no}")
        except ServiceError as exc:
            yield _canonical({"error": [exc.code, str(exc)]})
            continue
        stored = _stored(db, view["id"], f"key-{no}")
        # The key keeps a reference to the settlement now, not its answer
        # (service/kept_answer.py): what is pinned is the answer a retry gets, byte for
        # byte the first one, in the form the key kept before (the view, its explanation
        # left to the row).
        again = service.settle(bill, f"key-{no}")
        if orjson.dumps(again) != orjson.dumps((status, view)):
            raise AssertionError(f"bill {no}: a retry's answer is not the first one")
        kept = orjson.dumps({**again[1], "explanation": None}).decode()
        stored["answer"] = (stored["answer"][0], again[0], kept)
        yield _canonical({"status": status, "view": view, **stored})


def _stored(db: FakeDatabase, sid: int, key: str) -> dict[str, Any]:
    t = db.tables
    row = _untimed(t.settlements[sid])
    year = t.person_years[(row["person_id"], row["year"])]
    return {
        "row": row,
        "lines": [vars(ln) for ln in t.settlement_lines.get(sid, [])],
        "ledger": [_untimed(e) for e in t.fund_ledger if e.settlement_id == sid],
        "year": [year[0].to_dict(), year[1]],
        "answer": t.answers[(row["institution_id"], key)],
    }


def _untimed(row: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(row).items() if k != "created_at"}


def _canonical(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)


def digest(answer: bytes) -> str:
    return hashlib.sha256(answer).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", type=int, default=0, help="the first N answers in full")
    args = parser.parse_args()
    for no, answer in enumerate(answers()):
        print(digest(answer), answer.decode() if no < args.full else "")


if __name__ == "__main__":
    main()
