"""Premium collection as use cases on the in-memory stores (no database): accounts opened
for the pending enrolments (an assistance family's exempt at once, its card ordered),
the bank's result file paying only the exact amount, the enrolment active from the
bank's day with its card due twenty working days later, and the same file refused twice."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from fakes import FakeDatabase
from fast.stores import policies
from yibao.domain.ids import make_resident_id
from yibao.domain.model import Scheme
from yibao.service.access import OPERATOR
from yibao.service.enrolment import NewPerson
from yibao.service.errors import ConflictError
from yibao.service.services import Services

REGION = "sample-city"
YEAR = 2027


class Clock:
    def __init__(self, today: date) -> None:
        self.today = today

    def __call__(self) -> date:
        return self.today


def world() -> tuple[FakeDatabase, Services, Clock, dict[str, str]]:
    """Four persons enrolled for 2027 on the day the window opens: 1, 2 and 3 owe their
    personal part, 4 is of an assistance family (exempt). Today is 2026-10-15."""
    db, clock = FakeDatabase(), Clock(date(2026, 9, 1))
    services = Services.build(db.unit_of_work, policies(), clock)
    with db.unit_of_work() as uow:
        uow.registry.add_region(REGION, "样本市", "Sample City", "990100")
        uow.commit()
    ids = {}
    for n in (1, 2, 3, 4):
        number = make_resident_id("990100", date(1985, 3, 1), n)
        new = NewPerson(number, f"person {n}", REGION, assistance=n == 4)
        ids[f"person {n}"] = services.enrolment.register_person(OPERATOR, new)["id"]
        services.enrolment.enrol(OPERATOR, ids[f"person {n}"], YEAR, Scheme.RESIDENT)
    clock.today = date(2026, 10, 15)
    return db, services, clock, ids


def enrolment(services: Services, person_id: str) -> dict[str, str]:
    found: dict[str, str] = services.enrolment.person(OPERATOR, person_id)["enrolments"][0]
    return found


def test_accounts_open_for_the_pending_enrolments_and_the_exempt_is_active_at_once() -> None:
    db, services, _, ids = world()
    opened = services.collection.open_accounts(OPERATOR, REGION, YEAR)
    assert (opened["opened"], opened["exempt"], opened["cards_ordered"]) == (3, 1, 1)
    assert opened["accounts"] == {"open": 3, "paid": 0, "exempt": 1}
    assert services.collection.open_accounts(OPERATOR, REGION, YEAR)["opened"] == 0
    exempt = enrolment(services, ids["person 4"])
    assert (exempt["status"], exempt["paid_on"]) == ("active", "2026-10-15")
    with db.unit_of_work() as uow:
        (card,) = uow.registry.cards_of(ids["person 4"])
        assert (card.ordered_on, card.due_on) == (date(2026, 10, 15), date(2026, 11, 12))
        assert card.number.startswith("990100")
        assert uow.registry.cards_of(ids["person 1"]) == []
    assert enrolment(services, ids["person 1"])["status"] == "pending"


def test_a_bank_file_pays_only_the_exact_amount_and_is_imported_once() -> None:
    db, services, clock, ids = world()
    services.collection.open_accounts(OPERATOR, REGION, YEAR)
    exported = services.collection.export_accounts(OPERATOR, REGION, YEAR)
    account = {r["name"]: r["account"] for r in csv.DictReader(io.StringIO(exported))}
    assert sorted(account) == ["person 1", "person 2", "person 3"]  # the exempt owes nothing
    clock.today = date(2026, 10, 25)
    lines = [
        "account,amount,date,status",
        f"{account['person 1']},400.00,2026-10-20,success",
        f"{account['person 2']},350.00,2026-10-20,success",
        f"{account['person 3']},400.00,2026-10-20,failed",
    ]
    data = ("\n".join(lines) + "\n").encode()
    answer = services.collection.import_bank_file(OPERATOR, "result-1025.csv", data)
    assert answer["lines"] == 3
    counts = {k: v for k, v in answer["counts"].items() if v}
    assert counts == {"paid": 1, "amount_mismatch": 1, "failed_at_bank": 1}
    assert {r["line"]: r["outcome"] for r in answer["report"]} == {
        3: "amount_mismatch",
        4: "failed_at_bank",
    }
    paid = enrolment(services, ids["person 1"])
    assert (paid["status"], paid["paid_on"]) == ("active", "2026-10-20")
    for n in (2, 3):
        assert enrolment(services, ids[f"person {n}"])["status"] == "pending"
    with db.unit_of_work() as uow:
        (card,) = uow.registry.cards_of(ids["person 1"])
        assert card.due_on == date(2026, 11, 17)
        assert uow.collection.account_counts(REGION, YEAR) == {"open": 2, "paid": 1, "exempt": 1}
    commits = db.commits
    with pytest.raises(ConflictError) as twice:
        services.collection.import_bank_file(OPERATOR, "again.csv", data)
    assert twice.value.code == "duplicate_bank_file"
    assert db.commits == commits
