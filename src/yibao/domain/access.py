"""Who may do what: the roles of the agency's users, and the rules that say whose records
each may read. Pure: the service layer asks these questions with what it has loaded."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    CLERK = "clerk"  # the social security centre's counter staff
    APPROVER = "approver"  # the district centre: approvals of special diseases
    SCHOOL = "school"  # a school's account: its pupils' enrolment
    INSTITUTION = "institution"  # a designated hospital, clinic or pharmacy
    INSURED = "insured"  # an insured person, for their own records
    GUARDIAN = "guardian"  # a parent, for their own and their children's records


STAFF = frozenset({Role.CLERK, Role.APPROVER})
MEMBERS = frozenset({Role.INSURED, Role.GUARDIAN})


@dataclass(frozen=True)
class Principal:
    """The account behind a request. Exactly the subject its role needs is set: a person
    for members, a school for a school, an institution for an institution, a region for
    staff (the agency they work at)."""

    account: str
    role: Role
    region: str | None = None
    person_id: str | None = None
    school_id: str | None = None
    institution_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def is_member(self) -> bool:
        return self.role in MEMBERS

    def may_see_person(self, person_id: str, children: Collection[str] = ()) -> bool:
        """Staff see everyone of their region (checked by the caller with the record);
        a member sees themself and the children they are guardian of."""
        if self.is_staff:
            return True
        if self.is_member:
            return person_id == self.person_id or person_id in children
        return False


SUBJECT_OF: dict[Role, str | None] = {
    Role.CLERK: "region",
    Role.APPROVER: "region",
    Role.SCHOOL: "school_id",
    Role.INSTITUTION: "institution_id",
    Role.INSURED: "person_id",
    Role.GUARDIAN: "person_id",
}


def principal_of(row: Any) -> Principal:
    """The principal of an account (anything with the accounts' columns as attributes)."""
    return Principal(
        account=row.id,
        role=Role(row.role),
        region=row.region,
        person_id=row.person_id,
        school_id=row.school_id,
        institution_id=row.institution_id,
    )
