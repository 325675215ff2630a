"""The ASGI application as a server starts it: settings from the environment (YIBAO_*)."""

from __future__ import annotations

from fastapi import FastAPI

from yibao.adapters.db.revocations import listen_for_revocations
from yibao.bootstrap import engine_from, policy_source, services
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.api.runtime import tune_runtime
from yibao.settings import Settings


def app_from_env() -> FastAPI:
    settings = Settings()
    engine = engine_from(settings)
    served = services(engine, policy_source(settings.policy_path), settings)
    app = create_app(served, threads=settings.threads, settings=settings)
    # A token revoked by another process (the command line) is refused at once, not
    # after the token cache's 30 s (on PostgreSQL; the thread ends with the process).
    listen_for_revocations(engine, served.access.forget_tokens)
    tune_runtime(settings, app)  # the process's long-lived objects made: out of the collector's way
    return app
