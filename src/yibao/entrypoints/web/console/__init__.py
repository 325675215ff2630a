"""The staff console under /console: desktop first. Clerks and approvers only; staff of a
region see that region. Home and person search (persons.py), the work queues
(queues.py), the fund dashboard with its CSV export (dashboard.py)."""

from __future__ import annotations

from fastapi import APIRouter

from yibao.entrypoints.web.console import (
    clearing,
    dashboard,
    person_work,
    persons,
    queues,
    records,
)

router = APIRouter(include_in_schema=False)

router.include_router(person_work.router)
router.include_router(persons.router)
router.include_router(queues.router)
router.include_router(dashboard.router)
router.include_router(records.router)
router.include_router(clearing.router)  # between regions
