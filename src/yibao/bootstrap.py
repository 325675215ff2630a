"""Wire the real adapters: the database engine, the policy library, the services."""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from sqlalchemy.engine import Engine

from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.guards_repo import DbGuards
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import load_region, search_path
from yibao.domain.parameters import RegionPolicy
from yibao.entrypoints.api.latency import TimedUnitOfWork
from yibao.service.group_commit import GroupCommitter
from yibao.service.ports import PolicySource
from yibao.service.services import Services, calendar_years_only
from yibao.settings import Settings


def policy_source(extra: Sequence[Path] = ()) -> PolicySource:
    """The policies of the service's entry points (API, CLI, demo, yearly run, verify):
    calendar insurance years only (services.calendar_years_only); the scenario commands
    use a PolicyLoader of their own, which takes any region."""
    return calendar_years_only(PolicyLoader(search_path(extra)))


class PolicyLoader:
    def __init__(self, path: Sequence[Path]) -> None:
        self.path = tuple(path)  # never changed: what was loaded from it stays true
        # Each region's policy as load_region gave it (which keeps it by the region and
        # the folders for the process): asked for by every settlement, where copying and
        # hashing the folders cost as much as the rest of finding the policy.
        self._loaded: dict[str, RegionPolicy] = {}

    def __call__(self, region: str) -> RegionPolicy:
        found = self._loaded.get(region)
        if found is None:
            found = self._loaded[region] = load_region(region, self.path)
        return found


def services(engine: Engine, policies: PolicySource, settings: Settings | None = None) -> Services:
    settings = settings or Settings()
    built = Services.build(
        lambda: UnitOfWork(engine),
        policies,
        secret=secret_from(settings),
        upload_dir=settings.upload_dir,
        guards=DbGuards(engine),
    )
    if settings.group_commit and engine.dialect.name == "postgresql":
        batch_uow = TimedUnitOfWork if settings.latency_log else UnitOfWork
        committer = GroupCommitter(
            built.settlements,
            lambda: batch_uow(engine),
            threads=settings.group_commit_threads,
            max_batch=settings.group_commit_max_batch,
        )
        built = replace(built, group_commit=committer, fsi_group_at=settings.fsi_group_at)
    return built


def secret_from(settings: Settings) -> bytes:
    """The signing key: YIBAO_SECRET_KEY, or the key file, made (0600) if there is none."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.secret_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def engine_from(settings: Settings) -> Engine:
    return make_engine(settings.database_url, pool_size=settings.database_pool_size)
