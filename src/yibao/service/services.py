"""The service layer, assembled: what the API, the CLI and the web app are given."""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from yibao.service.access import AccessService
from yibao.service.catalogue import CatalogueService
from yibao.service.certificates import CertificatesService
from yibao.service.claims import ClaimsService
from yibao.service.collection import CollectionService
from yibao.service.console import ConsoleService
from yibao.service.enrolment import EnrolmentService
from yibao.service.member import MemberService
from yibao.service.ports import Clock, PolicySource, UowFactory, china_today
from yibao.service.queries import Queries
from yibao.service.schools import SchoolsService
from yibao.service.settlement import SettlementService
from yibao.service.sms import LogSms, SmsSender


@dataclass(frozen=True)
class Services:
    settlements: SettlementService
    claims: ClaimsService
    queries: Queries
    access: AccessService
    enrolment: EnrolmentService
    schools: SchoolsService
    collection: CollectionService
    certificates: CertificatesService
    catalogue: CatalogueService
    member: MemberService
    console: ConsoleService
    # Signs what leaves the system and comes back (insurance vouchers).
    secret: bytes
    upload_dir: Path

    @classmethod
    def build(
        cls,
        uow: UowFactory,
        policies: PolicySource,
        clock: Clock = china_today,
        *,
        secret: bytes | None = None,
        upload_dir: Path | None = None,
        sms: SmsSender | None = None,
    ) -> Services:
        key = secret or secrets.token_bytes(32)
        uploads = upload_dir or Path(tempfile.gettempdir()) / "yibao-uploads"
        return cls(
            settlements=SettlementService(uow, policies),
            claims=ClaimsService(uow, policies),
            queries=Queries(uow, policies),
            access=AccessService(uow),
            enrolment=EnrolmentService(uow, policies, clock),
            schools=SchoolsService(uow, policies, clock),
            collection=CollectionService(uow, policies, clock),
            certificates=CertificatesService(uow, policies, clock),
            catalogue=CatalogueService(uow),
            member=MemberService(uow, policies, clock, key, uploads, sms or LogSms()),
            console=ConsoleService(uow, policies, clock),
            secret=key,
            upload_dir=uploads,
        )
