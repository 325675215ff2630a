"""How the server's settings build the group committer (bootstrap.services): its threads,
its largest batch, and the traced unit of work when YIBAO_LATENCY_LOG is set."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine

from yibao.adapters.db.uow import UnitOfWork
from yibao.bootstrap import policy_source, services
from yibao.entrypoints.api.latency import TimedUnitOfWork
from yibao.settings import Settings

# Never connected: building the services does not open a connection.
POSTGRES = "postgresql+psycopg://nobody@127.0.0.1:1/nowhere"


def test_the_committer_takes_its_threads_and_batch_from_the_settings() -> None:
    settings = Settings(group_commit_threads=3, group_commit_max_batch=48, secret_key="k")
    committer = services(create_engine(POSTGRES), policy_source(), settings).group_commit
    assert committer is not None
    assert (committer.threads, committer.max_batch) == (3, 48)
    assert type(committer.uow()) is UnitOfWork


def test_a_latency_log_traces_the_committers_unit_of_work(tmp_path: Path) -> None:
    settings = Settings(latency_log=tmp_path, secret_key="k")
    committer = services(create_engine(POSTGRES), policy_source(), settings).group_commit
    assert committer is not None
    assert isinstance(committer.uow(), TimedUnitOfWork)


@pytest.mark.parametrize("batch", [0, 61])
def test_a_batch_beyond_the_savepoints_postgresql_caches_is_refused(batch: int) -> None:
    with pytest.raises(ValidationError):
        Settings(group_commit_max_batch=batch)
