"""Errors a caller can act on: a machine-readable code, a clear message, an HTTP status."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 422

    def __init__(
        self, code: str, message: str, *, status: int | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        if status is not None:
            self.status = status

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


class NotFoundError(ServiceError):
    status = 404


class ConflictError(ServiceError):
    status = 409
