"""The test client that signs its requests as callers do (the `client` fixture)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from yibao.domain.access import Role
from yibao.service.access import new_token, token_hash
from yibao.service.services import Services


class SigningClient(TestClient):
    """A test client that signs requests the way callers really do (a bearer token), for
    tests that name the caller instead: `X-Institution: H1` signs as an account of
    institution H1, `X-Test-As: clerk` as a clerk of every region, and a request with
    no Authorization of its own as a clerk too; `X-Test-As: anonymous` sends none. The
    accounts are made on first use through the access service; the request itself goes
    through the real token check."""

    def __init__(self, app: Any, services: Services) -> None:
        super().__init__(app, raise_server_exceptions=True)
        self._services = services
        self._tokens: dict[tuple[str, str], str] = {}

    def _token(self, role: Role, subject: str) -> str:
        key = (role.value, subject)
        if key not in self._tokens:
            # Straight into the tables, not through the access service: a test may sign
            # as an institution that is not registered, to see the settlement refuse it.
            token = new_token()
            account_id = f"test-{role.value}-{subject}"[:64]
            with self._services.access.uow() as uow:
                uow.accounts.add(
                    {
                        "id": account_id,
                        "role": role.value,
                        "name": f"test {role.value} {subject}",
                        "institution_id": subject if role is Role.INSTITUTION else None,
                        "school_id": subject if role is Role.SCHOOL else None,
                    }
                )
                uow.accounts.add_token(token_hash(token), account_id, "test", None)
                uow.commit()
            self._tokens[key] = token
        return self._tokens[key]

    def request(self, method: str, url: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        headers = dict(kwargs.pop("headers", None) or {})
        institution = headers.pop("X-Institution", None)
        role = headers.pop("X-Test-As", None)
        if institution:
            headers["Authorization"] = f"Bearer {self._token(Role.INSTITUTION, institution)}"
        elif role != "anonymous" and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self._token(Role(role or 'clerk'), 'all')}"
        return super().request(method, url, headers=headers, **kwargs)
