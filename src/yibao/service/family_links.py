"""Binding a spouse or a parent to a member's family, with their consent (children are
linked through guardianship instead). The member names the adult by ID number and name
(the real-name check: both must match a registered person); the adult, signed in to
their own account, accepts or declines, and may withdraw later. Once accepted, the member
sees the adult's coverage and reimbursements, as a guardian sees a child's. In the audit
log: family.request, family.accept, family.decline, family.withdraw."""

from __future__ import annotations

from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.ids import ResidentIdError, parse_resident_id
from yibao.domain.model import age_on
from yibao.service.access import require
from yibao.service.errors import ConflictError, NotFoundError, ServiceError
from yibao.service.ports import Clock, UowFactory, now

RELATIONS = ("spouse", "parent")
MEMBERS = (Role.INSURED, Role.GUARDIAN)


class FamilyLinks:
    def __init__(self, uow: UowFactory, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    def request(self, who: Principal, id_number: str, name: str, relation: str) -> dict[str, Any]:
        require(who, *MEMBERS)
        if relation not in RELATIONS:
            raise ServiceError("invalid_field", "relation: spouse or parent", field="relation")
        try:
            number = parse_resident_id(id_number.strip().upper()).number
        except ResidentIdError as exc:
            raise ServiceError("invalid_id_number", str(exc), field="id_number") from None
        with self.uow() as uow:
            adult = uow.registry.person_by_id_number(number)
            if adult is None or " ".join(adult.name.split()) != " ".join(name.split()):
                raise ServiceError(
                    "real_name_mismatch",
                    "the name and ID number do not match a registered person",
                    field="id_number",
                )
            if adult.id == who.person_id or age_on(adult.birth_date, self.clock()) < 18:
                raise ServiceError(
                    "not_an_adult", "bind an adult other than yourself", field="id_number"
                )
            assert who.person_id is not None
            if any(
                link.member_id == adult.id and link.status in ("pending", "accepted")
                for link in uow.member.links_of(who.person_id)
            ):
                raise ConflictError(
                    "already_linked", "this person is bound or asked already", field="id_number"
                )
            link_id = uow.member.add_link(who.person_id, adult.id, relation, now())
            uow.audit.record(
                who,
                "family.request",
                "family_link",
                str(link_id),
                None,
                {"member": adult.id, "relation": relation},
            )
            uow.commit()
        return {"id": link_id, "status": "pending"}

    def respond(self, who: Principal, link_id: int, accept: bool) -> dict[str, Any]:
        """The adult's answer: accept or decline a pending request, or withdraw an
        accepted one (accept=False)."""
        require(who, *MEMBERS)
        with self.uow() as uow:
            link = uow.member.link(link_id)
            if link is None or link.member_id != who.person_id:
                raise NotFoundError("unknown_link", f"family link {link_id} is not known")
            if link.status == "pending":
                status = "accepted" if accept else "declined"
            elif link.status == "accepted" and not accept:
                status = "withdrawn"
            else:
                raise ConflictError("link_status", f"family link {link_id} is {link.status}")
            uow.member.set_link(link_id, status, now())
            action = {"accepted": "accept", "declined": "decline", "withdrawn": "withdraw"}
            uow.audit.record(
                who,
                f"family.{action[status]}",
                "family_link",
                str(link_id),
                {"status": link.status},
                {"status": status},
            )
            uow.commit()
        return {"id": link_id, "status": status}

    def links(self, who: Principal) -> dict[str, list[dict[str, Any]]]:
        """The member's requests (asked) and those asking the member's consent (asking)."""
        require(who, *MEMBERS)
        if who.person_id is None:
            return {"asked": [], "asking": []}
        with self.uow() as uow:
            rows = uow.member.links_of(who.person_id)
            names = {}
            for r in rows:
                for pid in (r.person_id, r.member_id):
                    person = uow.registry.person(pid)
                    names[pid] = "" if person is None else person.name

        def view(r: Any, other: str) -> dict[str, Any]:
            return {
                "id": int(r.id),
                "name": names[other],
                "relation": r.relation,
                "status": r.status,
                "requested_at": r.requested_at.isoformat(),
            }

        return {
            "asked": [view(r, r.member_id) for r in rows if r.person_id == who.person_id],
            "asking": [view(r, r.person_id) for r in rows if r.member_id == who.person_id],
        }
