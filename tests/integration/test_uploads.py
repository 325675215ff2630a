"""Receipt photos are what their bytes say, never a page in disguise, and are served
back as downloads the browser may not sniff or run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.auth import account
from integration.conftest import FakeClock
from integration.roles_world import build_registry
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.domain.access import Principal, Role
from yibao.domain.model import Kind
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.web.session import SESSION_COOKIE
from yibao.service.errors import ServiceError
from yibao.service.member import ClaimForm
from yibao.service.receipts import receipt_kind
from yibao.service.services import Services

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
FORM = ClaimForm(
    "C1",
    "emergency_elsewhere",
    Kind.EMERGENCY,
    date(2026, 7, 2),
    "外地医院",
    2,
    "hill-county",
    False,
    (("急诊诊查费", Decimal("500.00")),),
)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>",
        b"\xff\xd8\xff\xe0 <svg onload=alert(1)>",
        b"%PDF-1.4 <!DOCTYPE html><body>",
        b"<html>not a photo</html>",
    ],
)
def test_a_page_dressed_as_a_photo_is_refused(data: bytes) -> None:
    with pytest.raises(ServiceError) as refused:
        receipt_kind(data)
    assert refused.value.code == "receipt_type"


def test_photos_are_accepted_by_their_bytes() -> None:
    assert receipt_kind(PNG) == "png"
    assert receipt_kind(b"\xff\xd8\xff\xe0jpeg") == "jpg"
    assert receipt_kind(b"%PDF-1.7\n...") == "pdf"


def test_a_receipt_is_served_as_a_download_that_is_not_sniffed(
    engine: Engine, policies: PolicyLoader, clock: FakeClock, tmp_path: Path
) -> None:
    build_registry(engine)
    services = Services.build(lambda: UnitOfWork(engine), policies, clock, upload_dir=tmp_path)
    me = Principal(account="g", role=Role.GUARDIAN, person_id="G1")
    made = services.member.submit_claim(me, FORM, [PNG])
    token = account(services, Role.GUARDIAN, person_id="G1")["Authorization"].split()[1]
    web = TestClient(create_app(services), cookies={SESSION_COOKIE: token})
    answer = web.get(f"/app/claims/{made['id']}/receipts/1")
    assert answer.status_code == 200, answer.text
    assert answer.content == PNG
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in answer.headers["content-security-policy"]
