"""Dependencies the routers share: the services, and who is calling.

Dependencies are `async def` where they do no I/O: FastAPI runs a plain `def` dependency
in its thread pool, and the hop there and back cost more than a settlement's own work.

Every /v1 route but sign-in needs `Authorization: Bearer <token>`. A route states the
roles that may call it with `Caller = Annotated[Principal, Depends(allow(...))]`; what
a caller may see of a record (their own, their children's, their pupils', their own
settlements) is checked in the service layer, which answers 404 for what is not theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from yibao.domain.access import Principal, Role
from yibao.service.access import AccessService, Forbidden
from yibao.service.claims import ClaimsService
from yibao.service.errors import ServiceError
from yibao.service.queries import Queries
from yibao.service.services import Services
from yibao.service.settlement import SettlementService


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def settlement_service(request: Request) -> SettlementService:
    return services(request).settlements


async def claims_service(request: Request) -> ClaimsService:
    return services(request).claims


async def queries(request: Request) -> Queries:
    return services(request).queries


AUTHORIZATION_MAX = 300


async def principal(
    request: Request,
    authorization: Annotated[str | None, Header(max_length=AUTHORIZATION_MAX)] = None,
) -> Principal:
    """The signed-in account behind the request's bearer token."""
    return await bearer(services(request).access, authorization)


async def bearer(access: AccessService, authorization: str | None) -> Principal:
    """The account behind an `Authorization: Bearer <token>` value (already checked for
    length), or 401."""
    if not authorization:
        raise ServiceError(
            "not_signed_in",
            "send Authorization: Bearer <token> (a token from yibao account add or POST /v1/auth/tokens)",
            status=401,
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ServiceError("not_signed_in", "Authorization: expected 'Bearer <token>'", status=401)
    token = token.strip()
    # A token seen lately is in memory; otherwise the database is asked, off the event loop.
    found = access.cached(token) or await run_in_threadpool(access.authenticate, token)
    if found is None:
        raise ServiceError(
            "invalid_token", "the token is unknown, expired or revoked: sign in again", status=401
        )
    return found


def refuse_role(who: Principal, allowed: frozenset[Role]) -> None:
    """403 for a caller whose role is not among `allowed`."""
    if who.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise Forbidden(
            "forbidden", f"a {who.role.value} account may not call this (allowed: {names})"
        )


def allow(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency that lets only these roles through (403 for the others)."""
    allowed = frozenset(roles)

    async def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        refuse_role(who, allowed)
        return who

    check.__name__ = "allow_" + "_".join(sorted(r.value for r in allowed))
    return check


Anyone = Annotated[Principal, Depends(principal)]
Staff = Annotated[Principal, Depends(allow(Role.CLERK, Role.APPROVER))]
Clerk = Annotated[Principal, Depends(allow(Role.CLERK))]
Approver = Annotated[Principal, Depends(allow(Role.APPROVER))]
InstitutionCaller = Annotated[Principal, Depends(allow(Role.INSTITUTION))]


M = TypeVar("M", bound=BaseModel)


def parse_body(raw: bytes, model: type[M]) -> M:
    """A JSON body as `model`: 422 (RequestValidationError) as a body parameter has it."""
    if not raw:
        missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
        raise RequestValidationError([missing])
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None


def bounded_header(value: str | None, name: str, *, max_length: int) -> str | None:
    """A header's value as a `Header(max_length=...)` parameter checks it: 422 when too long."""
    if value is not None and len(value) > max_length:
        raise RequestValidationError(
            [
                {
                    "type": "string_too_long",
                    "loc": ("header", name),
                    "msg": f"String should have at most {max_length} characters",
                    "input": value,
                }
            ]
        )
    return value
