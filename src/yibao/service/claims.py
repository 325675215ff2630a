"""Manual reimbursement: the insured paid first (an emergency elsewhere, a lost card)
and claims back with receipts. Submitted, reviewed by a clerk with the engine's proposed
split, approved (booked as a settlement paid to the person) or rejected with a reason,
then paid."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.catalogue import Visit
from yibao.domain.model import Encounter, Hospital, Kind, Line, LineClass, Person
from yibao.domain.money import ZERO, fmt, from_fen, to_fen
from yibao.domain.registry import insured_person
from yibao.service.access import person_visible, require, visible_person
from yibao.service.booking import Prepared, book, run_engine, settlement_view
from yibao.service.catalogue_lines import MAX_BILL, Billed, resolve
from yibao.service.claims_chain import chain_view, claim_origin, origin_stay_key, stays_of
from yibao.service.encounter_details import (
    PROVINCE_CLASSES,
    TYPES,
    EncounterDetails,
    province_class,
    stay_key,
)
from yibao.service.errors import ConflictError, NotFoundError, ServiceError
from yibao.service.ports import PolicySource, UnitOfWork, UowFactory, now


class ClaimReason(StrEnum):
    EMERGENCY_ELSEWHERE = "emergency_elsewhere"
    CARD_LOST = "card_lost"
    OTHER = "other"


@dataclass(frozen=True)
class ClaimLine:
    amount: Decimal
    cls: LineClass | None = None  # the clerk's classification of a receipt line
    code: str | None = None  # or a catalogue code, which decides the class
    name: str | None = None  # a line as the receipt prints it: classed by a clerk on review


@dataclass(frozen=True)
class Claim:
    person_id: str
    reason: ClaimReason
    kind: Kind
    date: date
    hospital_name: str
    hospital_level: int
    hospital_region: str
    hospital_designated: bool
    lines: tuple[ClaimLine, ...]
    hospital_id: str | None = None
    hospital_pilot: bool = False
    diagnosis: str | None = None
    disease: str | None = None
    prescription: bool = True
    receipts: tuple[str, ...] = ()
    # Issue 14's facts: the cause, a childbirth's delivery and the settlement of the stay
    # it was referred from (or referred_from_claim: the earlier claim booked as it), and
    # for a place outside the registry its type and province class (a registered
    # institution's come from the registry).
    details: EncounterDetails = field(default_factory=EncounterDetails)
    hospital_type: str = "general"
    hospital_province: str = "same"
    referred_from_claim: int | None = None


class ClaimsService:
    def __init__(self, uow: UowFactory, policies: PolicySource) -> None:
        self.uow = uow
        self.policies = policies

    def submit(self, who: Principal, claim: Claim, *, duplicate_ok: bool = True) -> dict[str, Any]:
        """A claim, kept when the engine can settle it (a claim whose receipt lines are
        not classed yet is settled once a clerk has classed them). With duplicate_ok
        False, a claim like one of the person's not rejected (same day, hospital and
        total) is refused as `duplicate_claim`, naming it: the family confirms first."""
        require(who, Role.CLERK, Role.INSURED, Role.GUARDIAN)
        with self.uow() as uow:
            record = visible_person(uow, who, claim.person_id)
            enrolment = uow.registry.enrolment(record.id, claim.date.year)
            if enrolment is None or not enrolment.covers(claim.date):
                raise ServiceError(
                    "not_enrolled", f"{record.id} is not enrolled on {claim.date.isoformat()}"
                )
            lines = self._classify(uow, record.region, claim)
            total = sum((Decimal(ln["amount"]) for ln in lines), ZERO)
            if total > MAX_BILL:
                raise ServiceError(
                    "amount_too_large", f"a claim of {fmt(total)} is above {fmt(MAX_BILL)}"
                )
            if claim.kind is Kind.SPECIAL_OUTPATIENT and not claim.disease:
                raise ServiceError(
                    "missing_disease", "a special_outpatient claim needs its disease"
                )
            if not duplicate_ok:
                _refuse_duplicate(uow, record.id, claim, to_fen(total))
            facts = _facts(uow, self.policies, record.region, claim)
            claim_id = uow.claims.add({**_new_claim(uow, record.id, claim, lines, total), **facts})
            # The engine must be able to settle it (the clerk's proposal) before it is kept.
            row = self._row(uow, claim_id)
            if not _unclassified(row):
                run_engine(
                    self._prepare(uow, row),
                    uow.ledger.read_person_year(record.id, claim.date.year),
                )
            uow.audit.record(
                who, "claim.submit", "claim", str(claim_id), None, {"total": fmt(total)}
            )
            uow.commit()
        return self.get(who, claim_id)

    def get(self, who: Principal, claim_id: int) -> dict[str, Any]:
        """A claim; while it waits for review, with the engine's proposed split."""
        with self.uow() as uow:
            row = self._row(uow, claim_id)
            person = uow.registry.person(row.person_id)
            if person is None or not person_visible(uow, who, person) or who.role is Role.SCHOOL:
                raise NotFoundError("unknown_claim", f"claim {claim_id} does not exist")
            view = claim_view(row)
            view["chain"] = chain_view(uow, row.person_id, row.referred_from)
            if row.status == "submitted" and not _unclassified(row):
                prepared = self._prepare(uow, row)
                acc = uow.ledger.read_person_year(row.person_id, row.encounter_date.year)
                result, _ = run_engine(prepared, acc)
                view["proposal"] = settlement_view(None, prepared, result, seq=None)
            return view

    def earlier_stays(self, who: Principal, person_id: str, year: int) -> list[dict[str, Any]]:
        """The person's settled inpatient stays of a year, by hospital name and date, newest
        first: what a claim of that year may name as the stay it was referred from."""
        require(who, Role.CLERK, Role.INSURED, Role.GUARDIAN)
        with self.uow() as uow:
            record = visible_person(uow, who, person_id)
            return stays_of(uow, record.id, year)

    def by_status(self, who: Principal, status: str | None = None) -> list[dict[str, Any]]:
        require(who, Role.CLERK)
        with self.uow() as uow:
            rows = uow.claims.by_status(status)
            if who.region is not None:
                regions = {r.person_id: uow.registry.person(r.person_id) for r in rows}
                rows = [r for r in rows if (p := regions[r.person_id]) and p.region == who.region]
            return [claim_view(r) for r in rows]

    def approve(self, who: Principal, claim_id: int) -> dict[str, Any]:
        """Settle the claim with the engine against the person's year, as of now."""
        with self.uow() as uow:
            require(who, Role.CLERK)
            row = self._staff_row(uow, who, claim_id)
            self._expect(row, "submitted", "approve")
            if _unclassified(row):
                raise ServiceError(
                    "unclassified_line", f"claim {claim_id}: class every receipt line first"
                )
            prepared = self._prepare(uow, row)
            acc, settled = uow.ledger.lock_person_year(row.person_id, row.encounter_date.year)
            # Keyed by its place in the year, as history.py settles it again.
            key = stay_key(row.encounter_date.year, settled + 1)
            prepared = replace(prepared, encounter=replace(prepared.encounter, id=key))
            result, after = run_engine(prepared, acc)
            settlement = book(uow, prepared, result, after, settled + 1, "claim")
            uow.claims.update(
                claim_id,
                status="approved",
                settlement_id=settlement["id"],
                reviewer=who.account,
                reviewed_at=now(),
            )
            uow.audit.record(
                who,
                "claim.approve",
                "claim",
                str(claim_id),
                {"status": "submitted"},
                {"status": "approved", "settlement_id": settlement["id"]},
            )
            uow.commit()
        view = self.get(who, claim_id)
        view["settlement"] = settlement
        return view

    def reject(self, who: Principal, claim_id: int, reason: str) -> dict[str, Any]:
        require(who, Role.CLERK)
        with self.uow() as uow:
            row = self._staff_row(uow, who, claim_id)
            self._expect(row, "submitted", "reject")
            uow.claims.update(
                claim_id,
                status="rejected",
                reviewer=who.account,
                rejection_reason=reason,
                reviewed_at=now(),
            )
            uow.audit.record(
                who,
                "claim.reject",
                "claim",
                str(claim_id),
                {"status": "submitted"},
                {"status": "rejected", "reason": reason},
            )
            uow.commit()
        return self.get(who, claim_id)

    def classify(self, who: Principal, claim_id: int, classes: list[str]) -> dict[str, Any]:
        """A clerk classes a submitted claim's receipt lines as printed: for each line in
        order, a class (A, B, self_pay) or a catalogue code, which decides the class. The
        claim must then settle (the proposal); in the audit log."""
        require(who, Role.CLERK)
        with self.uow() as uow:
            row = self._staff_row(uow, who, claim_id)
            self._expect(row, "submitted", "be classed")
            before = json.loads(row.lines)
            if len(classes) != len(before):
                raise ServiceError(
                    "invalid_field", f"classes: one for each of the {len(before)} lines"
                )
            person = uow.registry.person(row.person_id)
            assert person is not None
            given = [
                ClaimLine(
                    Decimal(ln["amount"]),
                    LineClass(c) if c in LineClass.__members__.values() else None,
                    None if c in LineClass.__members__.values() or not c else c,
                    ln.get("name") or None,
                )
                for ln, c in zip(before, classes, strict=True)
            ]
            claim = _claim_of(row, tuple(given))
            after = self._classify(uow, person.region, claim)
            if _unclassified_lines(after):
                raise ServiceError("unclassified_line", "class every receipt line")
            uow.claims.update(claim_id, lines=json.dumps(after))
            run_engine(
                self._prepare(uow, self._row(uow, claim_id)),
                uow.ledger.read_person_year(row.person_id, row.encounter_date.year),
            )
            uow.audit.record(
                who, "claim.classify", "claim", str(claim_id), {"lines": before}, {"lines": after}
            )
            uow.commit()
        return self.get(who, claim_id)

    def pay(self, who: Principal, claim_id: int) -> dict[str, Any]:
        require(who, Role.CLERK)
        with self.uow() as uow:
            row = self._staff_row(uow, who, claim_id)
            self._expect(row, "approved", "pay")
            uow.claims.update(claim_id, status="paid", paid_at=now())
            uow.audit.record(
                who, "claim.pay", "claim", str(claim_id), {"status": "approved"}, {"status": "paid"}
            )
            uow.commit()
        return self.get(who, claim_id)

    # --- steps ----------------------------------------------------------------------

    def _row(self, uow: UnitOfWork, claim_id: int, lock: bool = False) -> Any:
        row = uow.claims.get(claim_id, lock=lock)
        if row is None:
            raise NotFoundError("unknown_claim", f"claim {claim_id} does not exist")
        return row

    def _staff_row(self, uow: UnitOfWork, who: Principal, claim_id: int) -> Any:
        """The claim, locked, if it belongs to the clerk's region."""
        row = self._row(uow, claim_id, lock=True)
        person = uow.registry.person(row.person_id)
        if person is None or not person_visible(uow, who, person):
            raise NotFoundError("unknown_claim", f"claim {claim_id} does not exist")
        return row

    def _expect(self, row: Any, status: str, action: str) -> None:
        if row.status != status:
            raise ConflictError(
                "claim_status",
                f"claim {row.id} is {row.status}: only a {status} claim can {action}",
            )

    def _classify(self, uow: UnitOfWork, region: str, claim: Claim) -> list[dict[str, str]]:
        """Each receipt line with its class: the clerk's, or its catalogue code's on the
        day (an institution's own code where the claim names a registered one)."""
        codes = {ln.code for ln in claim.lines if ln.code}
        mapped = (
            uow.catalogue.mapped(claim.hospital_id, codes, claim.date) if claim.hospital_id else {}
        )
        entries = uow.catalogue.in_force(region, {mapped.get(c, c) for c in codes}, claim.date)
        out = []
        for i, ln in enumerate(claim.lines, start=1):
            if ln.code is not None:
                entry = entries.get(mapped.get(ln.code, ln.code))
                if entry is None:
                    raise ServiceError(
                        "unknown_catalogue_code",
                        f"line {i}: {ln.code} is not in the {region} catalogue on "
                        f"{claim.date.isoformat()}, nor mapped",
                        codes=[ln.code],
                    )
                cls = entry.cls
            elif ln.cls is not None:
                cls = ln.cls
            elif ln.name:  # as printed: the clerk classes it on review
                out.append({"code": "", "cls": "", "amount": str(ln.amount), "name": ln.name})
                continue
            else:
                raise ServiceError(
                    "unclassified_line", f"line {i}: give a catalogue code or a class"
                )
            line = {"code": ln.code or "", "cls": cls.value, "amount": str(ln.amount)}
            out.append({**line, "name": ln.name} if ln.name else line)
        return out

    def _prepare(self, uow: UnitOfWork, row: Any) -> Prepared:
        reg = uow.registry
        record = reg.person(row.person_id)
        assert record is not None
        day: date = row.encounter_date
        enrolment = reg.enrolment(record.id, day.year)
        if enrolment is None or not enrolment.covers(day):
            raise ServiceError("not_enrolled", f"{record.id} is not enrolled on {day.isoformat()}")
        person = insured_person(
            record,
            enrolment,
            reg.approvals(record.id),
            reg.filings(record.id),
            reg.categories(record.id),
        )
        lines, rows = self._lines(uow, row, record, person)
        referral = any(r.covers(row.hospital_region, day) for r in reg.referrals(record.id))
        encounter = Encounter(
            id=f"claim-{row.id}",
            date=day,
            kind=Kind(row.kind),
            hospital=Hospital(
                row.hospital_id or f"claim-{row.id}",
                row.hospital_level,
                row.hospital_designated,
                row.hospital_region,
                row.hospital_pilot,
                row.hospital_type or "general",
                row.hospital_province or "same",
            ),
            lines=tuple(lines),
            diagnosis=row.diagnosis,
            disease=row.disease,
            referral=referral,
            prescription=row.prescription,
            cause=row.cause or "ordinary",
            delivery=row.delivery,
            referred_from=origin_stay_key(uow, row.referred_from),
        )
        policy = self.policies(record.region)
        return Prepared(person, encounter, None, policy, tuple(rows), origin=row.referred_from)

    def _lines(
        self, uow: UnitOfWork, row: Any, record: Any, person: Person
    ) -> tuple[list[Line], list[dict[str, Any]]]:
        """A receipt line with a code is that item under its entry on the day, 1 × its
        amount (its cap, ratio and restriction apply); one with a class is that class."""
        stored = json.loads(row.lines)
        visit = Visit(
            row.encounter_date,
            Kind(row.kind),
            row.hospital_level,
            record.birth_date,
            record.sex,
            person.scheme.value,
            person.approvals,
        )
        coded = [ln for ln in stored if ln["code"]]
        billed = [Billed(ln["code"], Decimal(1), Decimal(ln["amount"])) for ln in coded]
        items, item_rows = resolve(uow, record.region, row.hospital_id, visit, billed)
        by_code = iter(zip(items, item_rows, strict=True))
        lines: list[Line] = []
        rows: list[dict[str, Any]] = []
        for i, ln in enumerate(stored, start=1):
            if ln["code"]:
                line, line_row = next(by_code)
            else:
                amount = Decimal(ln["amount"])
                line = Line(LineClass(ln["cls"]), amount)
                line_row = {
                    "code": None,
                    "name": None,
                    "cls": ln["cls"],
                    "quantity": "1",
                    "unit_price_fen": to_fen(amount),
                    "amount_fen": to_fen(amount),
                }
            lines.append(line)
            rows.append({**line_row, "line_no": i})
        return lines, rows


def _unclassified_lines(lines: list[dict[str, Any]]) -> int:
    return sum(1 for ln in lines if not ln.get("cls"))


def _unclassified(row: Any) -> int:
    """Receipt lines of a claim that a clerk has not classed yet."""
    return _unclassified_lines(json.loads(row.lines))


def _claim_of(row: Any, lines: tuple[ClaimLine, ...]) -> Claim:
    return Claim(
        person_id=row.person_id,
        reason=ClaimReason(row.reason),
        kind=Kind(row.kind),
        date=row.encounter_date,
        hospital_name=row.hospital_name,
        hospital_level=row.hospital_level,
        hospital_region=row.hospital_region,
        hospital_designated=row.hospital_designated,
        lines=lines,
        hospital_id=row.hospital_id,
    )


def _new_claim(
    uow: UnitOfWork, person_id: str, claim: Claim, lines: list[dict[str, Any]], total: Decimal
) -> dict[str, Any]:
    """The claim's row as submitted: the hospital as the registry knows it (its facts win
    over what the claim declares), else as declared."""
    hospital = (
        claim.hospital_id,
        claim.hospital_level,
        claim.hospital_region,
        claim.hospital_designated,
    )
    if claim.hospital_id is not None:
        inst = uow.registry.institution(claim.hospital_id)
        if inst is not None:
            hospital = (inst.id, inst.level, inst.region, inst.designated)
    return {
        "person_id": person_id,
        "reason": claim.reason.value,
        "kind": claim.kind.value,
        "encounter_date": claim.date,
        "hospital_id": hospital[0],
        "hospital_name": claim.hospital_name,
        "hospital_level": hospital[1],
        "hospital_region": hospital[2],
        "hospital_designated": hospital[3],
        "hospital_pilot": claim.hospital_pilot,
        "diagnosis": claim.diagnosis,
        "disease": claim.disease,
        "prescription": claim.prescription,
        "lines": json.dumps(lines),
        "receipts": json.dumps(list(claim.receipts)),
        "total_fen": to_fen(total),
        "status": "submitted",
        "submitted_at": now(),
    }


def _facts(uow: UnitOfWork, policies: PolicySource, region: str, claim: Claim) -> dict[str, Any]:
    """The claim's columns of issue 14's facts (None: the default), checked: the registry's
    type and province class for a registered institution, else as declared."""
    details = claim.details
    details.check(claim.kind)
    origin = claim_origin(
        uow,
        claim.person_id,
        (claim.kind, claim.date),
        details.referred_from,
        claim.referred_from_claim,
    )
    kind, province = claim.hospital_type, claim.hospital_province
    inst = None if claim.hospital_id is None else uow.registry.institution(claim.hospital_id)
    if inst is not None:
        kind, province = inst.type, province_class(policies, policies(region), inst)
    if kind not in TYPES or province not in PROVINCE_CLASSES:
        raise ServiceError(
            "invalid_field",
            f"hospital_type {kind!r} / hospital_province {province!r}: "
            f"one of {', '.join(TYPES)} / one of {', '.join(PROVINCE_CLASSES)}",
            field="hospital_type",
        )
    return {
        "hospital_type": None if kind == "general" else kind,
        "hospital_province": None if province == "same" else province,
        "cause": None if details.cause == "ordinary" else details.cause,
        "delivery": details.delivery,
        "referred_from": origin,
    }


def _refuse_duplicate(uow: UnitOfWork, person_id: str, claim: Claim, total_fen: int) -> None:
    same = " ".join(claim.hospital_name.split()).casefold()
    for other in uow.member.claims_of([person_id]):
        if (
            other.status != "rejected"
            and other.encounter_date == claim.date
            and other.total_fen == total_fen
            and " ".join(other.hospital_name.split()).casefold() == same
        ):
            raise ConflictError(
                "duplicate_claim",
                f"claim {other.id} has the same day, hospital and total",
                claim_id=int(other.id),
                field="confirm_duplicate",
            )


def claim_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "person_id": row.person_id,
        "reason": row.reason,
        "kind": row.kind,
        "date": row.encounter_date.isoformat(),
        "hospital": {
            "id": row.hospital_id,
            "name": row.hospital_name,
            "level": row.hospital_level,
            "region": row.hospital_region,
            "designated": row.hospital_designated,
            "type": row.hospital_type or "general",
            "province": row.hospital_province or "same",
        },
        "diagnosis": row.diagnosis,
        "cause": row.cause or "ordinary",
        "delivery": row.delivery,
        "referred_from": row.referred_from,
        "lines": json.loads(row.lines),
        "receipts": json.loads(row.receipts),
        "total": fmt(from_fen(row.total_fen)),
        "status": row.status,
        "settlement_id": row.settlement_id,
        "reviewer": row.reviewer,
        "rejection_reason": row.rejection_reason,
        "unclassified": _unclassified(row),
        "reviewed_at": None if row.reviewed_at is None else row.reviewed_at.isoformat(),
        "paid_at": None if row.paid_at is None else row.paid_at.isoformat(),
    }
