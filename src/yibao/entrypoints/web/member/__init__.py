"""The member app, "smart medical insurance" (智慧医保), under /app: mobile first."""

from __future__ import annotations

from fastapi import APIRouter

from yibao.entrypoints.web.member import coverage, family, lookup, online, sign_up

router = APIRouter(include_in_schema=False)
router.include_router(sign_up.router)
router.include_router(coverage.router)
router.include_router(online.router)
router.include_router(lookup.router)
router.include_router(family.router)
