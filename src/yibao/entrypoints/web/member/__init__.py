"""The member app, "smart medical insurance" (智慧医保), under /app: mobile first."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
