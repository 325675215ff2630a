"""Social-security cards: ordered when the premium is paid (due a number of working days
later, counted in the region's calendar), issued at the counter, reported lost (the
settlement service then refuses the card and points to manual reimbursement), replaced by
a new number. Nothing is deleted: a person's cards are their history."""

from __future__ import annotations

from datetime import date
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.calendar import CalendarGapError
from yibao.domain.collection import CARD_LENGTH, card_number
from yibao.domain.parameters import PolicyGapError, RegionPolicy
from yibao.domain.registry import Card, CardStatus
from yibao.service.access import require, require_region, visible_person
from yibao.service.base import UseCases
from yibao.service.errors import ConflictError, NotFoundError, ServiceError
from yibao.service.ports import UnitOfWork

MAX_OVERDUE = 5000


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def card_view(card: Card) -> dict[str, Any]:
    return {
        "number": card.number,
        "person_id": card.person_id,
        "status": card.status.value,
        "ordered_on": _iso(card.ordered_on),
        "due_on": _iso(card.due_on),
        "issued_on": _iso(card.issued_on),
        "lost_on": _iso(card.lost_on),
        "replaced_by": card.replaced_by,
        "replaces": card.replaces,
    }


def in_order(cards: list[Card]) -> list[Card]:
    """Oldest first: by the day ordered (or issued, for cards older than orders), and a
    replacement after the card it replaced even when both fall on one day."""
    replaced = {c.number: c.replaces for c in cards}

    def depth(card: Card) -> int:
        n, seen, current = 0, set(), card.replaces
        while current is not None and current in replaced and current not in seen:
            seen.add(current)
            n, current = n + 1, replaced[current]
        return n

    return sorted(
        cards, key=lambda c: (c.ordered_on or c.issued_on or date.min, depth(c), c.number)
    )


class CardNumbers:
    """New card numbers of a region: its admdvs, an 8-digit sequence and a check digit.
    Asks the database for the last number once per unit of work, then counts on; two
    units of work that order at the same moment collide on the primary key, and the
    later one fails whole (ConflictError) rather than sharing a number."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self._next: dict[str, int] = {}

    def next(self, admdvs: str) -> str:
        if admdvs not in self._next:
            last = self.uow.collection.last_number(admdvs, CARD_LENGTH, "cards")
            digits = last[len(admdvs) : -1] if last else ""
            self._next[admdvs] = int(digits) + 1 if digits.isdigit() else 1
        sequence = self._next[admdvs]
        self._next[admdvs] = sequence + 1
        return card_number(admdvs, sequence)


def due_date(policy: RegionPolicy, start: date, rule_day: date) -> date:
    """`start` plus the region's lead time in working days (the lead time in force on
    `rule_day`)."""
    if policy.enrolment is None or policy.calendar is None:
        raise ServiceError(
            "no_card_rules",
            f"region {policy.code} has no enrolment.yaml or calendar.yaml: a card's due date cannot be counted",
        )
    try:
        days = policy.enrolment.card_due_working_days.at(rule_day).value
    except PolicyGapError as exc:
        raise ServiceError("no_card_rules", str(exc)) from None
    try:
        return policy.calendar.add_working_days(start, days)
    except CalendarGapError as exc:
        raise ServiceError(
            "no_working_calendar",
            f"{exc}: enter that year's holidays and make-up days before ordering cards",
        ) from None


def order_card(
    uow: UnitOfWork,
    who: Principal,
    policy: RegionPolicy,
    numbers: CardNumbers,
    person_id: str,
    start: date,
    rule_day: date,
    replaces: str | None = None,
) -> Card | None:
    """Order a card for the person unless one is already ordered or in their hands."""
    if replaces is None and uow.collection.live_card(person_id) is not None:
        return None
    card = Card(
        number=numbers.next(policy.admdvs),
        person_id=person_id,
        status=CardStatus.ORDERED,
        ordered_on=start,
        due_on=due_date(policy, start, rule_day),
        replaces=replaces,
    )
    uow.registry.add_card(card)
    uow.audit.record(who, "card.order", "card", card.number, None, card_view(card))
    return card


class CardsService(UseCases):
    """The card use cases (services.cards): issue, loss, replacement, overdue cards."""

    def _card(self, uow: UnitOfWork, who: Principal, number: str) -> tuple[Card, Any]:
        """The card, locked, and its holder, if the caller may see the holder; otherwise
        not found (a member learns nothing of others' cards)."""
        card = uow.collection.card(number, lock=True)
        unknown = NotFoundError("unknown_card", f"card {number!r} is not known")
        if card is None:
            raise unknown
        try:
            person = visible_person(uow, who, card.person_id)
        except NotFoundError:
            raise unknown from None
        return card, person

    def _change(
        self,
        uow: UnitOfWork,
        who: Principal,
        card: Card,
        expected: CardStatus,
        action: str,
        **values: Any,
    ) -> Card:
        if not uow.collection.set_card(card.number, expected, **values):
            raise ConflictError(
                "card_changed", f"card {card.number} changed meanwhile: look at it again"
            )
        after = uow.collection.card(card.number)
        assert after is not None
        uow.audit.record(who, action, "card", card.number, card_view(card), card_view(after))
        return after

    def issue_card(self, who: Principal, number: str) -> dict[str, Any]:
        """An ordered card handed to its holder: active from today."""
        require(who, Role.CLERK)
        today = self.clock()
        with self.uow() as uow:
            card, _ = self._card(uow, who, number)
            if card.status is not CardStatus.ORDERED:
                raise ConflictError(
                    "card_not_ordered",
                    f"card {number} is {card.status.value}: only an ordered card can be issued",
                    status_now=card.status.value,
                )
            after = self._change(
                uow,
                who,
                card,
                CardStatus.ORDERED,
                "card.issue",
                status=CardStatus.ACTIVE,
                issued_on=today,
            )
            uow.commit()
        return card_view(after)

    def report_loss(self, who: Principal, number: str) -> dict[str, Any]:
        """An issued card reported lost, by a clerk or by its holder or their guardian.
        From now on a settlement by it is refused (card_lost) and the holder claims
        manual reimbursement; a clerk replaces it."""
        require(who, Role.CLERK, Role.INSURED, Role.GUARDIAN)
        today = self.clock()
        with self.uow() as uow:
            card, _ = self._card(uow, who, number)
            if card.status is not CardStatus.ACTIVE:
                raise ConflictError(
                    "card_not_active",
                    f"card {number} is {card.status.value}: only an issued card can be reported lost",
                    status_now=card.status.value,
                )
            after = self._change(
                uow,
                who,
                card,
                CardStatus.ACTIVE,
                "card.loss",
                status=CardStatus.LOST,
                lost_on=today,
            )
            uow.commit()
        return card_view(after)

    def replace_card(self, who: Principal, number: str) -> dict[str, Any]:
        """A lost card replaced: a new number ordered today (due in working days from
        today), the old card marked replaced and pointing to it."""
        require(who, Role.CLERK)
        today = self.clock()
        with self.uow() as uow:
            card, person = self._card(uow, who, number)
            if card.status is not CardStatus.LOST:
                raise ConflictError(
                    "card_not_lost",
                    f"card {number} is {card.status.value}: only a card reported lost is replaced",
                    status_now=card.status.value,
                )
            policy = self._policy(person.region)
            new = order_card(
                uow, who, policy, CardNumbers(uow), card.person_id, today, today, replaces=number
            )
            assert new is not None
            old = self._change(
                uow,
                who,
                card,
                CardStatus.LOST,
                "card.replace",
                status=CardStatus.REPLACED,
                replaced_by=new.number,
            )
            uow.commit()
        return {"old": card_view(old), "new": card_view(new)}

    def cards_of(self, who: Principal, person_id: str) -> list[dict[str, Any]]:
        """Every card the person has had, oldest first: staff of the region, the holder
        and their guardians."""
        require(who, Role.CLERK, Role.APPROVER, Role.INSURED, Role.GUARDIAN)
        with self.uow() as uow:
            person = visible_person(uow, who, person_id)
            cards = uow.collection.cards_of(person.id)
        return [card_view(c) for c in in_order(cards)]

    def overdue_cards(
        self, who: Principal, region: str, limit: int = MAX_OVERDUE
    ) -> dict[str, Any]:
        """Ordered cards still not issued after their due date, the longest overdue first."""
        require(who, Role.CLERK, Role.APPROVER)
        require_region(who, region)
        self._policy(region)
        today = self.clock()
        limit = max(1, min(limit, MAX_OVERDUE))
        with self.uow() as uow:
            rows = uow.collection.overdue_cards(region, today, limit)
        return {
            "region": region,
            "today": today.isoformat(),
            "cards": [
                {
                    "number": r.number,
                    "person_id": r.person_id,
                    "name": r.name,
                    "ordered_on": _iso(r.ordered_on),
                    "due_on": r.due_on.isoformat(),
                    "days_overdue": (today - r.due_on).days,
                    "replaces": r.replaces,
                }
                for r in rows
            ],
        }
