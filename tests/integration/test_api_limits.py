"""Untrusted input is bounded before work starts, and every error has a shape a caller
can act on: 413 before a body is read, {code, message} for the framework's own 4xx,
503 with Retry-After when the database does not answer, no traceback at /fsi."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from integration.event_loops import run_apart
from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.api.errors import DEFAULT_LIMIT
from yibao.service.services import Services

ANON = {"X-Test-As": "anonymous"}


def _asgi(app: Any, path: str, length: int | None) -> tuple[int, bytes, int]:
    """A POST that declares `length` bytes and would send them only if asked: the
    status, the body of the answer, and how many times the app asked for the body."""
    asked = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
        ]
        + ([] if length is None else [(b"content-length", str(length).encode())]),
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    run_apart(app, scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body, asked


@pytest.mark.parametrize("path", ["/v1/settlements", "/v1/auth/tokens", "/fsi/api/callService"])
def test_a_300_mb_body_is_refused_before_it_is_read(services: Services, path: str) -> None:
    status, body, asked = _asgi(create_app(services), path, 300 * 1024 * 1024)
    assert status == 413
    assert b'"code":"body_too_large"' in body
    assert asked == 0


def test_a_body_without_a_length_is_cut_off_at_the_limit(services: Services) -> None:
    status, body, asked = _asgi(create_app(services), "/v1/auth/tokens", None)
    assert status == 413
    assert b'"code":"body_too_large"' in body
    assert asked * 65536 <= DEFAULT_LIMIT + 65536  # read up to the limit, not beyond


def test_a_chunked_body_above_the_limit_is_413_through_the_client(client: TestClient) -> None:
    answer = client.post("/v1/accounts", content=iter([b" " * 65536] * 40))
    assert answer.status_code == 413
    assert answer.json()["code"] == "body_too_large"


def test_a_class_list_may_be_larger_than_an_ordinary_body(client: TestClient) -> None:
    big = b"x" * (DEFAULT_LIMIT + 1)
    answer = client.post(
        "/v1/schools/S1/batches", files={"file": ("list.csv", big)}, data={"year": "2027"}
    )
    assert answer.status_code != 413, answer.text


@pytest.mark.parametrize(
    ("method", "path", "headers", "content", "status", "code"),
    [
        ("POST", "/v1/collection/imports", {"Content-Type": "multipart/form-data"}, b"--x\r\nnonsense", 400, "bad_request"),
        ("POST", "/v1/accounts", {"Content-Type": "application/json"}, b"{not json", 422, "invalid_request"),
        ("GET", "/v1/no-such-thing", {}, b"", 404, "not_found"),
        ("DELETE", "/v1/settlements", {}, b"", 405, "method_not_allowed"),
        ("GET", "/fsi/api/callService", {}, b"", 405, "method_not_allowed"),
    ],
)  # fmt: skip
def test_every_4xx_has_a_code_and_a_message(
    client: TestClient,
    method: str,
    path: str,
    headers: dict[str, str],
    content: bytes,
    status: int,
    code: str,
) -> None:
    answer = client.request(method, path, headers=headers, content=content)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["code"] == code
    assert body["message"]
    assert "detail" not in body


def test_a_database_that_does_not_answer_is_503_with_retry_after(
    policies: PolicyLoader,
) -> None:
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2")
    services = Services.build(lambda: UnitOfWork(engine), policies)
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        for path in ("/v1/me", "/v1/persons/P1"):
            answer = client.get(path, headers={"Authorization": "Bearer yb_some-token"})
            assert answer.status_code == 503, answer.text
            assert answer.headers["Retry-After"] == "5"
            assert answer.json()["code"] == "unavailable"
            assert "Traceback" not in answer.text
        signed = client.post("/v1/auth/tokens", json={"account": "a", "password": "p" * 9})
        assert signed.status_code == 503
    engine.dispose()


def test_deeply_nested_json_at_the_national_interface_is_an_answer_not_a_traceback(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    deep = b'{"infno": "9001", "input": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with caplog.at_level(logging.ERROR):
        answer = client.post("/fsi/api/callService", content=deep, headers={"X-Institution": "H1"})
    assert answer.status_code == 200
    assert answer.json()["infcode"] == -1
    assert "嵌套" in answer.json()["err_msg"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("bad", ["张\x00三", "\u202e三张", "张\x1b三", "张\u2066三"])
def test_text_with_nul_control_or_direction_characters_is_refused_naming_the_field(
    client: TestClient, bad: str
) -> None:
    answer = client.post("/v1/accounts", json={"id": "new-clerk", "role": "clerk", "name": bad})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "invalid_request"
    assert body["message"].startswith("name: ")
    assert "U+" in body["message"]
    nested = client.post(
        "/v1/quotes",
        json={
            "card_number": "C1",
            "kind": "outpatient",
            "date": "2026-03-02",
            "lines": [{"code": bad, "quantity": "1", "unit_price": "1.00"}],
        },
        headers={"X-Institution": "H1"},
    )
    assert nested.status_code == 422, nested.text
    assert "U+" in nested.json()["message"]
