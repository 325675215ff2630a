"""The national interface knows which institution is calling: a bearer token of the
institution's account, the x-tif-* signed headers, or a client certificate passed on by
a trusted proxy; `fixmedins_code` must be that institution; every sign-in (9001) and
every refusal is in the audit log."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from starlette.responses import PlainTextResponse
from typer.testing import CliRunner

from integration.conftest import FakeClock
from yibao.adapters.db.tables import audit_log
from yibao.adapters.db.tables_fsi import fsi_sign_ins
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.domain.access import Principal, Role
from yibao.domain.registry import Institution, InstitutionKind
from yibao.entrypoints import cli_common
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.api.fsi_router import FsiFastPath
from yibao.entrypoints.cli import app as cli
from yibao.fsi.auth import FsiAuth, ProxySettings, Refused, issue_credential, tif_headers
from yibao.service.access import OPERATOR
from yibao.service.services import Services

URL = "/fsi/api/callService"
SECRET = b"k" * 32
FINGERPRINT = "AB:" * 31 + "CD"


@pytest.fixture
def services(engine: Engine, policies: PolicyLoader, clock: FakeClock) -> Services:
    return Services.build(lambda: UnitOfWork(engine), policies, clock, secret=SECRET)


@pytest.fixture
def plain(services: Services) -> Iterator[TestClient]:
    """A client that sends exactly the headers a test gives (no signing of its own)."""
    with TestClient(create_app(services)) as c:
        yield c


def two_hospitals(engine: Engine) -> None:
    """Sample City with two designated hospitals, H1 and H2."""
    with UnitOfWork(engine) as uow:
        uow.registry.add_region("sample-city", "样本市", "Sample City", "990100")
        for code in ("H1", "H2"):
            uow.registry.add_institution(
                Institution(code, "sample-city", code, 2, InstitutionKind.HOSPITAL, True)
            )
        uow.commit()


@pytest.fixture
def tokens(engine: Engine, services: Services) -> dict[str, str]:
    two_hospitals(engine)
    made = {
        code: services.access.create_account(
            OPERATOR, code.lower(), Role.INSTITUTION, code, institution_id=code
        )["token"]
        for code in ("H1", "H2")
    }
    made["clerk"] = services.access.create_account(
        OPERATOR, "clerk", Role.CLERK, "clerk", region="sample-city"
    )["token"]
    return made


def sign_in(fixmedins: str = "H1") -> bytes:
    return json.dumps(
        {
            "infno": "9001",
            "msgid": f"{fixmedins}{time.time_ns()}",
            "mdtrtarea_admvs": "990100",
            "opter_type": "1",
            "opter": "001",
            "opter_name": "收费员",
            "inf_time": "2026-06-01 09:00:00",
            "fixmedins_code": fixmedins,
            "input": {"signIn": {"opter_no": "001", "mac": "00", "ip": "10.0.0.1"}},
        }
    ).encode()


def post(client: TestClient, headers: dict[str, str], body: bytes | None = None) -> Any:
    answer = client.post(URL, content=body or sign_in(), headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def audit(engine: Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action)))


def sign_ins(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(fsi_sign_ins)).scalar_one())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_without_a_credential_nothing_is_answered_and_the_refusal_is_logged(
    engine: Engine, plain: TestClient, tokens: dict[str, str]
) -> None:
    for headers in ({}, {"Authorization": "Basic eDp5"}, bearer("yb_not-a-token")):
        answer = post(plain, headers)
        assert answer["infcode"] == -1
        assert "身份认证失败" in answer["err_msg"]
        assert answer["output"] is None
    assert sign_ins(engine) == 0
    assert len(audit(engine, "fsi.refused")) == 3
    # A staff account's token is no institution's.
    refused = post(plain, bearer(tokens["clerk"]))
    assert "不是定点医药机构的账户" in refused["err_msg"]
    assert sign_ins(engine) == 0


def test_a_bearer_token_signs_in_its_own_institution_only(
    engine: Engine, plain: TestClient, tokens: dict[str, str]
) -> None:
    ok = post(plain, bearer(tokens["H1"]), sign_in("H1"))
    assert ok["infcode"] == 0, ok["err_msg"]
    logged = audit(engine, "fsi.sign_in")
    assert [(r.actor, r.object_id) for r in logged] == [("h1", "H1")]
    assert json.loads(logged[0].after)["sign_no"] == ok["output"]["signinoutb"]["sign_no"]
    other = post(plain, bearer(tokens["H1"]), sign_in("H2"))
    assert other["infcode"] == -1
    assert "fixmedins_code" in other["err_msg"]
    assert sign_ins(engine) == 1
    refusal = audit(engine, "fsi.refused")
    assert [(r.actor, json.loads(r.after)["fixmedins_code"]) for r in refusal] == [("h1", "H2")]


def test_the_x_tif_signed_headers_of_an_issued_credential(
    engine: Engine, plain: TestClient, services: Services, tokens: dict[str, str]
) -> None:
    made = issue_credential(services.access, SECRET, OPERATOR, "h1")
    headers = tif_headers(made["paasid"], made["paas_token"])
    assert post(plain, headers)["infcode"] == 0
    # The same nonce again is a replay.
    assert "重放" in post(plain, headers)["err_msg"]
    wrong = tif_headers(made["paasid"], "not-the-token")
    assert "签名不正确" in post(plain, wrong)["err_msg"]
    stale = tif_headers(made["paasid"], made["paas_token"], at=time.time() - 3600)
    assert "5分钟" in post(plain, stale)["err_msg"]
    assert (
        "fixmedins_code"
        in post(plain, tif_headers(made["paasid"], made["paas_token"]), sign_in("H2"))["err_msg"]
    )
    # Neither the paasid nor the token signs anyone in as a bearer token.
    for token in (made["paasid"], made["paas_token"]):
        assert post(plain, bearer(token))["infcode"] == -1
        assert plain.get("/v1/me", headers=bearer(token)).status_code == 401
    # Revoking the account's tokens revokes the credential.
    services.access.revoke_tokens(OPERATOR, "h1")
    revoked = post(plain, tif_headers(made["paasid"], made["paas_token"]))
    assert "吊销" in revoked["err_msg"]
    assert sign_ins(engine) == 1


def test_a_credential_is_issued_for_an_institution_account_of_the_clerks_region(
    services: Services, tokens: dict[str, str]
) -> None:
    city = Principal("c", Role.CLERK, region="sample-city")
    county = Principal("k", Role.CLERK, region="hill-county")
    assert issue_credential(services.access, SECRET, city, "h1")["institution_id"] == "H1"
    with pytest.raises(Exception, match="works for hill-county"):
        issue_credential(services.access, SECRET, county, "h1")
    with pytest.raises(Exception, match="not an institution"):
        issue_credential(services.access, SECRET, city, "clerk")


def test_a_client_certificate_counts_only_from_a_trusted_proxy(
    engine: Engine, services: Services, tokens: dict[str, str]
) -> None:
    issue_credential(services.access, SECRET, OPERATOR, "h2", [FINGERPRINT])
    proxy = ProxySettings("x-client-cert-sha256", ("10.0.0.0/8",))
    auth = FsiAuth(services.access, SECRET, proxy)
    headers = {"x-client-cert-sha256": FINGERPRINT.replace(":", "").lower()}
    who = auth.authenticate(headers, "10.1.2.3")
    assert (who.role, who.institution_id) == (Role.INSTITUTION, "H2")
    with pytest.raises(Refused, match="缺少机构凭证"):
        auth.authenticate(headers, "192.168.1.1")  # the header from anyone else is ignored
    with pytest.raises(Refused, match="未登记"):
        auth.authenticate({"x-client-cert-sha256": "00" * 32}, "10.1.2.3")


def test_the_command_line_issues_a_credential_the_server_accepts(
    engine: Engine,
    plain: TestClient,
    clock: FakeClock,
    tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        cli_common,
        "services",
        lambda e, p, *_: Services.build(lambda: UnitOfWork(e), p, clock, secret=SECRET),
    )
    monkeypatch.setenv("YIBAO_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    printed = CliRunner().invoke(cli, ["account", "fsi-credential", "h1"])
    assert printed.exit_code == 0, printed.output
    made = json.loads(printed.output)
    assert post(plain, tif_headers(made["paasid"], made["paas_token"]))["infcode"] == 0
    assert audit(engine, "fsi.credential")[0].object_id == "h1"


def test_a_credential_seen_lately_is_not_read_again_and_a_revoked_one_stops_at_once(
    services: Services, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    made = issue_credential(services.access, SECRET, OPERATOR, "h1")
    auth = FsiAuth(services.access, SECRET)
    reads = [0]
    uow = services.access.uow

    def counted() -> Any:
        reads[0] += 1
        return uow()

    monkeypatch.setattr(services.access, "uow", counted)
    for _ in range(3):  # each message signed anew (a fresh nonce), one read in all
        who = auth.authenticate(tif_headers(made["paasid"], made["paas_token"]), None)
        assert who.institution_id == "H1"
    assert reads[0] == 1
    services.access.revoke_tokens(OPERATOR, "h1")
    with pytest.raises(Refused, match="吊销"):
        auth.authenticate(tif_headers(made["paasid"], made["paas_token"]), None)


def test_a_message_is_answered_without_the_router(
    services: Services, tokens: dict[str, str]
) -> None:
    app = create_app(services)  # its state: the credential checks, the services
    walked: list[str] = []

    async def router(scope: Any, receive: Any, send: Any) -> None:
        walked.append(scope["path"])
        await PlainTextResponse("the router", status_code=404)(scope, receive, send)

    fast = FsiFastPath(router)

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        scope["app"] = app  # as the application sets it before its middleware
        await fast(scope, receive, send)

    client = TestClient(outer)  # no lifespan: the application's state is made already
    for url in (URL, "/fsi/api/rsfComIfsService/callService"):
        answer = client.post(url, content=sign_in(), headers=bearer(tokens["H1"]))
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        assert answer.json()["infcode"] == 0, answer.json()["err_msg"]
    assert walked == []
    assert client.get(URL).status_code == 404  # anything else: the router's
    assert client.post("/fsi/api/other").status_code == 404
    assert walked == [URL, "/fsi/api/other"]
    # The application's own answer (through its layers) is the same envelope.
    with TestClient(app) as client:
        answer = client.post(URL, content=sign_in(), headers=bearer(tokens["H1"]))
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        assert answer.json()["infcode"] == 0
