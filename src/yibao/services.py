"""The service layer, assembled: what the API, the CLI and the web app are given."""

from __future__ import annotations

from dataclasses import dataclass

from yibao.service.claims import ClaimsService
from yibao.service.ports import PolicySource, UowFactory
from yibao.service.queries import Queries
from yibao.service.settlement import SettlementService


@dataclass(frozen=True)
class Services:
    settlements: SettlementService
    claims: ClaimsService
    queries: Queries

    @classmethod
    def build(cls, uow: UowFactory, policies: PolicySource) -> Services:
        return cls(
            SettlementService(uow, policies), ClaimsService(uow, policies), Queries(uow, policies)
        )
