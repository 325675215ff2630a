"""The member app's use cases ("smart medical insurance"): real-name sign-up, coverage
with the insurance voucher, reimbursements, estimates, online services."""

from __future__ import annotations

from pathlib import Path

from yibao.service.ports import Clock, PolicySource, UowFactory


class MemberService:
    def __init__(
        self, uow: UowFactory, policies: PolicySource, clock: Clock, secret: bytes, upload_dir: Path
    ) -> None:
        self.uow = uow
        self.policies = policies
        self.clock = clock
        self.secret = secret
        self.upload_dir = upload_dir
