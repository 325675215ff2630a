"""A family's look-ups on both databases: designated institutions by region, level, kind
and name; catalogue items by name or code as in force on a day; the itemised lines of
each settlement in the member's year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.roles_world import C1, CITY, COUNTY, build
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Principal, Role
from yibao.domain.catalogue import Entry, Restriction
from yibao.domain.model import Kind, LineClass, Scheme
from yibao.domain.registry import Institution, InstitutionKind
from yibao.service.claims import Claim, ClaimLine, ClaimReason
from yibao.service.errors import ServiceError
from yibao.service.services import Services

GUARDIAN = Principal("g1", Role.GUARDIAN, person_id="G1")


def more(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        reg = uow.registry
        reg.add_institution(Institution("P1", CITY, "中心药店", 0, InstitutionKind.PHARMACY, True))
        reg.add_institution(Institution("X1", CITY, "私立诊所", 1, InstitutionKind.CLINIC, False))
        reg.add_institution(
            Institution("K1", COUNTY, "山县人民医院", 2, InstitutionKind.HOSPITAL, True)
        )
        uow.catalogue.add_entries(
            CITY,
            [
                Entry(
                    "XJ01DDA006",
                    "头孢曲松钠注射剂",
                    LineClass.B,
                    date(2026, 1, 1),
                    caps={2: Decimal("180.00"), 3: Decimal("200.00")},
                    ratios={"*": Decimal("0.1")},
                    restriction=Restriction(max_age=17, wording="限儿童"),
                    source="test",
                ),
                Entry(
                    "XJ01DDA006", "头孢曲松钠注射剂", LineClass.A, date(2027, 1, 1), source="test"
                ),
            ],
        )
        uow.commit()


def test_designated_institutions_by_region_level_kind_and_name(
    engine: Engine, client: TestClient, services: Services
) -> None:
    build(engine, services, client)
    more(engine)
    lookup = services.member.lookup
    everywhere = {i["name"] for i in lookup.institutions(GUARDIAN)}
    assert everywhere == {"hospital I1", "hospital I2", "中心药店", "山县人民医院"}  # not X1
    assert [i["id"] for i in lookup.institutions(GUARDIAN, region=COUNTY)] == ["K1"]
    assert [i["id"] for i in lookup.institutions(GUARDIAN, kind="pharmacy")] == ["P1"]
    assert {i["id"] for i in lookup.institutions(GUARDIAN, level=2)} == {"I1", "I2", "K1"}
    assert [i["id"] for i in lookup.institutions(GUARDIAN, words="人民")] == ["K1"]
    assert lookup.institutions(GUARDIAN, words="100%") == []  # a wildcard is a character
    with pytest.raises(ServiceError) as refused:
        lookup.institutions(GUARDIAN, level=7)
    assert refused.value.code == "invalid_field"
    with pytest.raises(ServiceError) as refused:
        lookup.institutions(Principal("i1", Role.INSTITUTION, institution_id="I1"))
    assert refused.value.code == "forbidden"


def test_catalogue_items_as_in_force_on_a_day(
    engine: Engine, client: TestClient, services: Services
) -> None:
    build(engine, services, client)
    more(engine)
    lookup = services.member.lookup
    [found] = lookup.catalogue(GUARDIAN, CITY, "头孢", date(2026, 6, 1))
    assert found["cls"] == "B"
    assert found["caps"] == {2: "180.00", 3: "200.00"}
    assert found["ratios"] == {"*": "0.1"}
    assert found["restriction"]["max_age"] == 17
    assert found["restriction"]["wording"] == "限儿童"
    [later] = lookup.catalogue(GUARDIAN, CITY, "DDA006", date(2027, 3, 1))
    assert later["cls"] == "A"
    assert later["restriction"] is None
    base = lookup.catalogue(GUARDIAN, CITY, "test item", date(2026, 6, 1))
    assert {b["cls"] for b in base} == {"A", "B", "self_pay"}  # the base items, undated
    with pytest.raises(ServiceError) as refused:
        lookup.catalogue(GUARDIAN, CITY, "头")
    assert refused.value.code == "too_short"


def test_the_year_carries_each_settlements_lines(
    engine: Engine, client: TestClient, services: Services
) -> None:
    world = build(engine, services, client)
    year = services.member.year(GUARDIAN, C1, 2026)
    lines = year["lines"][world.settlement]
    assert [(ln["code"], ln["cls"], ln["amount"]) for ln in lines] == [("TEST-A", "A", "100.00")]
    assert sum(Decimal(ln["amount"]) for ln in lines) == Decimal(year["settlements"][0]["total"])


def test_premium_status_and_how_to_pay(
    engine: Engine, client: TestClient, services: Services
) -> None:
    world = build(engine, services, client)
    clerk = services.access.authenticate(world.accounts["clerk"]["Authorization"].split()[1])
    assert clerk is not None
    first = {p["id"]: p["premiums"] for p in services.member.coverage(GUARDIAN)["persons"]}
    assert [y["status"] for y in first["G1"]["years"]] == ["paid"]  # 2026, active
    assert first["G1"]["next"] == {
        "year": 2027,
        "enrolled": False,
        "open": True,  # today is 2026-10-15
        "opens": "2026-09-01",
        "closes": "2026-11-30",
    }
    services.enrolment.enrol(clerk, "G1", 2027, Scheme.RESIDENT)
    services.collection.open_accounts(clerk, CITY, 2027)
    after = {p["id"]: p["premiums"] for p in services.member.coverage(GUARDIAN)["persons"]}
    due = after["G1"]["years"][-1]
    assert (due["year"], due["status"], due["closes"]) == (2027, "pending", "2026-11-30")
    assert Decimal(due["due"]) > 0
    assert due["account"]
    assert due["account_amount"] == due["due"]
    assert after["G1"]["next"]["enrolled"] is True


def test_notices_of_decisions_with_an_unread_count(
    engine: Engine, client: TestClient, services: Services
) -> None:
    world = build(engine, services, client)
    token = world.accounts["guardian"]["Authorization"].split()[1]
    guardian = services.access.authenticate(token)
    clerk = services.access.authenticate(world.accounts["clerk"]["Authorization"].split()[1])
    assert guardian is not None
    assert clerk is not None
    notices = services.member.notices
    assert notices.unread(guardian) == 0
    services.certificates.file_remote_treatment(
        clerk, C1, COUNTY, date(2026, 11, 1), date(2026, 12, 31)
    )
    made = services.claims.submit(clerk, claim_for(C1))
    services.claims.approve(clerk, made["id"])
    services.claims.submit(clerk, claim_for("C2"))  # another family's: not a notice here
    assert notices.unread(guardian) == 2
    shown = notices.read(guardian)
    assert [(n["action"], n["name"], n["new"]) for n in shown["items"]] == [
        ("claim.approve", "person C1", True),
        ("filing.create", "person C1", True),
    ]
    assert notices.unread(guardian) == 0  # read
    services.claims.pay(clerk, made["id"])
    assert notices.unread(guardian) == 1
    again = notices.read(guardian)
    assert [n["new"] for n in again["items"]] == [True, False, False]


def claim_for(person: str) -> Claim:
    return Claim(
        person_id=person,
        reason=ClaimReason.EMERGENCY_ELSEWHERE,
        kind=Kind.EMERGENCY,
        date=date(2026, 7, 3),
        hospital_name="外地人民医院",
        hospital_level=2,
        hospital_region=COUNTY,
        hospital_designated=True,
        lines=(ClaimLine(Decimal("300.00"), cls=LineClass.A),),
    )


def test_a_spouse_or_parent_is_bound_with_their_consent(
    engine: Engine, client: TestClient, services: Services
) -> None:
    build(engine, services, client)
    links = services.member.links
    other = Principal("g2", Role.GUARDIAN, person_id="G2")
    with UnitOfWork(engine) as uow:
        g2 = uow.registry.person("G2")
        c2 = uow.registry.person("C2")
    assert g2 is not None
    assert c2 is not None
    for number, name, code in (
        (g2.id_number, "someone else", "real_name_mismatch"),
        (c2.id_number, c2.name, "not_an_adult"),
        ("123", g2.name, "invalid_id_number"),
    ):
        with pytest.raises(ServiceError) as refused:
            links.request(GUARDIAN, number, name, "spouse")
        assert refused.value.code == code
    asked = links.request(GUARDIAN, g2.id_number, g2.name, "spouse")
    with pytest.raises(ServiceError) as twice:
        links.request(GUARDIAN, g2.id_number, g2.name, "spouse")
    assert twice.value.code == "already_linked"
    # Not before the consent.
    assert [p["id"] for p in services.member.family(GUARDIAN)] == ["G1", "C1"]
    with pytest.raises(ServiceError) as hidden:
        services.member.year(GUARDIAN, "G2", 2026)
    assert hidden.value.status == 404
    with pytest.raises(ServiceError) as not_theirs:
        links.respond(GUARDIAN, asked["id"], True)  # only the adult answers
    assert not_theirs.value.status == 404
    assert links.links(other)["asking"][0]["name"] == "person G1"
    links.respond(other, asked["id"], True)
    assert [p["id"] for p in services.member.family(GUARDIAN)] == ["G1", "C1", "G2"]
    assert services.member.year(GUARDIAN, "G2", 2026)["name"] == "person G2"
    assert "C2" not in [p["id"] for p in services.member.family(GUARDIAN)]  # not their child
    links.respond(other, asked["id"], False)  # withdrawn
    assert [p["id"] for p in services.member.family(GUARDIAN)] == ["G1", "C1"]
    with UnitOfWork(engine) as uow:
        actions = [
            e["action"]
            for e in uow.audit.entries(object_type="family_link", object_id=str(asked["id"]))
        ]
    assert actions == ["family.withdraw", "family.accept", "family.request"]
