"""The explanation stored once, as data (issue 18): the settlement's row keeps the steps
without their words, the idempotency key's answer keeps no copy of them, and the first
answer, its replay and the settlement read back show the same steps in the same words.
On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from integration.world import bill_json, register
from yibao.adapters.db import tables as t
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import search_path
from yibao.adapters.scenario_files import load_scenario

TESTS = Path(__file__).resolve().parent.parent
CHAIN = TESTS / "scenarios" / "river-county" / "rc-referral-up-thresholds-continued.yaml"


def test_one_stored_copy_of_the_steps_read_in_the_same_words(
    engine: Engine, client: TestClient
) -> None:
    scenario = load_scenario(CHAIN)
    with UnitOfWork(engine) as uow:
        who = register(uow, scenario, search_path())
        uow.commit()
    enc = scenario.encounters[0]
    headers = {"X-Institution": enc.hospital.id, "Idempotency-Key": "stored-once"}
    body = bill_json(who.card_number, enc, {})
    first = client.post("/v1/settlements", json=body, headers=headers)
    assert first.status_code == 201, first.text
    answer: dict[str, Any] = first.json()
    assert len(answer["explanation"]) > 3
    assert all(step["text"]["en"] and step["text"]["zh"] for step in answer["explanation"])

    with engine.connect() as conn:
        row = conn.execute(
            select(t.settlements.c.explanation).where(t.settlements.c.id == answer["id"])
        ).scalar_one()
        kept = conn.execute(
            select(t.idempotency_keys.c.response).where(t.idempotency_keys.c.key == "stored-once")
        ).scalar_one()
    stored = json.loads(row)
    assert [step[0] for step in stored] == [step["rule"] for step in answer["explanation"]]
    assert "text" not in row
    assert answer["explanation"][0]["text"]["en"] not in row
    assert json.loads(kept).get("explanation") is None  # the row's copy is the only one

    again = client.post("/v1/settlements", json=body, headers=headers)
    assert again.status_code == 201
    assert again.json() == answer
    read = client.get(f"/v1/settlements/{answer['id']}", headers=headers)
    assert read.status_code == 200, read.text
    # (The GET's response model leaves out a parameter's `when`; the words are the same.)
    assert _words(read.json()) == _words(answer)


def _words(view: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(s["rule"], s["result"], s["text"]["en"], s["text"]["zh"]) for s in view["explanation"]]
