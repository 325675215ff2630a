"""The answer kept for an idempotency key (service/kept_answer.py): a reference to the
settlement, not a copy of its answer, and a retry gets the first answer byte for byte,
rendered again from the settlement's rows; also once the settlement is reversed, and
from keys kept the ways before (the whole answer, or the answer without its
explanation). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from integration.world import bill_json, register
from yibao.adapters.db import tables as t
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import search_path
from yibao.adapters.scenario_files import load_scenario

TESTS = Path(__file__).resolve().parent.parent
CHAIN = TESTS / "scenarios" / "river-county" / "rc-referral-up-thresholds-continued.yaml"
KEY = "kept-once"


def _first(engine: Engine, client: TestClient) -> tuple[dict[str, object], dict[str, str], bytes]:
    scenario = load_scenario(CHAIN)
    with UnitOfWork(engine) as uow:
        who = register(uow, scenario, search_path())
        uow.commit()
    enc = scenario.encounters[0]
    headers = {"X-Institution": enc.hospital.id, "Idempotency-Key": KEY}
    body = bill_json(who.card_number, enc, {})
    first = client.post("/v1/settlements", json=body, headers=headers)
    assert first.status_code == 201, first.text
    return body, headers, first.content


def _kept(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                select(t.idempotency_keys.c.response).where(t.idempotency_keys.c.key == KEY)
            ).scalar_one()
        )


def _keep(engine: Engine, response: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(t.idempotency_keys)
            .where(t.idempotency_keys.c.key == KEY)
            .values(response=response)
        )


def test_the_key_keeps_a_reference_and_a_retry_gets_the_first_answer_byte_for_byte(
    engine: Engine, client: TestClient
) -> None:
    body, headers, first = _first(engine, client)
    answer = json.loads(first)
    kept = _kept(engine)
    assert json.loads(kept)["settlement"] == answer["id"]
    # None of the answer's words or lines is copied: a tenth of its bytes at most.
    assert len(kept) * 10 < len(first)
    assert answer["summary"]["en"] not in kept
    assert answer["lines"][0]["name"] not in kept

    again = client.post("/v1/settlements", json=body, headers=headers)
    assert again.status_code == 201
    assert again.content == first

    # Reversed later: a retry still gets the answer the settlement was made with.
    with engine.begin() as conn:
        conn.execute(
            update(t.settlements)
            .where(t.settlements.c.id == answer["id"])
            .values(status="reversed")
        )
    reversed_ = client.post("/v1/settlements", json=body, headers=headers)
    assert reversed_.content == first


@pytest.mark.parametrize("explanation", ["kept", "left to the row"])
def test_keys_kept_before_replay_as_they_were_kept(
    engine: Engine, client: TestClient, explanation: str
) -> None:
    body, headers, first = _first(engine, client)
    view = json.loads(first)
    if explanation == "left to the row":
        view["explanation"] = None
    _keep(engine, orjson.dumps(view).decode())

    again = client.post("/v1/settlements", json=body, headers=headers)
    assert again.status_code == 201
    assert again.content == first


def test_another_request_with_the_key_is_refused_as_before(
    engine: Engine, client: TestClient
) -> None:
    body, headers, _ = _first(engine, client)
    other = {**body, "date": "2026-02-02"}
    again = client.post("/v1/settlements", json=other, headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == "idempotency_key_reused"
