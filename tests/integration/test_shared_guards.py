"""Security state shared by every worker of a server: x-tif nonces and sign-in failures in
the database, and the revocation epoch in the supervisor's shared memory. Two services
on one database stand for two workers (or a worker and its restarted successor)."""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from integration.conftest import FakeClock
from integration.test_fsi_auth import SECRET
from yibao.adapters.db.guards_repo import DbGuards
from yibao.adapters.db.tables import sign_in_failures
from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import PolicyLoader
from yibao.domain.access import Role
from yibao.domain.registry import Institution, InstitutionKind
from yibao.entrypoints.api.health import SharedEpoch, shared_epoch
from yibao.fsi.auth import FsiAuth, Refused, issue_credential, tif_headers
from yibao.service.access import OPERATOR
from yibao.service.errors import ServiceError
from yibao.service.services import Services
from yibao.service.throttle import FREE_FAILURES


def worker(engine: Engine, policies: PolicyLoader, clock: FakeClock) -> Services:
    """One worker's services, as bootstrap.services builds them."""
    return Services.build(
        lambda: UnitOfWork(engine), policies, clock, secret=SECRET, guards=DbGuards(engine)
    )


@pytest.fixture
def two(engine: Engine, policies: PolicyLoader, clock: FakeClock) -> tuple[Services, Services]:
    return worker(engine, policies, clock), worker(engine, policies, clock)


@pytest.fixture
def credential(engine: Engine, two: tuple[Services, Services]) -> dict[str, Any]:
    with UnitOfWork(engine) as uow:
        uow.registry.add_region("sample-city", "样本市", "Sample City", "990100")
        uow.registry.add_institution(
            Institution("H1", "sample-city", "H1", 2, InstitutionKind.HOSPITAL, True)
        )
        uow.commit()
    access = two[0].access
    access.create_account(OPERATOR, "h1", Role.INSTITUTION, "H1", institution_id="H1")
    return issue_credential(access, SECRET, OPERATOR, "h1")


def test_a_replayed_nonce_is_refused_by_the_other_worker_and_after_a_restart(
    engine: Engine,
    policies: PolicyLoader,
    clock: FakeClock,
    two: tuple[Services, Services],
    credential: dict[str, Any],
) -> None:
    first, second = (FsiAuth(s.access, SECRET) for s in two)
    headers = tif_headers(credential["paasid"], credential["paas_token"])
    assert first.authenticate(headers, None).institution_id == "H1"
    # The credential is in the second worker's cache too: the nonce is checked all the same.
    fresh = tif_headers(credential["paasid"], credential["paas_token"])
    assert second.authenticate(fresh, None).institution_id == "H1"
    with pytest.raises(Refused, match="重放"):
        second.authenticate(headers, None)
    with pytest.raises(Refused, match="重放"):
        first.authenticate(fresh, None)  # cached here, and still refused
    restarted = FsiAuth(worker(engine, policies, clock).access, SECRET)
    with pytest.raises(Refused, match="重放"):
        restarted.authenticate(headers, None)
    again = tif_headers(credential["paasid"], credential["paas_token"])
    assert restarted.authenticate(again, None).institution_id == "H1"


def test_old_nonces_are_deleted_and_recent_ones_kept(engine: Engine) -> None:
    guards = DbGuards(engine)
    assert guards.fresh_nonce("p", "old", 1_000_000.0)
    assert guards.fresh_nonce("p", "recent", 1_000_000.0 + 500)
    guards._purged = 0.0  # due: the next nonce deletes what is older than ten minutes
    assert guards.fresh_nonce("p", "now", 1_000_000.0 + 601)  # purges "old" only
    assert guards.fresh_nonce("p", "old", 1_000_000.0 + 602)
    assert not guards.fresh_nonce("p", "recent", 1_000_000.0 + 603)


def test_sign_in_failures_are_counted_once_for_every_worker_and_a_success_clears_them(
    two: tuple[Services, Services],
) -> None:
    first, second = (s.access for s in two)
    first.create_account(OPERATOR, "wang", Role.CLERK, "Wang", password="right-password")
    for i in range(FREE_FAILURES):  # the free guesses, spread over both workers
        with pytest.raises(ServiceError, match="wrong"):
            (first, second)[i % 2].sign_in("wang", "wrong-password", source="6.6.6.6")
    for access in (first, second):
        with pytest.raises(ServiceError) as delayed:
            access.sign_in("wang", "right-password", source="6.6.6.6")
        assert delayed.value.code == "sign_in_delayed"
    assert first.sign_in("wang", "right-password", source="10.0.0.9")["token"]
    second.throttle.clock = lambda: 4e9  # the delay has passed
    assert second.sign_in("wang", "right-password", source="6.6.6.6")["token"]
    assert first.throttle.wait("wang", "6.6.6.6") == 0  # the success cleared the count


def test_concurrent_failures_are_counted_exactly(engine: Engine) -> None:
    stores = [DbGuards(engine) for _ in range(4)]  # four processes' stores
    failures = 25

    def guess(store: DbGuards) -> None:
        for _ in range(failures):
            store.failed("wang", "6.6.6.6", 1_000_000.0)

    threads = [threading.Thread(target=guess, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stores[0].failures("wang", "6.6.6.6") == (len(stores) * failures, 1_000_000.0)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sign_in_failures)).scalar() == 1


def test_a_guardian_code_throttle_is_shared(two: tuple[Services, Services]) -> None:
    first, second = (s.member.code_throttle for s in two)
    for _ in range(FREE_FAILURES):
        first.failed("li", "guardian-code")
    assert second.wait("li", "guardian-code") > 0


def test_a_token_revoked_by_one_worker_is_refused_by_the_other_at_once(
    two: tuple[Services, Services],
) -> None:
    epoch = shared_epoch(multiprocessing.get_context("spawn"))  # the supervisor's
    first, second = (s.access for s in two)
    for access in (first, second):
        access.share_epoch(SharedEpoch(epoch))
    made = first.create_account(OPERATOR, "zhao", Role.CLERK, "Zhao", region="sample-city")
    signed = first.issue_token(OPERATOR, "zhao")
    for token in (made["token"], signed):
        assert second.authenticate(token) is not None  # now in the second's cache
    first.revoke_token(signed)  # sign-out
    assert second.authenticate(signed) is None
    assert second.cached(made["token"]) is None  # the cache was emptied; read again
    assert second.authenticate(made["token"]) is not None
    first.revoke_tokens(OPERATOR, "zhao")
    assert second.authenticate(made["token"]) is None


def test_without_a_shared_epoch_the_other_worker_serves_its_cache(
    two: tuple[Services, Services],
) -> None:
    """What the shared epoch is for: a process of its own epoch keeps a token revoked
    elsewhere for up to TOKEN_CACHE_SECONDS."""
    first, second = (s.access for s in two)
    token = first.create_account(OPERATOR, "zhao", Role.CLERK, "Zhao")["token"]
    assert second.authenticate(token) is not None
    first.revoke_token(token)
    assert second.authenticate(token) is not None
