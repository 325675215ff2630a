"""The service layer, assembled: what the API, the CLI and the web app are given."""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from yibao.domain.parameters import RegionPolicy
from yibao.service.access import AccessService
from yibao.service.cards import CardsService
from yibao.service.catalogue import CatalogueService
from yibao.service.categories import CategoryService
from yibao.service.certificates import CertificatesService
from yibao.service.certificates_pilot import PilotService
from yibao.service.claims import ClaimsService
from yibao.service.clearing import ClearingService
from yibao.service.collection import CollectionService
from yibao.service.console import ConsoleService
from yibao.service.desk import HospitalDesk
from yibao.service.enrolment import EnrolmentService
from yibao.service.errors import ServiceError
from yibao.service.group_commit import GroupCommitter
from yibao.service.institutions import InstitutionService
from yibao.service.member import MemberService
from yibao.service.ports import Clock, PolicySource, UowFactory, china_today
from yibao.service.ports.guards import Guards
from yibao.service.queries import Queries
from yibao.service.schools import SchoolsService
from yibao.service.settlement import SettlementService
from yibao.service.sms import LogSms, SmsSender


@dataclass(frozen=True)
class Services:
    settlements: SettlementService
    clearing: ClearingService  # money between regions (reference §9)
    claims: ClaimsService
    queries: Queries
    access: AccessService
    enrolment: EnrolmentService
    schools: SchoolsService
    collection: CollectionService
    cards: CardsService
    certificates: CertificatesService  # approvals, remote-treatment filings, referrals
    categories: CategoryService  # persons' categories over dates (decision tables read them)
    institutions: InstitutionService  # the registry's institutions: type and province too
    pilot: PilotService  # the child major-disease pilot: hospitals' lists, registrations
    catalogue: CatalogueService
    member: MemberService
    console: ConsoleService
    desk: HospitalDesk  # the hospital systems' counter (the national interface)
    # Signs what leaves the system and comes back (insurance vouchers).
    secret: bytes
    upload_dir: Path
    # Card settlements grouped into shared transactions (group_commit.py); None: each
    # settles in a transaction of its own (SettlementService.settle).
    group_commit: GroupCommitter | None = None
    # The national interface's settling messages go to it only when at least this many
    # others are under way in the process (fsi/gateway.py); 0: always. The server's is
    # the setting fsi_group_at (bootstrap.py).
    fsi_group_at: int = 0

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
        guards: Guards | None = None,
    ) -> Services:
        policies = calendar_years_only(policies)
        key = secret or secrets.token_bytes(32)
        uploads = upload_dir or Path(tempfile.gettempdir()) / "yibao-uploads"
        settlements = SettlementService(uow, policies, clock)
        # Nonces and sign-in failures: the database's, shared by a server's workers
        # (bootstrap.py); None: this process's memory.
        member = MemberService(uow, policies, clock, key, uploads, sms or LogSms(), guards)
        return cls(
            settlements=settlements,
            clearing=ClearingService(uow, clock),
            claims=ClaimsService(uow, policies),
            queries=Queries(uow, policies),
            access=AccessService(uow, guards),
            enrolment=EnrolmentService(uow, policies, clock),
            schools=SchoolsService(uow, policies, clock),
            collection=CollectionService(uow, policies, clock),
            cards=CardsService(uow, policies, clock),
            certificates=CertificatesService(uow, policies, clock),
            categories=CategoryService(uow, policies, clock),
            institutions=InstitutionService(uow, policies, clock),
            pilot=PilotService(uow, policies, clock),
            catalogue=CatalogueService(uow),
            member=member,
            console=ConsoleService(uow, policies, clock),
            desk=HospitalDesk(settlements, member.voucher_person),
            secret=key,
            upload_dir=uploads,
        )


def calendar_years_only(policies: PolicySource) -> PolicySource:
    """The policies the service may settle with: those whose insurance year is the calendar
    year. The service keys a person's year by the calendar year of a bill's date (the
    registry's person-years, the ledger, the counters, enrolment and the yearly run); a
    region whose year starts on another day (region.yaml `year_start`, docs/policies.md)
    runs in scenarios and the engines only, and is refused here rather than settled
    against the wrong year."""

    def source(region: str) -> RegionPolicy:
        policy = policies(region)
        if not policy.year_start.calendar:
            raise ServiceError(
                "year_not_calendar",
                f"region {policy.code} counts its insurance year from "
                f"{policy.year_start.describe()}; the settlement service keeps calendar "
                "years only (its scenarios run with `yibao scenario`)",
            )
        return policy

    return source
