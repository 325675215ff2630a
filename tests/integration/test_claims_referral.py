"""Manual claims along a referral chain (issue 14): a claim naming the stay it was referred
from (a card settlement, or an earlier approved claim) settles as the counter would —
the threshold continued up the chain, waived down — keeps the chain on its settlement so
that a reversal and `yibao verify` settle it the same, and an origin that cannot start a
chain is refused clearly with nothing written. On SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from integration.auth import account
from integration.world import Registered, bill_json, claim_json, register, register_person
from yibao.adapters.db import tables as t
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import search_path
from yibao.adapters.scenario_files import Scenario, load_scenario
from yibao.bootstrap import PolicyLoader
from yibao.domain.access import Role
from yibao.domain.model import Encounter, Hospital, Kind, Line, LineClass
from yibao.domain.registry import Enrolment, Institution, InstitutionKind
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.web.session import SESSION_COOKIE
from yibao.service.services import Services
from yibao.service.verify import verify

RIVER = Path(__file__).resolve().parent.parent / "scenarios" / "river-county"
UP = RIVER / "rc-referral-up-thresholds-continued.yaml"
DOWN = RIVER / "rc-referral-down-no-threshold-same-level-up.yaml"


def _registered(engine: Engine, path: Path) -> tuple[Registered, Scenario]:
    scenario = load_scenario(path)
    with UnitOfWork(engine) as uow:
        who = register(uow, scenario, search_path())
        uow.commit()
    return who, scenario


def _card(client: TestClient, who: Registered, enc: Encounter, ids: dict[str, int]) -> Any:
    answer = client.post(
        "/v1/settlements",
        json=bill_json(who.card_number, enc, ids),
        headers={"X-Institution": enc.hospital.id},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _claim(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    """Submitted, then approved by the clerk: the claim with its booked settlement."""
    submitted = client.post("/v1/claims", json=body)
    assert submitted.status_code == 201, submitted.text
    approved = client.post(f"/v1/claims/{submitted.json()['id']}/approval")
    assert approved.status_code == 200, approved.text
    claim: dict[str, Any] = approved.json()
    return claim


def _split(settlement: dict[str, Any]) -> tuple[str, str, str]:
    return settlement["threshold"], settlement["basic"], settlement["personal"]


def test_claims_along_an_upward_chain_pay_what_the_card_would(
    engine: Engine, client: TestClient, policies: PolicyLoader
) -> None:
    """rc-referral-up: level 1 by card (300), then two claims: level 2 TCM referred from
    the card stay (400: pays 100), level 3 referred from that claim (800: pays 400) — the
    scenario's numbers, each claim's proposal equal to its booking."""
    who, scenario = _registered(engine, UP)
    e1, e2, e3 = scenario.encounters
    first = _card(client, who, e1, {})
    assert _split(first) == ("300.00", "1600.00", "700.00")
    body2 = {**claim_json(who.person_id, scenario.region, e2), "referred_from": first["id"]}
    proposal = client.post("/v1/claims", json=body2).json()
    assert proposal["referred_from"] == first["id"]
    assert _split(proposal["proposal"]) == ("100.00", "7000.00", "3100.00")
    approved = client.post(f"/v1/claims/{proposal['id']}/approval")
    second = approved.json()["settlement"]
    assert _split(second) == ("100.00", "7000.00", "3100.00")
    assert second["referred_from"] == first["id"]
    body3 = {
        **claim_json(who.person_id, scenario.region, e3),
        "referred_from_claim": proposal["id"],
    }
    third = _claim(client, body3)
    assert _split(third["settlement"]) == ("400.00", "12000.00", "8400.00")
    steps = {s["rule"]: s for s in third["settlement"]["explanation"]}
    assert steps["threshold_continued"]["args"] == {"origin": "2026/2", "before": "400.00"}
    # The chain in words, nearest first: the claimed TCM stay, then the card stay.
    chain = client.get(f"/v1/claims/{third['id']}").json()["chain"]
    assert [(c["settlement_id"], c["hospital"], c["channel"], c["threshold"]) for c in chain] == [
        (second["id"], "hospital H2T", "claim", "100.00"),
        (first["id"], "hospital H1", "card", "300.00"),
    ]
    assert verify(lambda: UnitOfWork(engine), policies, year=2026).problems == []


def test_the_console_review_tells_the_chain_in_words(
    engine: Engine, client: TestClient, services: Services
) -> None:
    """The clerk reviewing a claim reads where it was referred from: the hospital by
    name, the date, the level and the threshold charged there; in Chinese too."""
    who, scenario = _registered(engine, UP)
    e1, e2, _ = scenario.encounters
    first = _card(client, who, e1, {})
    body = {**claim_json(who.person_id, scenario.region, e2), "referred_from": first["id"]}
    submitted = client.post("/v1/claims", json=body).json()
    plain = client.post("/v1/claims", json={**body, "referred_from": None, "date": "2026-05-01"})
    pages = TestClient(create_app(services), follow_redirects=False)
    header = account(services, Role.CLERK, region=scenario.region)["Authorization"]
    pages.cookies.set(SESSION_COOKIE, header.split()[1])
    path = f"/console/queues/claims/{submitted['id']}"
    shown = pages.get(path, params={"lang": "en"})
    assert shown.status_code == 200, shown.text
    assert 'data-testid="claim-chain"' in shown.text
    assert "the stay at hospital H1 on 2026-03-01 (level 1): threshold" in shown.text
    assert "300.00" in shown.text.split('data-testid="claim-chain"')[1].split("</dd>")[0]
    assert "在hospital H1的住院（1级）" in pages.get(path, params={"lang": "zh"}).text
    other = pages.get(f"/console/queues/claims/{plain.json()['id']}", params={"lang": "en"})
    assert 'data-testid="claim-chain"' not in other.text


def test_a_claim_referred_down_pays_no_threshold_and_a_reversal_keeps_the_chain(
    engine: Engine, client: TestClient, policies: PolicyLoader
) -> None:
    """rc-referral-down: level 3 by card (800), a claim at level 1 referred down from it
    pays no threshold (5,000 x 80%), and one referred from that at the same level counts
    as up (300 - 800 < 0: none). Reversing the card stay re-settles the claims as the
    counter's chain would: the first claim now starts its own episode (300)."""
    who, scenario = _registered(engine, DOWN)
    e1, e2, e3 = scenario.encounters[:3]
    first = _card(client, who, e1, {})
    assert _split(first) == ("800.00", "6000.00", "4800.00")
    body = {**claim_json(who.person_id, scenario.region, e2), "referred_from": first["id"]}
    down = _claim(client, body)["settlement"]
    assert _split(down) == ("0.00", "4000.00", "1000.00")
    assert "threshold_waived" in {s["rule"] for s in down["explanation"]}
    same = _claim(
        client, {**claim_json(who.person_id, scenario.region, e3), "referred_from": down["id"]}
    )["settlement"]
    assert _split(same) == ("0.00", "1600.00", "400.00")
    reversal = client.post(
        f"/v1/settlements/{first['id']}/reversal",
        json={"reason": "refund"},
        headers={"X-Institution": e1.hospital.id},
    )
    assert reversal.status_code == 200, reversal.text
    changes = {a["settlement_id"]: a["difference"] for a in reversal.json()["adjustments"]}
    assert changes[down["id"]]["threshold"] == "300.00"
    assert changes[down["id"]]["basic"] == "-240.00"  # 300 x 80% less from the fund
    assert verify(lambda: UnitOfWork(engine), policies, year=2026).problems == []


def _another(engine: Engine, scenario: Scenario, suffix: str) -> Registered:
    """Another person of the scenario's region and year (its places registered already)."""
    with UnitOfWork(engine) as uow:
        other = register_person(uow, scenario, f"{scenario.person.id}-{suffix}", search_path())
        uow.commit()
    return other


def test_the_same_stays_by_claim_and_by_card_settle_alike(
    engine: Engine, client: TestClient
) -> None:
    """The issue's county: a stay at the TCM hospital (level 3: 600) then one referred up
    to the People's hospital (level 3 general: 800) pays the 200 difference only — by card
    and by claim alike to the fen, for two persons of the same year."""
    who, scenario = _registered(engine, UP)
    with UnitOfWork(engine) as uow:
        uow.registry.add_institution(
            Institution(
                "H3T",
                scenario.region,
                "county TCM hospital",
                3,
                InstitutionKind.HOSPITAL,
                True,
                type="tcm",
            )
        )
        uow.commit()
    tcm = Encounter(
        "T1",
        date(2026, 4, 1),
        Kind.INPATIENT,
        Hospital("H3T", 3, type="tcm"),
        (Line(LineClass.A, Decimal("5600.00")),),
    )
    general = replace(
        tcm,
        id="T2",
        date=date(2026, 4, 9),
        hospital=Hospital("H3", 3),
        lines=(Line(LineClass.A, Decimal("10200.00")),),
        referred_from="T1",
    )
    other = _another(engine, scenario, "B")
    by_card = _card(client, other, tcm, {})
    card_up = _card(client, other, general, {"T1": by_card["id"]})
    start = _card(client, who, tcm, {})
    assert _split(start) == _split(by_card) == ("600.00", "3000.00", "2600.00")
    body = {**claim_json(who.person_id, scenario.region, general), "referred_from": start["id"]}
    claimed = _claim(client, body)["settlement"]
    assert _split(claimed) == _split(card_up) == ("200.00", "6000.00", "4200.00")


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"referred_from": 999999}, "unknown_origin", "referred_from"),
        ({"referred_from_claim": 999999}, "unknown_origin", "referred_from_claim"),
        ({"referred_from": "OTHER"}, "unknown_origin", "referred_from"),
        ({"referred_from": "OUTPATIENT"}, "invalid_referred_from", "referred_from"),
        ({"referred_from": "FIRST", "date": "2026-02-01"}, "invalid_referred_from", None),
        ({"referred_from": "FIRST", "date": "2027-03-05"}, "invalid_referred_from", None),
        ({"referred_from": "FIRST", "kind": "outpatient"}, "invalid_referred_from", None),
        ({"referred_from_claim": "PENDING"}, "invalid_referred_from", "referred_from_claim"),
        (
            {"referred_from": "FIRST", "referred_from_claim": "PENDING"},
            "invalid_referred_from",
            None,
        ),
    ],
)
def test_an_origin_that_starts_no_chain_is_refused_and_nothing_is_written(
    engine: Engine,
    client: TestClient,
    change: dict[str, Any],
    code: str,
    field: str | None,
) -> None:
    """Not this person's, not a stay, after the stay or in another year, a claim not yet
    approved, both named: 422 with the code and field, and no claim stored."""
    who, scenario = _registered(engine, UP)
    e1, e2, _ = scenario.encounters
    stranger = _another(engine, scenario, "B")  # another family's stay
    with UnitOfWork(engine) as uow:  # a claim of next year may be made
        uow.registry.add_enrolment(
            Enrolment(
                who.person_id,
                2027,
                scenario.person.scheme,
                "active",
                date(2027, 1, 1),
                date(2027, 12, 31),
            )
        )
        uow.commit()
    ids = {
        "FIRST": _card(client, who, e1, {})["id"],
        "OTHER": _card(client, stranger, e1, {})["id"],
        "OUTPATIENT": _card(
            client, who, replace(e1, id="O", date=date(2026, 3, 2), kind=Kind.OUTPATIENT), {}
        )["id"],
    }
    pending = client.post(
        "/v1/claims", json={**claim_json(who.person_id, scenario.region, e1), "date": "2026-03-03"}
    )
    ids["PENDING"] = pending.json()["id"]
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(t.claims)).scalar_one()
    body = {**claim_json(who.person_id, scenario.region, e2)}
    body.update({k: ids.get(v, v) if isinstance(v, str) else v for k, v in change.items()})
    answer = client.post("/v1/claims", json=body)
    assert (answer.status_code, answer.json()["code"]) == (422, code), answer.text
    if field is not None:
        assert answer.json()["details"]["field"] == field
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.claims)).scalar_one() == before
