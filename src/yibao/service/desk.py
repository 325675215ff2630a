"""The hospital desk: what an institution's own system asks of yibao at the counter, in
the caller's unit of work so that one message is one transaction (the national
interface's adapter, yibao.fsi, translates messages to these calls and back).

- Who the person is, from the certificate the hospital read (electronic voucher, ID
  number or social-security card), and whether that certificate may settle — the card
  rule is the settlement service's own (`usable_card`). The voucher and the ID card are
  certificates of their own: a person they name settles by their active card when they
  have one, else by their person record (as the native API settles a voucher).
- Whether the person is insured on the day, and under which scheme.
- How each uploaded fee line falls under the catalogue: the engine's own line step
  (price cap, full self-pay, first self-pay, eligible), before anything is settled.
- Quotes, settlements and reversals: the settlement service's, in the caller's unit of
  work.

No rule lives in the adapter: it names fields, the desk decides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from yibao.domain.access import Principal
from yibao.domain.catalogue import Visit
from yibao.domain.engine.lines import line_parts
from yibao.domain.engine.results import LineResult
from yibao.domain.model import Encounter, Hospital, Kind, Line
from yibao.domain.money import fmt
from yibao.domain.parameters import PolicyGapError, RegionPolicy
from yibao.domain.registry import Enrolment, Institution, PersonRecord
from yibao.service.card_holder import usable_card
from yibao.service.catalogue_lines import Billed, resolve
from yibao.service.errors import NotFoundError, ServiceError
from yibao.service.history import current_split, stored_year
from yibao.service.ports import UnitOfWork
from yibao.service.queries import settlement_visible, stored_view
from yibao.service.settlement import Bill, SettlementService, place_catalogue

# mdtrt_cert_type as the desk knows them
VOUCHER, ID_NUMBER, CARD = "voucher", "id_number", "card"


@dataclass(frozen=True)
class Holder:
    """The person a certificate names, the card they settle by and their year's enrolment."""

    record: PersonRecord
    card: str | None  # None: settled by the person (a voucher, or an ID card without a card)
    enrolment: Enrolment | None
    by_person: bool = False  # the bill names the person, not a card


@dataclass(frozen=True)
class Classified:
    """One fee line under the catalogue, before settlement."""

    line: Line
    parts: LineResult
    share: Decimal  # the class's eligible share in force on the day


class HospitalDesk:
    def __init__(
        self,
        settlements: SettlementService,
        voucher_person: Callable[[str], str],
    ) -> None:
        self.settlements = settlements
        self.policies = settlements.policies
        self.voucher_person = voucher_person

    # --- people --------------------------------------------------------------------

    def holder(self, uow: UnitOfWork, kind: str, number: str, year: int) -> Holder:
        """The person a certificate names. Refusals are ServiceErrors: unknown_person,
        unknown_card, card_lost, card_replaced, card_not_issued, invalid_voucher,
        voucher_expired. A card must be usable itself; a person named by a voucher or by
        their ID number settles by their active card, or without one by the person: the
        state of a lost or replaced card is the card's, not theirs."""
        reg = uow.registry
        if kind == VOUCHER:
            person_id = self.voucher_person(number)  # its own refusals
            record = reg.person(person_id)
            if record is None:
                raise ServiceError(
                    "unknown_person", f"the voucher names {person_id}: not registered"
                )
            return Holder(
                record, _active_card(uow, record.id), reg.enrolment(record.id, year), True
            )  # a voucher settles by the person it names, card or not (as the native API)
        if kind == ID_NUMBER:
            record = reg.person_by_id_number(number.upper())
            if record is None:
                raise ServiceError("unknown_person", f"ID number {number} is not registered")
            card = _active_card(uow, record.id)
            return Holder(record, card, reg.enrolment(record.id, year), card is None)
        found = reg.holder(number, year)
        if found is None:
            raise ServiceError("unknown_card", f"card {number!r} is not known")
        held, record, enrolment = found
        usable_card(held)
        return Holder(record, held.number, enrolment)

    @staticmethod
    def visitor(uow: UnitOfWork, person_id: str, card: str | None, day: date) -> Holder:
        """The person of a visit already opened (their certificate was checked then)."""
        record = uow.registry.person(person_id)
        if record is None:
            raise ServiceError("unknown_person", f"{person_id} is not registered")
        return Holder(record, card, uow.registry.enrolment(person_id, day.year), card is None)

    @staticmethod
    def enrolled(holder: Holder, day: date) -> Enrolment:
        """The enrolment that covers the day (not_enrolled otherwise)."""
        e = holder.enrolment
        if e is None or not e.covers(day):
            raise ServiceError(
                "not_enrolled", f"{holder.record.id} is not enrolled on {day.isoformat()}"
            )
        return e

    # --- fee lines -----------------------------------------------------------------

    def classify(
        self,
        uow: UnitOfWork,
        institution_id: str,
        holder: Holder,
        kind: Kind,
        day: date,
        billed: Sequence[Billed],
    ) -> list[Classified]:
        """Each uploaded line as the engine's line step will settle it: the catalogue entry
        in force (or the institution's code mapped to it), the cap at the institution's
        level, the person's restrictions, the class's share. unknown_catalogue_code names
        the codes that are in no catalogue."""
        inst = _institution(uow, institution_id)
        record = holder.record
        enrolment = self.enrolled(holder, day)
        policy = self._policy(record.region)
        visit = Visit(day, kind, inst.level, record.birth_date, record.sex, enrolment.scheme.value)
        region = place_catalogue(uow, inst, record)
        lines, _ = resolve(uow, region, inst.id, visit, billed, record.id)
        enc = Encounter(
            id=f"{inst.id}:{day.isoformat()}",
            date=day,
            kind=kind,
            hospital=Hospital(inst.id, inst.level, inst.designated, inst.region),
            lines=tuple(lines),
        )
        try:
            parts, _ = line_parts(policy, enc)
            shares = [policy.eligible_share[ln.cls.value].at(day).value for ln in lines]
        except PolicyGapError as exc:
            raise ServiceError("no_policy_in_force", str(exc)) from None
        return [Classified(*x) for x in zip(lines, parts, shares, strict=True)]

    def _policy(self, region: str) -> RegionPolicy:
        try:
            return self.policies(region)
        except ValueError as exc:
            raise ServiceError("region_not_configured", str(exc), status=500) from None

    # --- settlement ----------------------------------------------------------------

    def quote(self, uow: UnitOfWork, bill: Bill) -> dict[str, Any]:
        return self.settlements.quote_in(uow, bill)

    def settle(self, uow: UnitOfWork, bill: Bill, key: str) -> dict[str, Any]:
        """Settle in the caller's unit of work, the settlement written at once so that the
        caller's own rows may refer to it before the one COMMIT."""
        _, view = self.settlements.settle_in(uow, bill, key)
        uow.counter.flush()
        return view

    def reverse(
        self, uow: UnitOfWork, settlement_id: int, reason: str, who: Principal
    ) -> dict[str, Any]:
        return self.settlements.reverse_in(uow, settlement_id, reason, who)

    @staticmethod
    def settlement(uow: UnitOfWork, settlement_id: int, who: Principal) -> dict[str, Any]:
        """A settlement as it stands now (Queries.settlement, in the caller's unit of work)."""
        row = uow.ledger.settlement(settlement_id)
        if row is None or not settlement_visible(uow, who, row):
            raise NotFoundError("unknown_settlement", f"settlement {settlement_id} does not exist")
        stored = stored_year(uow, row.person_id, row.year)
        return stored_view(next(s for s in stored if s.row.id == settlement_id))

    @staticmethod
    def split(uow: UnitOfWork, settlement_id: int, who: Principal) -> dict[str, str]:
        """A settlement's split as it stands now, the five amounts of `settlement` (basic,
        assistance, institution, personal, threshold), reading the settlement and its
        latest adjustment only (the national interface's 5203 shows no more)."""
        row = uow.ledger.settlement(settlement_id)
        if row is None or not settlement_visible(uow, who, row):
            raise NotFoundError("unknown_settlement", f"settlement {settlement_id} does not exist")
        s = current_split(uow, row)
        return {
            "basic": fmt(s.basic),
            "assistance": fmt(s.assistance),
            "institution": fmt(s.institution),
            "personal": fmt(s.personal),
            "threshold": fmt(s.threshold),
        }


def _institution(uow: UnitOfWork, institution_id: str) -> Institution:
    inst = uow.registry.institution(institution_id)
    if inst is None:
        raise ServiceError(
            "unknown_institution", f"institution {institution_id!r} is not registered"
        )
    if not inst.designated:
        raise ServiceError("not_designated", f"{inst.id} is not a designated institution")
    return inst


def _active_card(uow: UnitOfWork, person_id: str) -> str | None:
    """The person's newest active card."""
    cards = [c for c in uow.collection.cards_of(person_id) if c.status.value == "active"]
    if not cards:
        return None
    newest = max(sorted(cards, key=lambda c: c.number), key=lambda c: c.issued_on or date.min)
    return newest.number
