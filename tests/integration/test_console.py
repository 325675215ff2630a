"""The staff console's service: person search by each key and within the staff region,
the work queues' counts, the fund dashboard against the ledger, and the persons past a
top line. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from integration.roles_world import C1, C2, CITY, COUNTY, G1, G2, I1, S1, build_registry, card_of
from yibao.adapters.db.tables import fund_ledger, person_years, serious_illness_payments
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Principal, Role
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.ids import make_resident_id, parse_resident_id
from yibao.domain.model import Kind, LineClass, Scheme
from yibao.domain.registry import Card, CardStatus, Enrolment, PersonRecord
from yibao.service.access import OPERATOR, Forbidden
from yibao.service.claims import Claim, ClaimLine, ClaimReason
from yibao.service.console import dashboard_csv
from yibao.service.errors import ServiceError
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine

YEAR = 2026
CITY_CLERK = Principal("city-clerk", Role.CLERK, region=CITY)
CITY_APPROVER = Principal("city-approver", Role.APPROVER, region=CITY)
COUNTY_CLERK = Principal("county-clerk", Role.CLERK, region=COUNTY)
INSURED = Principal("c1", Role.INSURED, person_id=C1)
H1 = "H1"  # the county person


def world(engine: Engine) -> None:
    """roles_world's sample-city registry, plus one person of hill-county and an ordered
    card of G2's that is past its due date."""
    build_registry(engine)
    with UnitOfWork(engine) as uow:
        number = make_resident_id("990200", date(1970, 3, 4), 7)
        uow.registry.add_person(
            PersonRecord(
                H1, number, "山县居民", date(1970, 3, 4), parse_resident_id(number).sex, COUNTY
            )
        )
        uow.registry.add_enrolment(
            Enrolment(H1, YEAR, Scheme.RESIDENT, "active", date(YEAR, 1, 1), date(YEAR, 12, 31))
        )
        uow.registry.add_card(Card("CARD-H1", H1, CardStatus.ACTIVE, date(2025, 12, 1)))
        uow.registry.add_card(
            Card(
                "NEW-G2",
                G2,
                CardStatus.ORDERED,
                ordered_on=date(2026, 9, 1),
                due_on=date(2026, 9, 29),
            )
        )
        uow.commit()


def settle(services: Services, person: str, kind: Kind, day: date, amount: str) -> None:
    line = BillLine("TEST-A", Decimal(1), Decimal(amount))
    status, view = services.settlements.settle(Bill(I1, card_of(person), kind, day, (line,)))
    assert status == 201, view


def claim(person: str = C1, amount: str = "300.00") -> Claim:
    return Claim(
        person_id=person,
        reason=ClaimReason.EMERGENCY_ELSEWHERE,
        kind=Kind.EMERGENCY,
        date=date(2026, 7, 3),
        hospital_name="外地人民医院",
        hospital_level=2,
        hospital_region=COUNTY,
        hospital_designated=True,
        lines=(ClaimLine(Decimal(amount), cls=LineClass.A),),
    )


def submitted_batch(services: Services, pupils: int = 1) -> int:
    """A class list of S1 for 2027 whose rows (2, 3, ...) the guardians declared and the
    school submitted."""
    school = Principal("s1", Role.SCHOOL, school_id=S1)
    rows = "身份证号,姓名,班级,监护人,监护人电话,困难家庭\n"
    for n in range(pupils):
        number = make_resident_id("990100", date(2015, 2, 3 + n), 5 + n)
        rows += f"{number},学生{n + 1},三年级二班,家长{n + 1},1390000000{n + 1},否\n"
    upload = services.schools.upload(school, S1, 2027, "list.csv", rows.encode())
    assert upload["ok"], upload
    batch = int(upload["batch"]["id"])
    for n in range(pupils):
        services.schools.declare(OPERATOR, batch, n + 2)
    services.schools.submit(school, batch)
    return batch


# --- search ----------------------------------------------------------------------------


def test_search_finds_by_name_id_number_card_and_registry_id(
    engine: Engine, services: Services
) -> None:
    world(engine)
    console = services.console
    by_name = console.search(CITY_CLERK, "person C")
    assert [p["id"] for p in by_name] == [C1, C2]
    assert by_name[0]["scheme"] == "student"
    assert by_name[0]["card"] == {"number": card_of(C1), "status": "active"}

    with UnitOfWork(engine) as uow:
        c1 = uow.registry.person(C1)
    assert c1 is not None
    assert [p["id"] for p in console.search(CITY_CLERK, c1.id_number)] == [C1]
    assert C1 in [p["id"] for p in console.search(CITY_CLERK, c1.id_number[:10])]
    assert [p["id"] for p in console.search(CITY_CLERK, card_of(C1))] == [C1]
    assert [p["id"] for p in console.search(CITY_CLERK, G1)] == [G1]
    # G2's current card is the active one, not the new card still on order.
    assert console.search(CITY_CLERK, card_of(G2))[0]["card"]["number"] == card_of(G2)
    # LIKE's wildcards are searched for as themselves.
    assert console.search(CITY_CLERK, "%") == []
    assert console.search(CITY_CLERK, "person_") == []


def test_search_stays_in_the_staff_region(engine: Engine, services: Services) -> None:
    world(engine)
    console = services.console
    assert console.search(CITY_CLERK, "山县") == []
    assert console.search(CITY_CLERK, "CARD-H1") == []
    assert [p["id"] for p in console.search(COUNTY_CLERK, "CARD-H1")] == [H1]
    assert console.search(COUNTY_CLERK, "person") == []
    # Staff without a region see every region.
    assert [p["id"] for p in console.search(OPERATOR, "CARD-H1")] == [H1]
    assert {p["id"] for p in console.search(OPERATOR, "person")} == {C1, C2, G1, G2}
    assert console.search(OPERATOR, "山县")[0]["region"] == COUNTY
    assert [p["id"] for p in console.search(CITY_APPROVER, "person G1")] == [G1]


def test_search_refuses_an_empty_query_and_members(engine: Engine, services: Services) -> None:
    world(engine)
    with pytest.raises(ServiceError) as empty:
        services.console.search(CITY_CLERK, "   ")
    assert (empty.value.code, empty.value.details["field"]) == ("missing_query", "q")
    with pytest.raises(Forbidden):
        services.console.search(INSURED, "person")
    with pytest.raises(Forbidden):
        services.console.dashboard(INSURED, CITY, YEAR)


def test_a_persons_claims_are_for_staff_of_their_region(engine: Engine, services: Services) -> None:
    world(engine)
    made = services.claims.submit(OPERATOR, claim())
    found = services.console.person_claims(CITY_CLERK, C1)
    assert [(c["id"], c["status"], c["total"]) for c in found] == [
        (made["id"], "submitted", "300.00")
    ]
    with pytest.raises(ServiceError) as hidden:
        services.console.person_claims(COUNTY_CLERK, C1)
    assert hidden.value.code == "unknown_person"


# --- queues ----------------------------------------------------------------------------


def test_the_queue_counts_follow_the_queues(engine: Engine, services: Services) -> None:
    world(engine)
    console = services.console
    assert console.queue_counts(CITY_CLERK) == {
        "schools": 0,
        "approvals": 0,
        "claims": 0,
        "cards": 1,  # G2's new card, due 2026-09-29, not issued by 2026-10-15
    }
    made = services.claims.submit(OPERATOR, claim())
    services.certificates.apply_for_approval(OPERATOR, G1, "dialysis", "诊断-1", I1)
    batch = submitted_batch(services)

    counts = console.queue_counts(CITY_CLERK)
    assert counts == {"schools": 1, "approvals": 1, "claims": 1, "cards": 1}
    assert console.queue_counts(COUNTY_CLERK) == {
        "schools": 0,
        "approvals": 0,
        "claims": 0,
        "cards": 0,
    }
    queue = console.school_queue(CITY_CLERK)
    assert [(b["id"], b["school_id"], b["waiting"]) for b in queue] == [(batch, S1, 1)]
    assert console.school_queue(COUNTY_CLERK) == []

    services.claims.approve(CITY_CLERK, made["id"])
    services.schools.review(CITY_CLERK, batch, accept_all=True)
    services.cards.issue_card(CITY_CLERK, "NEW-G2")
    after = console.queue_counts(CITY_CLERK)
    assert after == {"schools": 0, "approvals": 1, "claims": 0, "cards": 0}


# --- the dashboard ---------------------------------------------------------------------


def _ledger(engine: Engine, **where: object) -> Decimal:
    c = fund_ledger.c
    query = select(func.coalesce(func.sum(c.amount_fen), 0)).where(c.region == CITY, c.year == YEAR)
    for key, value in where.items():
        query = query.where(getattr(c, key) == value)
    with engine.connect() as conn:
        return Decimal(int(conn.execute(query).scalar_one())) / 100


def test_the_dashboard_sums_equal_the_ledger(engine: Engine, services: Services) -> None:
    world(engine)
    settle(services, C1, Kind.OUTPATIENT, date(2026, 3, 5), "180.00")
    settle(services, G1, Kind.INPATIENT, date(2026, 3, 20), "12345.67")
    settle(services, G1, Kind.OUTPATIENT, date(2026, 5, 2), "99.99")
    settle(services, G2, Kind.INPATIENT, date(2026, 8, 9), "4321.00")
    made = services.claims.submit(OPERATOR, claim(C2, "845.50"))
    services.claims.approve(CITY_CLERK, made["id"])

    view = services.console.dashboard(CITY_CLERK, CITY, YEAR)
    assert Decimal(view["total"]) == _ledger(engine) > 0
    for layer, amount in view["by_layer"].items():
        assert Decimal(amount) == _ledger(engine, layer=layer)
    for row in view["by_scheme_layer"]:
        assert Decimal(row["amount"]) == _ledger(engine, scheme=row["scheme"], layer=row["layer"])
    assert {r["scheme"] for r in view["by_scheme"]} == {"student", "resident"}
    months = {m["month"]: Decimal(m["amount"]) for m in view["by_month"]}
    assert list(months) == [f"2026-{m:02d}" for m in range(1, 13)]
    for month, amount in months.items():
        assert amount == _ledger(engine, month=month)
    assert months["2026-03"] > 0
    assert months["2026-01"] == 0
    assert sum(months.values()) == Decimal(view["total"])

    # The CSV says the same, to the fen.
    rows = list(csv.reader(io.StringIO(dashboard_csv(view))))
    assert rows[0] == ["section", "scheme", "layer", "month", "amount", "persons"]
    total = [r for r in rows if r[0] == "total"]
    assert total == [["total", "", "", "", view["total"], ""]]
    assert sum(Decimal(r[4]) for r in rows if r[0] == "month") == Decimal(view["total"])
    assert sum(Decimal(r[4]) for r in rows if r[0] == "scheme_layer") == Decimal(view["total"])

    # Nothing of another region's year, and no other region for a clerk of this one.
    assert services.console.dashboard(OPERATOR, CITY, 2025)["total"] == "0.00"
    with pytest.raises(Forbidden):
        services.console.dashboard(CITY_CLERK, COUNTY, YEAR)
    with pytest.raises(ServiceError) as bad_year:
        services.console.dashboard(CITY_CLERK, CITY, 1900)
    assert bad_year.value.code == "invalid_year"


def _put_year(engine: Engine, person: str, **amounts: str) -> None:
    acc = YearAccumulators(YEAR, **{k: Decimal(v) for k, v in amounts.items()})  # type: ignore[arg-type]
    with engine.begin() as conn:
        conn.execute(
            insert(person_years).values(
                person_id=person, year=YEAR, state=json.dumps(acc.to_dict()), settled=1
            )
        )


def test_persons_past_a_top_line_and_serious_illness_payments(
    engine: Engine, services: Services
) -> None:
    """sample-city's residents and students: top line of 200,000 of pooled cost; the
    serious-illness layer: top line of 400,000 of payment."""
    world(engine)
    _put_year(engine, G2, pooled_cost="200000.00", inpatient_fund_paid="150000.00")  # at it
    _put_year(engine, C2, pooled_cost="199999.99")  # a fen short
    _put_year(engine, G1, pooled_cost="250000.50")  # past it
    _put_year(engine, H1, pooled_cost="900000.00")  # another region
    with engine.begin() as conn:
        for person, region, scheme, fen in (
            (G1, CITY, "resident", 40_000_000),
            (G2, CITY, "resident", 1_234_56),
            (C2, CITY, "student", 0),
            (H1, COUNTY, "resident", 50_000_00),
        ):
            conn.execute(
                insert(serious_illness_payments).values(
                    person_id=person,
                    year=YEAR,
                    region=region,
                    scheme=scheme,
                    base_fen=fen,
                    payment_fen=fen,
                    explanation="[]",
                    updated_at=func.now(),
                )
            )
    view = services.console.dashboard(CITY_APPROVER, CITY, YEAR)
    tops = {(t["line"], t["scheme"]): t for t in view["top_lines"]}
    resident = tops[("inpatient", "resident")]
    assert (resident["on"], resident["amount"]) == ("pooled_cost", "200000.00")
    assert (resident["persons"], resident["person_years"]) == (2, 2)
    assert (
        tops[("inpatient", "student")]["persons"],
        tops[("inpatient", "student")]["person_years"],
    ) == (0, 1)
    assert tops[("serious_illness", "")]["persons"] == 1
    assert tops[("serious_illness", "")]["amount"] == "400000.00"
    si = view["serious_illness"]
    assert (si["persons"], si["amount"]) == (2, "401234.56")
    assert si["by_scheme"] == [{"scheme": "resident", "persons": 2, "amount": "401234.56"}]


def test_top_lines_are_counted_in_chunks(engine: Engine, services: Services) -> None:
    """A chunk smaller than the region's person-years reads them all, once."""
    world(engine)
    for person in (C1, C2, G1, G2):
        _put_year(engine, person, pooled_cost="300000.00")
    with UnitOfWork(engine) as uow:
        chunks = list(uow.console.person_year_states(CITY, YEAR, chunk=3))
    assert [len(c) for c in chunks] == [3, 1]
    view = services.console.dashboard(CITY_CLERK, CITY, YEAR)
    assert sum(t["persons"] for t in view["top_lines"] if t["line"] == "inpatient") == 4
