"""Wire the real adapters: the database engine, the policy library, the services."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import Engine

from yibao.adapters.db.engine import make_engine
from yibao.adapters.db.uow import UnitOfWork
from yibao.adapters.parameter_files import load_region, search_path
from yibao.domain.parameters import RegionPolicy
from yibao.services import Services
from yibao.settings import Settings


def policy_source(extra: Sequence[Path] = ()) -> PolicyLoader:
    return PolicyLoader(search_path(extra))


class PolicyLoader:
    def __init__(self, path: list[Path]) -> None:
        self.path = path

    def __call__(self, region: str) -> RegionPolicy:
        return load_region(region, self.path)


def services(engine: Engine, policies: PolicyLoader) -> Services:
    return Services.build(lambda: UnitOfWork(engine), policies)


def engine_from(settings: Settings) -> Engine:
    return make_engine(settings.database_url, pool_size=settings.database_pool_size)
