"""The FastAPI application: routers, and errors as JSON with a machine-readable code."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from yibao.entrypoints.api.routers import claims, institutions, persons, settlements
from yibao.fsi import router as fsi_router
from yibao.service.errors import ServiceError
from yibao.services import Services


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="yibao",
        version="0.1.0",
        description="Social medical insurance for a pooling region: settlement, quotes, reversals.",
    )
    app.state.services = services
    app.include_router(settlements.router)
    app.include_router(claims.router)
    app.include_router(persons.router)
    app.include_router(institutions.router)
    app.include_router(fsi_router.router)

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "body"
        message = str(first["msg"]).removeprefix("Value error, ")
        if first.get("type") == "json_invalid":
            message, where = "the body is not valid JSON", "body"
        details: dict[str, Any] = {
            "errors": [{"loc": [str(p) for p in e["loc"]], "msg": str(e["msg"])} for e in errors]
        }
        return JSONResponse(
            {"code": "invalid_request", "message": f"{where}: {message}", "details": details},
            status_code=422,
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
