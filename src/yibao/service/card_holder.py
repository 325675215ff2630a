"""Who may settle a bill by card (or electronic voucher): a registered institution
designated for it, and an active card's holder, or the voucher's person, enrolled on the
bill's day. The settlement service and the hospital desk ask the same rules."""

from __future__ import annotations

from datetime import date

from yibao.domain.registry import Card, CardStatus, Enrolment, Institution, PersonRecord
from yibao.service.errors import ServiceError
from yibao.service.ports.records import CounterFacts

_ACTIVE = CardStatus.ACTIVE  # read once (model.py's kinds say why)


def designated(inst: Institution | None, institution_id: str) -> Institution:
    """The bill's institution: registered, and designated to settle by card."""
    if inst is None:
        raise ServiceError(
            "unknown_institution", f"institution {institution_id!r} is not registered"
        )
    if not inst.designated:
        raise ServiceError(
            "not_designated",
            f"{inst.id} is not a designated institution: it cannot settle by card; the insured pays "
            "and claims manual reimbursement",
        )
    return inst


def card_holder(
    facts: CounterFacts, card_number: str | None, day: date
) -> tuple[PersonRecord, Enrolment]:
    """The holder of a card that may settle, enrolled on the bill's day."""
    card, record, enrolment = facts.card, facts.person, facts.enrolment
    if card is None or record is None:
        raise ServiceError("unknown_card", f"card {card_number!r} is not known")
    usable_card(card)
    if enrolment is None or not enrolment.covers(day):
        raise ServiceError(
            "not_enrolled",
            f"the holder of card {card.number} is not enrolled on {day.isoformat()}",
        )
    return record, enrolment


def usable_card(card: Card) -> None:
    """A card settles only while it is active: lost, replaced or not yet issued, it is
    refused, and the insured pays first and claims manual reimbursement (one rule for the
    native API and the hospital desk)."""
    if card.status is _ACTIVE:  # most cards: one of CardStatus's attributes, not three
        return
    if card.status is CardStatus.LOST:
        raise ServiceError(
            "card_lost",
            f"card {card.number} is reported lost: the insured pays first and claims manual "
            "reimbursement with the documents",
        )
    if card.status is CardStatus.REPLACED:
        raise ServiceError(
            "card_replaced",
            f"card {card.number} was replaced by {card.replaced_by}",
        )
    if card.status is CardStatus.ORDERED:
        raise ServiceError(
            "card_not_issued",
            f"card {card.number} is ordered and not yet issued (due {card.due_on}): the insured "
            "pays first and claims manual reimbursement",
        )


def voucher_holder(facts: CounterFacts, day: date) -> tuple[PersonRecord, Enrolment]:
    """The person an electronic voucher names (its signature was checked before), enrolled
    on the day. The voucher stands for the card: no card, or a card's state, is needed."""
    record, enrolment = facts.person, facts.enrolment
    if record is None:
        raise ServiceError("invalid_voucher", "the voucher names no registered person")
    if enrolment is None or not enrolment.covers(day):
        raise ServiceError(
            "not_enrolled", f"the voucher's person is not enrolled on {day.isoformat()}"
        )
    return record, enrolment
