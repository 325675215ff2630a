"""The staff console's use cases: finding persons, work queues, the fund dashboard."""

from __future__ import annotations

from yibao.service.ports import Clock, PolicySource, UowFactory


class ConsoleService:
    def __init__(self, uow: UowFactory, policies: PolicySource, clock: Clock) -> None:
        self.uow = uow
        self.policies = policies
        self.clock = clock
