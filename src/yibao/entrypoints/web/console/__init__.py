"""The staff console under /console: desktop first."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
