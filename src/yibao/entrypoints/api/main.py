"""The ASGI application as a server starts it: settings from the environment (YIBAO_*)."""

from __future__ import annotations

from fastapi import FastAPI

from yibao.bootstrap import engine_from, policy_source, services
from yibao.entrypoints.api.app import create_app
from yibao.settings import Settings


def app_from_env() -> FastAPI:
    settings = Settings()
    engine = engine_from(settings)
    return create_app(
        services(engine, policy_source(settings.policy_path), settings),
        threads=settings.threads,
        settings=settings,
    )
