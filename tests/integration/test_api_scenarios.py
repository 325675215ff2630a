"""Every scenario file, sent bill by bill through the HTTP API, settles exactly as
`yibao scenario run` settles it: on SQLite and on PostgreSQL. river-county's and
delta-town's too: the hospital's type and province come from the registry, the person's
categories from the registry, and the cause, the delivery and the stay a stay was
referred from (by its settlement id) with the bill."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.world import bill_json, claim_json, register
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import search_path
from yibao.adapters.scenario_files import load_scenario
from yibao.bootstrap import PolicyLoader
from yibao.domain.engine.settle import order_of_settlement
from yibao.domain.money import fmt
from yibao.service import scenarios
from yibao.service.verify import verify

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
FILES = sorted(
    [
        *(ROOT / "examples").glob("*.yaml"),
        *(TESTS / "scenarios").glob("*.yaml"),
        *(TESTS / "scenarios" / "river-county").glob("*.yaml"),
        *(TESTS / "regions" / "delta-town-scenarios").glob("*.yaml"),
        *(TESTS / "regions" / "test-town-scenarios").glob("*.yaml"),
    ]
)
POLICY_PATH = search_path([TESTS / "regions"])


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_scenario_settles_the_same_through_the_api(
    path: Path, engine: Engine, client: TestClient, policies: PolicyLoader
) -> None:
    scenario = load_scenario(path)
    expected = scenarios.run(scenario, PolicyLoader(POLICY_PATH))
    with UnitOfWork(engine) as uow:
        who = register(uow, scenario, POLICY_PATH)
        uow.commit()
    by_id = {r.encounter_id: r for r in expected.encounters}
    settled: dict[str, int] = {}  # settlement ids, for referral chains
    for enc in order_of_settlement(scenario.encounters):
        want = by_id[enc.id]
        if enc.hospital.designated:
            answer = client.post(
                "/v1/settlements",
                json=bill_json(who.card_number, enc, settled),
                headers={"X-Institution": enc.hospital.id},
            )
            assert answer.status_code == 201, answer.text
            got = answer.json()
            settled[enc.id] = got["id"]
        else:  # a non-designated place cannot settle by card: paid first, claimed back
            submitted = client.post(
                "/v1/claims", json=claim_json(who.person_id, scenario.region, enc)
            )
            assert submitted.status_code == 201, submitted.text
            approved = client.post(f"/v1/claims/{submitted.json()['id']}/approval")
            assert approved.status_code == 200, approved.text
            got = approved.json()["settlement"]
        assert (got["basic"], got["assistance"], got["institution"], got["personal"]) == (
            fmt(want.basic),
            fmt(want.assistance),
            fmt(want.institution),
            fmt(want.personal),
        ), f"{enc.id}: {got['explanation']}"
        assert (got["refused"] is None) == (want.refused is None)
    # What was stored settles the same again (`yibao verify`): the facts of the bills (a
    # hospital's type and province, the cause, the delivery, the referral chain) and the
    # person's categories are kept, and the stays keyed alike.
    report = verify(lambda: UnitOfWork(engine), policies, year=scenario.year)
    assert report.problems == []
