"""The card API's cause, delivery and referral chain (issue 14): checked at the boundary
(a clear 422 naming the field), part of a request's identity for its idempotency key, and
kept with the settlement so that a reversal settles the rest of the year again along the
chain. river-county's referral scenario, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from integration.world import bill_json, claim_json, register
from yibao.adapters.db import tables as t
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import search_path
from yibao.adapters.scenario_files import load_scenario
from yibao.bootstrap import PolicyLoader
from yibao.domain.model import Encounter, Filing
from yibao.service.verify import verify

TESTS = Path(__file__).resolve().parent.parent
CHAIN = TESTS / "scenarios" / "river-county" / "rc-referral-up-thresholds-continued.yaml"


@pytest.fixture
def chain(engine: Engine) -> tuple[str, list[Encounter]]:
    scenario = load_scenario(CHAIN)
    with UnitOfWork(engine) as uow:
        who = register(uow, scenario, search_path())
        uow.commit()
    return who.card_number, list(scenario.encounters)


def _post(client: TestClient, path: str, body: dict[str, Any], at: str, **headers: str) -> Any:
    return client.post(path, json=body, headers={"X-Institution": at, **headers})


def test_the_chain_through_the_api_and_its_reversal(
    chain: tuple[str, list[Encounter]], client: TestClient
) -> None:
    card, (e1, e2, e3) = chain
    ids: dict[str, int] = {}
    paid = []
    for enc in (e1, e2, e3):
        answer = _post(client, "/v1/settlements", bill_json(card, enc, ids), enc.hospital.id)
        assert answer.status_code == 201, answer.text
        ids[enc.id] = answer.json()["id"]
        paid.append((answer.json()["threshold"], answer.json()["basic"]))
    assert paid == [("300.00", "1600.00"), ("100.00", "7000.00"), ("400.00", "12000.00")]
    stored = _get(client, ids["E3"])
    assert (stored["cause"], stored["delivery"], stored["referred_from"]) == (
        "ordinary",
        None,
        ids["E2"],
    )
    steps = {s["rule"]: s for s in stored["explanation"]}
    assert steps["threshold_continued"]["args"] == {"origin": "2026/2", "before": "400.00"}
    # The first stay reversed: the second starts its own episode (its threshold 400, 300
    # more than it paid, 210 less from the fund), the third still continues from it.
    reversed_ = _post(
        client, f"/v1/settlements/{ids['E1']}/reversal", {"reason": "refund"}, e1.hospital.id
    )
    assert reversed_.status_code == 200, reversed_.text
    changes = {a["settlement_id"]: a["difference"] for a in reversed_.json()["adjustments"]}
    assert changes == {ids["E2"]: {**changes[ids["E2"]], "basic": "-210.00"}}
    assert changes[ids["E2"]]["personal"] == "210.00"


def _get(client: TestClient, settlement_id: int) -> dict[str, Any]:
    answer = client.get(f"/v1/settlements/{settlement_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_bad_details_are_clear_errors_and_nothing_is_written(
    chain: tuple[str, list[Encounter]], client: TestClient, engine: Engine
) -> None:
    card, (e1, e2, _) = chain
    first = _post(client, "/v1/settlements", bill_json(card, e1), e1.hospital.id)
    assert first.status_code == 201, first.text
    sid = first.json()["id"]
    stay = bill_json(card, e2, {"E1": sid})
    cases = [
        ({**stay, "referred_from": 999999}, 422, "unknown_origin"),
        ({**stay, "date": "2026-02-01", "referred_from": sid}, 422, "invalid_referred_from"),
        ({**stay, "kind": "outpatient", "delivery": "natural"}, 422, "invalid_delivery"),
        ({**stay, "kind": "outpatient", "referred_from": sid}, 422, "invalid_referred_from"),
        ({**stay, "cause": "fall"}, 422, "invalid_request"),
        ({**stay, "delivery": "breech"}, 422, "invalid_request"),
    ]
    for body, status, code in cases:
        answer = _post(client, "/v1/quotes", body, e2.hospital.id)
        assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
        answer = _post(client, "/v1/settlements", body, e2.hospital.id)
        assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.settlements)).scalar_one() == 1


def test_a_key_names_the_details_too(
    chain: tuple[str, list[Encounter]], client: TestClient
) -> None:
    """The same bill with the same key is the same request; with another cause it is not."""
    card, (e1, _, _) = chain
    body = bill_json(card, e1)
    first = _post(client, "/v1/settlements", body, e1.hospital.id, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.text
    again = _post(client, "/v1/settlements", body, e1.hospital.id, **{"Idempotency-Key": "k-1"})
    assert again.json() == first.json()
    other = _post(
        client,
        "/v1/settlements",
        {**body, "cause": "accident"},
        e1.hospital.id,
        **{"Idempotency-Key": "k-1"},
    )
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    quote = _post(client, "/v1/quotes", {**body, "cause": "accident"}, e1.hospital.id)
    assert quote.status_code == 200, quote.text
    assert quote.json()["basic"] == "1600.00"  # 3,000 a year: well under the cap


ACCIDENTS = TESTS / "scenarios" / "river-county" / "rc-accident-yearly-cap.yaml"


def _claimed(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    submitted = client.post("/v1/claims", json=body)
    assert submitted.status_code == 201, submitted.text
    approved = client.post(f"/v1/claims/{submitted.json()['id']}/approval")
    assert approved.status_code == 200, approved.text
    settlement: dict[str, Any] = approved.json()["settlement"]
    return settlement


def test_manual_claims_take_the_cause_the_delivery_and_the_place(
    engine: Engine, client: TestClient, policies: PolicyLoader
) -> None:
    """river-county: an accident stay claimed after one settled by card is capped at what
    is left of 3,000; a natural delivery claimed is paid its fixed 1,100; a stay at a TCM
    hospital outside the registry, filed, in another province: 1,500 / 50%. Each claim
    keeps its facts, and `yibao verify` settles the year again the same."""
    scenario = load_scenario(ACCIDENTS)
    with UnitOfWork(engine) as uow:
        who = register(uow, scenario, search_path())
        uow.registry.add_filing(
            who.person_id, Filing("far-city", date(2026, 1, 1), date(2026, 12, 31))
        )
        uow.commit()
    e1, e2 = scenario.encounters[:2]
    card = _post(client, "/v1/settlements", bill_json(who.card_number, e1), e1.hospital.id)
    assert card.json()["basic"] == "2380.00"
    body = {**claim_json(who.person_id, scenario.region, e2), "reason": "card_lost"}
    assert body["cause"] == "accident"
    assert _claimed(client, body)["basic"] == "620.00"  # 850 computed, 620 left
    birth = {**body, "cause": "ordinary", "delivery": "natural", "date": "2026-04-01"}
    assert (
        _claimed(client, {**birth, "lines": [{"class": "A", "amount": "3000.00"}]})["basic"]
        == "1100.00"
    )
    far = {
        **body,
        "cause": "ordinary",
        "date": "2026-05-01",
        "hospital_id": None,
        "hospital_name": "far-city TCM hospital",
        "hospital_level": 2,
        "hospital_region": "far-city",
        "hospital_type": "tcm",
        "hospital_province": "other",
        "lines": [{"class": "A", "amount": "11500.00"}],
    }
    paid = _claimed(client, far)
    assert (paid["threshold"], paid["basic"]) == ("1500.00", "5000.00")
    same = _claimed(client, {**far, "date": "2026-06-01", "hospital_province": "same"})
    assert (same["threshold"], same["basic"]) == ("1000.00", "6300.00")  # 10,500 x 60%
    bad = client.post("/v1/claims", json={**far, "delivery": "natural", "kind": "outpatient"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_delivery")
    assert verify(lambda: UnitOfWork(engine), policies, year=2026).problems == []
