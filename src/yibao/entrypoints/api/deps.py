"""Dependencies the routers share: the services, and who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Request

from yibao.service.claims import ClaimsService
from yibao.service.errors import ServiceError
from yibao.service.queries import Queries
from yibao.service.settlement import SettlementService
from yibao.services import Services


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def settlement_service(request: Request) -> SettlementService:
    return services(request).settlements


def claims_service(request: Request) -> ClaimsService:
    return services(request).claims


def queries(request: Request) -> Queries:
    return services(request).queries


def caller_institution(x_institution: Annotated[str | None, Header(max_length=32)] = None) -> str:
    """The calling institution. Until sign-in lands (administration issue), institutions
    name themselves in the X-Institution header."""
    if not x_institution:
        raise ServiceError(
            "missing_institution",
            "send the calling institution's id in the X-Institution header",
            status=401,
        )
    if any(ord(c) < 32 for c in x_institution):
        raise ServiceError(
            "invalid_request", "X-Institution: text may not contain control characters"
        )
    return x_institution
