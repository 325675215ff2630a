"""A person's category (低保 low income, 特困 special hardship, 建档立卡 poverty registered)
over dates: recorded at the agency by a clerk, with the audit log; read by the decision
tables of a region's policy (docs/policies.md) wherever a person is settled."""

from __future__ import annotations

from datetime import date
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.conditions import CATEGORIES
from yibao.domain.model import GENERAL, CategorySpan
from yibao.service.access import require
from yibao.service.base import UseCases
from yibao.service.certificates_common import check_period, person_of
from yibao.service.errors import ConflictError, ServiceError
from yibao.service.ports import now

RECORDERS = (Role.CLERK,)
READERS = (Role.CLERK, Role.APPROVER, Role.INSURED, Role.GUARDIAN)
# Open ends, for the overlap check.
_FIRST, _LAST = date.min, date.max


def category_view(span: CategorySpan) -> dict[str, Any]:
    return {
        "category": span.category,
        "valid_from": None if span.valid_from is None else span.valid_from.isoformat(),
        "valid_to": None if span.valid_to is None else span.valid_to.isoformat(),
    }


def _overlaps(a: CategorySpan, b: CategorySpan) -> bool:
    a_from, a_to = a.valid_from or _FIRST, a.valid_to or _LAST
    b_from, b_to = b.valid_from or _FIRST, b.valid_to or _LAST
    return a_from <= b_to and b_from <= a_to


class CategoryService(UseCases):
    def record(
        self,
        who: Principal,
        person_id: str,
        category: str,
        valid_from: date | None,
        valid_to: date | None,
    ) -> dict[str, Any]:
        """A category from `valid_from` to `valid_to` (inclusive; None: open). A span
        overlapping one already recorded is refused: a person has one category a day."""
        require(who, *RECORDERS)
        if category not in CATEGORIES or category == GENERAL:
            known = ", ".join(c for c in CATEGORIES if c != GENERAL)
            raise ServiceError(
                "unknown_category",
                f"category: {category!r} is not one of {known} (general is every other day)",
                field="category",
            )
        if valid_from is not None and valid_to is not None:
            check_period(valid_from, valid_to)
        span = CategorySpan(category, valid_from, valid_to)
        with self.uow() as uow:
            person = person_of(uow, who, person_id)
            uow.certificates.lock_person(person.id)
            for other in uow.registry.categories(person.id):
                if _overlaps(span, other):
                    raise ConflictError(
                        "category_overlaps",
                        f"{person.name} is already {other.category} "
                        f"({category_view(other)['valid_from'] or 'open'} to "
                        f"{category_view(other)['valid_to'] or 'open'}) on some of these days",
                    )
            uow.registry.add_category(person.id, span, who.account, now())
            view = {"person_id": person.id, **category_view(span)}
            uow.audit.record(who, "category.record", "person", person.id, None, view)
            uow.commit()
        return view

    def end(self, who: Principal, person_id: str, valid_to: date) -> dict[str, Any]:
        """The person's open category (recorded without a last day) ends on `valid_to`,
        inclusive: from the next day the person is `general` again (or whatever is
        recorded after). None open, or a last day before its first, is refused."""
        require(who, *RECORDERS)
        with self.uow() as uow:
            person = person_of(uow, who, person_id)
            uow.certificates.lock_person(person.id)
            span = next((s for s in uow.registry.categories(person.id) if s.valid_to is None), None)
            if span is None:
                raise ConflictError(
                    "no_open_category",
                    f"{person.name} has no category without a last day to end",
                )
            check_period(span.valid_from or valid_to, valid_to)  # shrinking: no overlap
            ended = CategorySpan(span.category, span.valid_from, valid_to)
            uow.registry.end_category(person.id, span, valid_to)
            before = {"person_id": person.id, **category_view(span)}
            view = {"person_id": person.id, **category_view(ended)}
            uow.audit.record(who, "category.end", "person", person.id, before, view)
            uow.commit()
        return view

    def of(self, who: Principal, person_id: str) -> list[dict[str, Any]]:
        require(who, *READERS)
        with self.uow() as uow:
            person = person_of(uow, who, person_id)
            spans = uow.registry.categories(person.id)
        return [category_view(s) for s in spans]
