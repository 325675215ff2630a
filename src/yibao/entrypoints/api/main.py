"""The ASGI application as a server starts it: settings from the environment (YIBAO_*)."""

from __future__ import annotations

from fastapi import FastAPI

from yibao.bootstrap import engine_from, policy_source, services
from yibao.entrypoints.api.app import create_app
from yibao.entrypoints.api.runtime import tune_runtime
from yibao.settings import Settings


def app_from_env() -> FastAPI:
    settings = Settings()
    engine = engine_from(settings)
    app = create_app(
        services(engine, policy_source(settings.policy_path), settings),
        threads=settings.threads,
        settings=settings,
    )
    tune_runtime(settings)  # the process's long-lived objects made: out of the collector's way
    return app
