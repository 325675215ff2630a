"""Real-time card settlement, quotes and reversals: the use cases institutions call.

Each call is one unit of work. A settlement locks the person's year, settles the bill
with the engine against the stored accumulators, and stores the settlement, its lines
and explanation, the new accumulators, the fund ledger entries and (with an
idempotency key) the answer, all in one transaction: either all of it is there or none.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _ascii
from typing import Any

from yibao.domain.access import Principal
from yibao.domain.catalogue import Visit
from yibao.domain.explain import stored_and_shown
from yibao.domain.frozen import fast_init
from yibao.domain.model import SPECIAL_OUTPATIENT, CategorySpan, Encounter, Hospital, Kind, Person
from yibao.domain.money import ZERO, fmt
from yibao.domain.registry import (
    CatalogueItem,
    Enrolment,
    Institution,
    PersonRecord,
    insured_person,
)
from yibao.service.booking import (
    Prepared,
    between_regions,
    day_text,
    run_engine,
    settlement_record,
    settlement_view,
)
from yibao.service.card_holder import card_holder, designated, voucher_holder
from yibao.service.catalogue_lines import MAX_BILL, resolve
from yibao.service.certificates_pilot import treats_pilot
from yibao.service.encounter_details import (
    EncounterDetails,
    origin_key,
    province_class,
    stay_key,
)
from yibao.service.errors import ConflictError, NotFoundError, ServiceError
from yibao.service.kept_answer import kept_answer, replayed
from yibao.service.ports import Clock, PolicySource, UnitOfWork, UowFactory, china_today
from yibao.service.ports.records import (
    BillKeys,
    CounterFacts,
    KeyTakenError,
    NewAnswer,
    StoredAnswer,
)
from yibao.service.queries import settlement_visible
from yibao.service.reversal import reverse


@fast_init
@dataclass(frozen=True)
class BillLine:
    code: str
    quantity: Decimal
    unit_price: Decimal
    # The line total as the institution billed it, when its unit price is rounded (to 4
    # places, say) so that quantity × price misses the total by a fen: the total counts.
    amount: Decimal | None = None


@fast_init
@dataclass(frozen=True)
class Bill:
    """A bill as an institution presents it at the counter."""

    institution_id: str
    card_number: str | None  # None: settled by an electronic voucher (person_id)
    kind: Kind
    date: date
    lines: tuple[BillLine, ...]
    diagnosis: str | None = None
    disease: str | None = None
    prescription: bool = True
    # The person an electronic insurance voucher names (its signature checked before the
    # bill is made), instead of a card: no physical card is needed.
    person_id: str | None = None
    # The cause, a childbirth's delivery, the stay it was referred from (issue 14).
    details: EncounterDetails = field(default_factory=EncounterDetails)

    def fingerprint(self) -> str:
        """What makes two requests the same request (for idempotency keys): the bill's
        fields as JSON, sorted (as dataclasses.asdict gave them, without its deep copies)."""
        text = _card_bill_json(self) or _bill_json(self)
        if text is None:  # a value of a type the text below does not write: as it always was
            text = _FINGERPRINT.encode(self._data())
        digest = _SHA256.copy()
        digest.update(text.encode())
        return digest.hexdigest()

    def _data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "institution_id": self.institution_id,
            "card_number": self.card_number,
            "kind": self.kind,
            "date": self.date,
            "lines": [_line_data(ln) for ln in self.lines],
            "diagnosis": self.diagnosis,
            "disease": self.disease,
            "prescription": self.prescription,
        }
        if self.person_id is not None:
            data["person_id"] = self.person_id  # card bills hash as they always did
        data.update(self.details.data())  # so do bills without details
        return data

    def keys(self, key: str | None) -> BillKeys:
        # A group commit asks twice for a bill's keys (its batch's read, then settle_in):
        # the keys made for this idempotency key are kept on the (frozen) bill.
        kept: tuple[str | None, BillKeys] | None = self.__dict__.get("_keys")
        if kept is not None and kept[0] == key:
            return kept[1]
        made = BillKeys(  # its fields in their order: by keyword, they cost twice as much
            self.institution_id,  # institution_id
            self.date.year,  # year
            _codes(self.lines),  # codes
            self.card_number if self.person_id is None else None,  # card_number
            self.person_id,  # person_id
            self.institution_id if key is not None else None,  # caller
            key,
            self.date,  # day
        )
        self.__dict__["_keys"] = (key, made)
        return made


def _codes(lines: tuple[BillLine, ...]) -> tuple[str, ...]:
    """The bill's codes, each once, sorted: most bills have one line."""
    if len(lines) == 1:
        return (lines[0].code,)
    return tuple(sorted({ln.code for ln in lines}))


# json.dumps(data, sort_keys=True, default=str), whose text the stored keys' hashes were
# made of, with one encoder for every bill (json.dumps makes one a call, and a fifth of
# a fingerprint's cost was that).
_FINGERPRINT = json.JSONEncoder(sort_keys=True, default=str)
# A fresh SHA-256 copied from this one: hashlib.sha256() looks the digest up by its name
# in OpenSSL each time (some 6,700 instructions, more than hashing a bill's text).
_SHA256 = hashlib.sha256()


class _UnusualValueError(Exception):
    """A value _json does not write: the bill is hashed by the JSON encoder itself."""


def _json(value: object) -> str:
    """A scalar of a bill as _FINGERPRINT writes it (json.dumps, ASCII, default=str)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    kind = type(value)
    if isinstance(value, str):  # a StrEnum too: the encoder writes its text
        return _ascii(value)
    if kind is Decimal or kind is date:  # default=str: str(), written as a string
        return _ascii(str(value))
    if kind is int:
        return int.__repr__(value)
    raise _UnusualValueError


def _card_bill_json(bill: Bill) -> str | None:
    """`_bill_json` of the bill most requests are, in one format: a card's, without
    details, each value of the type it is meant to have (strings, a date, Decimals);
    None for any other bill. Ten calls of _json a bill were half of its fingerprint
    (tests/fast/test_fingerprint.py holds the two to the same text)."""
    details = bill.details
    card, day, diagnosis, disease = bill.card_number, bill.date, bill.diagnosis, bill.disease
    prescription = bill.prescription
    if not (
        bill.person_id is None
        and details.cause == "ordinary"
        and details.delivery is None
        and details.referred_from is None
        and type(card) is str
        and type(day) is date
        and type(bill.institution_id) is str
        and isinstance(bill.kind, str)  # a Kind (a StrEnum): the encoder writes its text
        and (prescription is True or prescription is False)
        and (diagnosis is None or type(diagnosis) is str)
        and (disease is None or type(disease) is str)
    ):
        return None
    lines = []
    for ln in bill.lines:
        code, quantity, price = ln.code, ln.quantity, ln.unit_price
        if not (
            ln.amount is None
            and type(code) is str
            and type(quantity) is Decimal
            and type(price) is Decimal
        ):
            return None
        # str(Decimal) is digits, a sign, a point, an exponent: nothing to escape.
        lines.append(
            f'{{"code": {_ascii(code)}, "quantity": "{quantity!s}", "unit_price": "{price!s}"}}'
        )
    return (
        f'{{"card_number": {_ascii(card)}, "date": "{day_text(day)}", '
        f'"diagnosis": {"null" if diagnosis is None else _ascii(diagnosis)}, '
        f'"disease": {"null" if disease is None else _ascii(disease)}, '
        f'"institution_id": {_ascii(bill.institution_id)}, "kind": {_ascii(bill.kind)}, '
        f'"lines": [{", ".join(lines)}], "prescription": {"true" if prescription else "false"}}}'
    )


def _bill_json(bill: Bill) -> str | None:
    """The text `_FINGERPRINT.encode(bill._data())` makes, made directly: the encoder
    with sort_keys and default=str cost as much as the rest of a settlement's service
    layer (tests/fast/test_fingerprint.py holds the two to the same text). None: a value
    of another type (a float, say), for the encoder to write as it always did."""
    try:
        lines = ", ".join([_line_json(ln) for ln in bill.lines])
        fields = [  # in sort_keys' order
            ("card_number", _json(bill.card_number)),
            ("date", _json(bill.date)),
            ("diagnosis", _json(bill.diagnosis)),
            ("disease", _json(bill.disease)),
            ("institution_id", _json(bill.institution_id)),
            ("kind", _json(bill.kind)),
            ("lines", f"[{lines}]"),
            ("prescription", _json(bill.prescription)),
        ]
        details = bill.details
        plain = details.cause == "ordinary" and details.delivery is None
        if not plain or details.referred_from is not None or bill.person_id is not None:
            # Not most bills: a voucher's person and the details fall among the others.
            if bill.person_id is not None:
                fields.append(("person_id", _json(bill.person_id)))
            fields.extend((k, _json(v)) for k, v in details.data().items())
            fields.sort()
    except _UnusualValueError:
        return None
    return "{" + ", ".join([f'"{k}": {v}' for k, v in fields]) + "}"


def _line_json(ln: BillLine) -> str:
    amount = "" if ln.amount is None else f'"amount": {_json(ln.amount)}, '
    return (
        f'{{{amount}"code": {_json(ln.code)}, "quantity": {_json(ln.quantity)}, '
        f'"unit_price": {_json(ln.unit_price)}}}'
    )


def _line_data(ln: BillLine) -> dict[str, Any]:
    out: dict[str, Any] = {"code": ln.code, "quantity": ln.quantity, "unit_price": ln.unit_price}
    if ln.amount is not None:
        out["amount"] = ln.amount  # lines without a total of their own hash as they did
    return out


class SettlementService:
    def __init__(self, uow: UowFactory, policies: PolicySource, clock: Clock = china_today) -> None:
        self.uow = uow
        self.policies = policies
        self.clock = clock  # the month a movement between regions happens in

    # --- use cases ------------------------------------------------------------------

    def settle(self, bill: Bill, idempotency_key: str | None = None) -> tuple[int, dict[str, Any]]:
        """Settle a bill; returns (HTTP status, settlement view). A retried key returns
        the first answer and pays nothing again.

        One unit of work: the counter reads everything the bill needs with the person's
        year locked, the stored answer to the key among it; the engine settles; the
        settlement, its lines, the year, the fund ledger and the answer are written and
        committed together. A retry that raced its first attempt past that read finds the
        key taken when it stores its own answer: it rolls back and replays the first."""
        try:
            with self.uow() as uow:
                answer = self.settle_in(uow, bill, idempotency_key)
                uow.commit()
                return answer
        except KeyTakenError:
            # Two first attempts with one key raced past each other: the loser rolled back
            # and takes the winner's answer.
            assert idempotency_key is not None
            with self.uow() as uow:
                facts = uow.counter.open(bill.keys(idempotency_key), lock=False)
                if facts.answer is None:
                    raise
                return _replay(uow, facts.answer, bill.fingerprint(), idempotency_key)

    def settle_in(
        self, uow: UnitOfWork, bill: Bill, idempotency_key: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """`settle` in the caller's unit of work, which commits it together with whatever
        else the caller writes (the national interface: its visit and stored answer)."""
        fingerprint = bill.fingerprint() if idempotency_key else ""
        facts = uow.counter.open(bill.keys(idempotency_key))
        if facts.answer is not None:
            return _replay(uow, facts.answer, fingerprint, idempotency_key)
        prepared = self._prepare(uow, bill, facts)
        result, after = run_engine(prepared, facts.year)
        seq = facts.settled + 1
        # The steps as stored (data, words made when read), for the row and the answer.
        steps, shown = stored_and_shown(result.steps)
        sid = uow.counter.book(settlement_record(prepared, result, after, seq, "card", steps))
        between_regions(uow, sid, prepared, result, self.clock)
        view = settlement_view(sid, prepared, result, seq, shown)
        if idempotency_key:
            # The answer kept for a retry refers to the settlement, whose rows hold what
            # it shows; a replay renders it again from them (kept_answer.py).
            kept = kept_answer(sid, len(prepared.lines), result, view)
            uow.counter.remember(
                NewAnswer(bill.institution_id, idempotency_key, fingerprint, 201, kept)
            )
        # In a group commit the bill is written now: a key taken meanwhile is this bill's
        # error, raised here, before its answer is handed back (counter_pg.py).
        uow.counter.bill_done()
        return 201, view

    def settle_batch(
        self,
        uow: UnitOfWork,
        bills: Sequence[tuple[Bill, str | None]],
        before_write: Callable[[], None] | None = None,
    ) -> list[Answer | ServiceError | None]:
        """A group commit's bills (service/group_commit.py) in the caller's unit of work,
        their facts read at once and their writes made at once (Counter.open_many, flush):
        per bill, its answer, or the ServiceError the rules refused it with (nothing of it
        was written), or None: a bill of a person-year or an idempotency key that an
        earlier bill of the batch has, settled alone after the batch commits, as it would
        be behind that bill. Anything else failing, at the database or in a bill, is
        BatchRefusedError: the caller rolls back and settles the bills another way.
        `before_write` is called once the batch is read and settled, as its write begins
        (the committer hands its front stage to the next batch there)."""
        try:
            read = uow.counter.open_many([bill.keys(key) for bill, key in bills])
        except Exception as exc:
            raise BatchRefusedError(()) from exc
        answers: list[Answer | ServiceError | None] = []
        taken: set[object] = set()
        for n, ((bill, key), facts) in enumerate(zip(bills, read, strict=True)):
            year = None if facts.person is None else (facts.person.id, bill.date.year)
            answer_key = None if key is None else (bill.institution_id, key)
            if (year is not None and year in taken) or (answer_key in taken):
                answers.append(None)
                continue
            if year is not None:
                taken.add(year)
            if answer_key is not None:
                taken.add(answer_key)
            try:
                answers.append(self.settle_in(uow, bill, key))
            except ServiceError as refused:  # before anything of it was written
                answers.append(refused)
            except Exception as exc:
                raise BatchRefusedError((n,)) from exc
        if before_write is not None:
            before_write()
        try:
            uow.counter.flush()
        except KeyTakenError as exc:
            raise BatchRefusedError(
                tuple(n for n, (b, k) in enumerate(bills) if (b.institution_id, k) in exc.keys)
            ) from exc
        except Exception as exc:
            raise BatchRefusedError(()) from exc
        return answers

    def reverse(self, settlement_id: int, reason: str, who: Principal) -> dict[str, Any]:
        """Reverse a settlement and re-settle the rest of the person's year (see reversal.py).
        An institution reverses its own settlements; a clerk those of the region."""
        with self.uow() as uow:
            answer = self.reverse_in(uow, settlement_id, reason, who)
            uow.commit()
            return answer

    def reverse_in(
        self, uow: UnitOfWork, settlement_id: int, reason: str, who: Principal
    ) -> dict[str, Any]:
        """`reverse` in the caller's unit of work (committed by the caller)."""
        row = uow.ledger.settlement(settlement_id)
        if row is None or not settlement_visible(uow, who, row):
            raise NotFoundError("unknown_settlement", f"settlement {settlement_id} does not exist")
        answer = reverse(uow, self.policies, settlement_id, reason, None, today=self.clock())
        uow.audit.record(
            who, "settlement.reverse", "settlement", str(settlement_id), None, {"reason": reason}
        )
        return answer

    def quote(self, bill: Bill) -> dict[str, Any]:
        """The same settlement, computed against the stored year and not stored."""
        with self.uow() as uow:
            return self.quote_in(uow, bill)

    def quote_in(self, uow: UnitOfWork, bill: Bill) -> dict[str, Any]:
        """`quote` in the caller's unit of work."""
        facts = uow.counter.open(bill.keys(None), lock=False)
        prepared = self._prepare(uow, bill, facts)
        result, _ = run_engine(prepared, facts.year)
        return settlement_view(None, prepared, result, seq=None)

    # --- steps ----------------------------------------------------------------------

    def _prepare(self, uow: UnitOfWork, bill: Bill, facts: CounterFacts) -> Prepared:
        inst = designated(facts.institution, bill.institution_id)
        if bill.person_id is not None:
            record, enrolment = voucher_holder(facts, bill.date)
        else:
            record, enrolment = card_holder(facts, bill.card_number, bill.date)
        if bill.kind is SPECIAL_OUTPATIENT and not bill.disease:
            raise ServiceError("missing_disease", "a special_outpatient bill needs its disease")
        bill.details.check(bill.kind)
        try:
            policy = self.policies(record.region)
        except ValueError as exc:
            raise ServiceError("region_not_configured", str(exc), status=500) from None
        visit = Visit(
            bill.date, bill.kind, inst.level, record.birth_date, record.sex, str(enrolment.scheme)
        )
        catalogue_region = place_catalogue(uow, inst, record)
        known: dict[str, CatalogueItem] | None = facts.items
        if catalogue_region != record.region:
            known = None
        lines, priced = resolve(
            uow, catalogue_region, inst.id, visit, bill.lines, record.id, known=known
        )
        total = ZERO  # sum(..., ZERO) without its generator: the same additions
        for ln in lines:
            total += ln.amount
        if total > MAX_BILL:
            raise ServiceError(
                "amount_too_large", f"a bill of {fmt(total)} is above {fmt(MAX_BILL)}"
            )
        person, referral = _insured(uow, record, enrolment, inst, bill, facts.categories)
        pilot = treats_pilot(uow, inst, policy, bill.kind, bill.diagnosis, bill.date)
        details = bill.details
        province = province_class(self.policies, policy, inst)
        # Encounter's fields in their order (by keyword, the call cost twice as much).
        encounter = Encounter(
            stay_key(bill.date.year, facts.settled + 1),
            bill.date,
            bill.kind,
            _hospital(inst, pilot, province),
            tuple(lines),
            bill.diagnosis,
            bill.disease,
            referral,
            bill.prescription,
            details.cause,
            details.delivery,
            origin_key(uow, record.id, details, bill.date),
        )
        return Prepared(person, encounter, inst.id, policy, tuple(priced), details.referred_from)


Answer = tuple[int, dict[str, Any]]


class BatchRefusedError(Exception):
    """The database (or a bill, other than by the rules) refused a batch: nothing of it
    stays. `culprits`: the places of the bills known to have caused it (their key taken
    meanwhile, their own error), to settle alone; the others may go together again."""

    def __init__(self, culprits: tuple[int, ...]) -> None:
        super().__init__(f"batch refused (bills {list(culprits)})")
        self.culprits = culprits


def _hospital(inst: Institution, pilot: bool, province: str) -> Hospital:
    """The engine's hospital, kept on the (frozen) institution by what else it is made
    of: the counter hands the same Institution object to every bill whose row has the
    same values (counter_pg._institution), and a changed row is another object."""
    kept: dict[tuple[bool, str], Hospital] | None = inst.__dict__.get("_hospitals")
    if kept is None:
        kept = inst.__dict__["_hospitals"] = {}
    made = kept.get((pilot, province))
    if made is None:  # Hospital's fields in their order
        made = kept[(pilot, province)] = Hospital(
            inst.id, inst.level, inst.designated, inst.region, pilot, inst.type, province
        )
    return made


def place_catalogue(uow: UnitOfWork, inst: Institution, record: PersonRecord) -> str:
    """The region whose catalogue a bill is read by: the place of treatment's (reference
    §9) when yibao knows that region; otherwise the insured place's."""
    if inst.region != record.region and uow.regions.known(inst.region):
        return inst.region
    return record.region


def _insured(
    uow: UnitOfWork,
    record: PersonRecord,
    enrolment: Enrolment,
    inst: Institution,
    bill: Bill,
    read: tuple[CategorySpan, ...] | None,
) -> tuple[Person, bool]:
    """The engine's person, and whether the bill is under a referral. Certificates are
    read only where the engine would look at them: approvals for a special disease,
    filings and referrals for treatment in another region. The categories come with the
    counter's facts when it read them (`read`)."""
    reg = uow.registry
    elsewhere = inst.region != record.region
    special = bill.kind is SPECIAL_OUTPATIENT
    referral = elsewhere and any(r.covers(inst.region, bill.date) for r in reg.referrals(record.id))
    approvals = reg.approvals(record.id) if special else ()
    filings = reg.filings(record.id) if elsewhere else ()
    categories = read if read is not None else reg.categories(record.id)
    if approvals or filings or categories:
        return insured_person(record, enrolment, approvals, filings, categories), referral
    # Most bills: the person as the record and the enrolment alone make them, kept on the
    # (frozen) record with the enrolment it was made with. The counter hands the same
    # record and enrolment objects to every bill whose rows have the same values
    # (counter_pg._person, _enrolment): a changed record or enrolment is another object.
    kept: tuple[Enrolment, Person] | None = record.__dict__.get("_insured")
    if kept is None or kept[0] is not enrolment:
        kept = record.__dict__["_insured"] = (
            enrolment,
            insured_person(record, enrolment, approvals, filings, categories),
        )
    return kept[1], referral


def _replay(
    uow: UnitOfWork, answer: StoredAnswer, fingerprint: str, key: str | None
) -> tuple[int, dict[str, Any]]:
    """The first answer to a key, for a retry of the same request."""
    if answer.request_hash != fingerprint:
        raise ConflictError(
            "idempotency_key_reused",
            f"Idempotency-Key {key!r} was used for a different request; use a new key for a new bill",
        )
    return answer.status, replayed(uow, answer.response)
