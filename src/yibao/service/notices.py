"""A family's notices in the member app: what the agency or a hospital decided about the
family's records (a claim approved, rejected or paid; a card issued; a special-disease
application decided; a filing registered; a referral issued), read from the audit log,
newest first, with how many the account has not seen yet."""

from __future__ import annotations

import json
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.service.access import require, visible_person
from yibao.service.ports import UnitOfWork, UowFactory

ACTIONS = (
    "claim.approve",
    "claim.reject",
    "claim.pay",
    "card.issue",
    "approval.approve",
    "approval.reject",
    "filing.create",
    "referral.create",
)
MAX_NOTICES = 50


class Notices:
    def __init__(self, uow: UowFactory) -> None:
        self.uow = uow

    def unread(self, who: Principal) -> int:
        """How many of the account's notices are newer than the last it saw."""
        require(who, Role.INSURED, Role.GUARDIAN)
        with self.uow() as uow:
            seen = uow.member.seen_id(who.account)
            return sum(1 for n in self._entries(uow, who) if int(n.id) > seen)

    def read(self, who: Principal) -> dict[str, Any]:
        """The notices, newest first (each with whether it is new), and marks them seen."""
        require(who, Role.INSURED, Role.GUARDIAN)
        with self.uow() as uow:
            seen = uow.member.seen_id(who.account)
            entries = self._entries(uow, who)
            names = {p: visible_person(uow, who, p).name for p in _family(uow, who)}
            owners = _owners(uow, list(names))
            items = [_item(e, owners, names, int(e.id) > seen) for e in entries]
            if entries and int(entries[0].id) > seen:
                uow.member.mark_seen(who.account, int(entries[0].id))
                uow.commit()
        return {"items": items, "unread": sum(1 for i in items if i["new"])}

    def _entries(self, uow: UnitOfWork, who: Principal) -> list[Any]:
        owners = _owners(uow, _family(uow, who))
        return uow.member.notices(list(owners), ACTIONS, MAX_NOTICES)


def _family(uow: UnitOfWork, who: Principal) -> list[str]:
    if who.person_id is None:
        return []
    return [who.person_id, *sorted(uow.registry.children_of(who.person_id))]


def _owners(uow: UnitOfWork, persons: list[str]) -> dict[tuple[str, str], str]:
    """(record type, record id) -> the family member it is about."""
    found: dict[tuple[str, str], str] = {}
    for claim in uow.member.claims_of(persons):
        found[("claim", str(claim.id))] = claim.person_id
    for p in persons:
        for card in uow.collection.cards_of(p):
            found[("card", card.number)] = p
        for row in uow.certificates.approvals_of(p):
            found[("approval", str(row.id))] = p
        for row in uow.certificates.filings_of(p):
            found[("filing", str(row.id))] = p
        for row in uow.certificates.referrals_of(p):
            found[("referral", str(row.id))] = p
    return found


def _item(
    entry: Any, owners: dict[tuple[str, str], str], names: dict[str, str], new: bool
) -> dict[str, Any]:
    after = json.loads(entry.after) if entry.after else {}
    person = owners.get((entry.object_type, entry.object_id), "")
    return {
        "id": int(entry.id),
        "at": entry.at.isoformat(),
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "person_id": person,
        "name": names.get(person, ""),
        "reason": after.get("reason") if isinstance(after, dict) else None,
        "new": new,
    }
