"""The OpenAPI document describes every operation, and the answers keep to it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.world import bill_json, register
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.scenario_files import load_scenario
from yibao.entrypoints.api.responses import SettlementOut

ROOT = Path(__file__).resolve().parents[2]


def test_every_operation_has_a_typed_answer_and_documented_errors(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    operations = [
        (path, method, op) for path, ops in doc["paths"].items() for method, op in ops.items()
    ]
    assert len(operations) >= 12
    for path, method, op in operations:
        if not path.startswith("/v1"):
            continue
        ok = next(code for code in op["responses"] if code.startswith("2"))
        assert op["responses"]["422"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorOut"
        }, (path, method)
        assert op.get("description") or op.get("summary"), (path, method)
        content = op["responses"][ok]["content"]
        if "application/json" not in content:  # a file download (class list templates)
            assert content, (path, method)
            continue
        schema = content["application/json"]["schema"]
        assert schema.get("$ref") or schema.get("items", {}).get("$ref"), (path, method, schema)
    examples = doc["components"]["schemas"]["SettlementOut"]["examples"]
    SettlementOut.model_validate(examples[0])


def test_settlement_answers_keep_to_the_documented_shape(
    engine: Engine, client: TestClient
) -> None:
    scenario = load_scenario(ROOT / "examples" / "pilot-leukaemia-assistance.yaml")
    with UnitOfWork(engine) as uow:
        who = register(uow, scenario)
        uow.commit()
    enc = scenario.encounters[0]
    answer = client.post(
        "/v1/settlements", json=bill_json(who.card_number, enc), headers={"X-Institution": "H1"}
    )
    assert answer.status_code == 201
    out = SettlementOut.model_validate(answer.json())
    assert (out.basic, out.assistance, out.institution, out.personal) == (
        "56000.00",
        "16000.00",
        "12000.00",
        "11000.00",
    )
    assert all(step.text.zh and step.text.en for step in out.explanation)
