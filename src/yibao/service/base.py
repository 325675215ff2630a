"""What the administration's use-case classes share: a unit of work to open, the policy
library, today's date, and a region's policy as a 404 when the region is unknown."""

from __future__ import annotations

from yibao.domain.parameters import RegionPolicy
from yibao.service.errors import NotFoundError
from yibao.service.ports import Clock, PolicySource, UowFactory


class UseCases:
    def __init__(self, uow: UowFactory, policies: PolicySource, clock: Clock) -> None:
        self.uow = uow
        self.policies = policies
        self.clock = clock

    def _policy(self, region: str) -> RegionPolicy:
        try:
            return self.policies(region)
        except ValueError as exc:
            raise NotFoundError("unknown_region", str(exc)) from None
