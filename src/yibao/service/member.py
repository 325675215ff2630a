"""The member app's use cases ("smart medical insurance"): real-name sign-up, coverage
with the insurance voucher, reimbursements, estimates, online services.

The electronic insurance voucher is signed and read in vouchers.py; a claim's receipt
files are checked in receipts.py.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import segno

from yibao.domain.access import MEMBERS, Principal, Role
from yibao.domain.conditions import Facts
from yibao.domain.ids import ResidentIdError, parse_resident_id
from yibao.domain.model import Kind, category_on
from yibao.domain.money import ZERO, fmt, from_fen
from yibao.domain.parameters import PolicyGapError, RegionPolicy
from yibao.domain.registry import Enrolment, PersonRecord
from yibao.service.access import (
    account_view,
    check_password,
    hash_password,
    require,
    visible_person,
)
from yibao.service.cards import card_view, in_order
from yibao.service.certificates_common import filing_view
from yibao.service.claims import Claim, ClaimLine, ClaimReason, ClaimsService, claim_view
from yibao.service.encounter_details import EncounterDetails
from yibao.service.enrolment import enrolment_view, person_view
from yibao.service.errors import ConflictError, ServiceError
from yibao.service.estimate import Ask, estimate
from yibao.service.family_links import FamilyLinks
from yibao.service.lookup import Lookup
from yibao.service.notices import Notices
from yibao.service.ports import CHINA, Clock, PolicySource, UnitOfWork, UowFactory
from yibao.service.ports.guards import Guards
from yibao.service.premiums_view import premium_status
from yibao.service.queries import Queries
from yibao.service.receipts import MAX_RECEIPTS, receipt_kind
from yibao.service.sms import LogSms, SmsSender, code_matches, current_window, masked, one_time_code
from yibao.service.throttle import SignInThrottle
from yibao.service.vouchers import VOUCHER_SECONDS, read_voucher, sign_voucher

ADULT_AGE = 18
PHONE = re.compile(r"^1\d{10}$")

# --- sign-up ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SignUp:
    name: str
    id_number: str
    birth_date: date
    phone: str
    password: str


def check_sign_up(new: SignUp) -> str:
    """The form's own checks, each naming its field; the normalised ID number."""
    if not new.name.strip() or len(new.name.strip()) > 100:
        raise ServiceError("missing_field", "name: 1 to 100 characters", field="name")
    try:
        number = parse_resident_id(new.id_number)
    except ResidentIdError as exc:
        raise ServiceError("invalid_id_number", str(exc), field="id_number") from None
    if number.birth_date != new.birth_date:
        raise ServiceError(
            "birth_date_mismatch", "the birth date is not the one in the number", field="birth_date"
        )
    if not PHONE.match(new.phone):
        raise ServiceError("invalid_phone", "phone: 11 digits starting with 1", field="phone")
    check_password(new.password)
    return number.number


def _adult_cutoff(today: date) -> date:
    """Persons born after this day are under 18 today."""
    try:
        return today.replace(year=today.year - ADULT_AGE)
    except ValueError:  # 29 February
        return today.replace(year=today.year - ADULT_AGE, day=28)


# --- receipts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimForm:
    """A manual reimbursement as a member fills it in."""

    person_id: str
    reason: str
    kind: Kind
    day: date
    hospital_name: str
    hospital_level: int
    hospital_region: str
    hospital_designated: bool
    lines: tuple[tuple[str, Decimal], ...]  # each receipt line as printed: text, amount
    confirm_duplicate: bool = False  # sent again knowingly, like an earlier claim
    referred_from: int | None = None  # the settlement of the stay it was referred from


class MemberService:
    def __init__(
        self,
        uow: UowFactory,
        policies: PolicySource,
        clock: Clock,
        secret: bytes,
        upload_dir: Path,
        sms: SmsSender | None = None,
        guards: Guards | None = None,
    ) -> None:
        self.uow = uow
        self.policies = policies
        self.clock = clock
        self.secret = secret
        self.upload_dir = upload_dir
        self.sms = sms or LogSms()  # the development gateway unless one is given
        self.code_throttle = SignInThrottle(store=guards)  # shared by a server's workers
        self.lookup = Lookup(uow, clock)  # institutions and the catalogue
        self.notices = Notices(uow)  # decisions about the family's records
        self.links = FamilyLinks(uow, clock)  # a spouse or parent, with their consent

    # --- real-name sign-up and guardians ------------------------------------------------

    def sign_up(self, new: SignUp) -> dict[str, Any]:
        """An account tied to the registered person whose name, ID number and birth date
        match: the account's name is the ID number. The answer never says which of the
        three differs. A guardian (children linked, or under-18 persons registered with
        the same phone) gets the guardian role."""
        number = check_sign_up(new)
        mismatch = ServiceError(
            "real_name_mismatch",
            "the name, ID number and birth date do not match an insured person's record",
        )
        with self.uow() as uow:
            person = uow.registry.person_by_id_number(number)
            if (
                person is None
                or person.name != new.name.strip()
                or person.birth_date != new.birth_date
            ):
                raise mismatch
            if uow.accounts.get(number) is not None or any(
                Role(row.role) in MEMBERS for row in uow.accounts.of_person(person.id)
            ):
                raise ConflictError("account_exists", "this person has an account: sign in")
            minors = uow.member.minors_with_phone(new.phone, _adult_cutoff(self.clock()))
            children = uow.registry.children_of(person.id)
            role = Role.GUARDIAN if children or set(minors) - {person.id} else Role.INSURED
            uow.accounts.add(
                {
                    "id": number,
                    "role": role.value,
                    "name": person.name,
                    "person_id": person.id,
                    "phone": new.phone,
                    "password_hash": hash_password(new.password),
                }
            )
            view = account_view(uow.accounts.get(number))
            me = Principal(account=number, role=role, person_id=person.id)
            uow.audit.record(me, "account.sign_up", "account", number, None, view)
            uow.commit()
        return view

    def linkable_children(self, who: Principal) -> dict[str, Any]:
        """How many under-18 persons are registered with the account's phone and not yet
        linked, and the phone (masked): nothing of the children before the proof."""
        require(who, Role.INSURED, Role.GUARDIAN)
        with self.uow() as uow:
            found = self._linkable(uow, who)
            row = uow.accounts.get(who.account)
        return {"count": len(found), "phone": masked(row.phone) if row and row.phone else None}

    def send_guardian_code(self, who: Principal) -> dict[str, Any]:
        """Send a one-time code to the phone on file (the phone the children were
        registered with): typing it back proves the member holds that phone."""
        require(who, Role.INSURED, Role.GUARDIAN)
        with self.uow() as uow:
            found = self._linkable(uow, who)
            row = uow.accounts.get(who.account)
            if not found or row is None or not row.phone:
                raise ServiceError(
                    "nothing_to_link", "no child is registered with this account's phone"
                )
            uow.audit.record(who, "guardian.code_sent", "account", who.account, None, None)
            uow.commit()
        code = one_time_code(self.secret, "guardian", who.account, row.phone, current_window())
        self.sms.send(
            row.phone, f"【医保】验证码 {code}，用于关联您的子女，20分钟内有效，请勿告诉他人。"
        )
        return {"phone": masked(row.phone)}

    def _check_guardian_code(self, who: Principal, code: str) -> None:
        """The code checked, and a wrong one counted, outside any unit of work: the count
        is a transaction of its own (adapters/db/guards_repo.py), which on SQLite waits
        for the write lock a unit of work holds from its start."""
        wait = self.code_throttle.wait(who.account, "guardian-code")
        if wait > 0:
            raise ServiceError(
                "code_delayed",
                f"too many wrong codes: try again in {wait} seconds",
                status=429,
                retry_after=wait,
            )
        with self.uow() as uow:
            row = uow.accounts.get(who.account)
        phone = row.phone if row is not None and row.phone else ""
        if not phone or not code_matches(self.secret, "guardian", who.account, phone, code):
            self.code_throttle.failed(who.account, "guardian-code")
            raise ServiceError(
                "invalid_code", "code: the code is wrong or has expired", field="code"
            )
        self.code_throttle.succeeded(who.account, "guardian-code")

    def _linkable(self, uow: UnitOfWork, who: Principal) -> list[PersonRecord]:
        row = uow.accounts.get(who.account)
        if row is None or not row.phone or who.person_id is None:
            return []
        linked = set(uow.registry.children_of(who.person_id))
        ids = uow.member.minors_with_phone(row.phone, _adult_cutoff(self.clock()))
        persons = [uow.registry.person(i) for i in ids if i not in linked and i != who.person_id]
        return [p for p in persons if p is not None]

    def link_children(self, who: Principal, code: str) -> list[dict[str, Any]]:
        """Link the children registered with the account's phone, given the one-time code
        sent to that phone (send_guardian_code); the account becomes a guardian's.
        Returns the children linked now. (The agency links a guardian on its own
        confirmation: enrolment of a household, `yibao enrol-household --guardian`.)"""
        require(who, Role.INSURED, Role.GUARDIAN)
        assert who.person_id is not None
        self._check_guardian_code(who, code)  # before the unit of work: see there
        with self.uow() as uow:
            found = self._linkable(uow, who)
            for child in found:
                uow.registry.add_guardian(child.id, who.person_id)
                uow.audit.record(
                    who,
                    "guardian.link",
                    "person",
                    child.id,
                    None,
                    {"guardian": who.person_id, "channel": "online, SMS code"},
                )
            if found and who.role is Role.INSURED:
                uow.accounts.update(who.account, role=Role.GUARDIAN.value)
                uow.audit.record(
                    who,
                    "account.role",
                    "account",
                    who.account,
                    {"role": who.role.value},
                    {"role": Role.GUARDIAN.value},
                )
            uow.commit()
        return [person_view(p) for p in found]

    # --- coverage and the voucher -----------------------------------------------------

    def family(self, who: Principal) -> list[dict[str, Any]]:
        """The member and the children they are guardian of: id and name."""
        require(who, Role.INSURED, Role.GUARDIAN)
        year = self.clock().year
        with self.uow() as uow:
            return [
                {
                    "id": p.id,
                    "name": p.name,
                    "region": p.region,
                    "birth_date": p.birth_date.isoformat(),
                    "id_number": p.id_number,
                    "school": _school_of(uow, p.id, year),
                }
                for p in self._family(uow, who)
            ]

    def _family(self, uow: UnitOfWork, who: Principal) -> list[PersonRecord]:
        if who.person_id is None:
            return []
        ids = [who.person_id, *sorted(uow.registry.children_of(who.person_id))]
        ids += sorted(uow.member.bound_to(who.person_id) - set(ids))
        return [visible_person(uow, who, i) for i in ids]

    def coverage(self, who: Principal, now: float | None = None) -> dict[str, Any]:
        """For the member and each child: the enrolments of this year and later (scheme,
        status, premium), cards, remote-treatment filings and a fresh voucher."""
        require(who, Role.INSURED, Role.GUARDIAN)
        year = self.clock().year
        with self.uow() as uow:

            def current(p: PersonRecord) -> list[Enrolment]:
                return [e for e in uow.registry.enrolments_of(p.id) if e.year >= year]

            persons = []
            for p in self._family(uow, who):
                persons.append(
                    {
                        **person_view(p),
                        "is_me": p.id == who.person_id,
                        "school": _school_of(uow, p.id, year),
                        "enrolments": [enrolment_view(e) for e in current(p)],
                        "premiums": premium_status(
                            uow, self._policy_or_none(p.region), p, current(p), self.clock()
                        ),
                        "cards": [card_view(c) for c in in_order(uow.collection.cards_of(p.id))],
                        "filings": [filing_view(r) for r in uow.certificates.filings_of(p.id)],
                        "voucher": self._voucher(p.id, now),
                    }
                )
            linkable = len(self._linkable(uow, who))
        return {"year": year, "persons": persons, "linkable": linkable}

    def _policy_or_none(self, region: str) -> RegionPolicy | None:
        try:
            return self.policies(region)
        except ValueError:
            return None

    def voucher(self, who: Principal, person_id: str, now: float | None = None) -> dict[str, Any]:
        require(who, Role.INSURED, Role.GUARDIAN)
        with self.uow() as uow:
            visible_person(uow, who, person_id)
        return self._voucher(person_id, now)

    def _voucher(self, person_id: str, now: float | None) -> dict[str, Any]:
        moment = time.time() if now is None else now
        expires = int(moment) + VOUCHER_SECONDS
        token = sign_voucher(self.secret, person_id, expires)
        qr = segno.make(token, error="m")
        return {
            "token": token,
            "expires_at": datetime.fromtimestamp(expires, UTC).astimezone(CHINA).isoformat(),
            "expires_hm": datetime.fromtimestamp(expires, UTC).astimezone(CHINA).strftime("%H:%M"),
            "svg": qr.svg_inline(scale=4, title=None),
        }

    def voucher_person(self, token: str, now: float | None = None) -> str:
        """The person a voucher presented at an institution names (the settlement API)."""
        return read_voucher(self.secret, token, time.time() if now is None else now)

    # --- reimbursements -----------------------------------------------------------------

    def year(self, who: Principal, person_id: str, year: int) -> dict[str, Any]:
        """The person's year (Queries.person_year) with institution names and the bars
        toward each limit: outpatient fund limit and threshold, the inpatient segments, the
        top line, and the serious-illness deductible."""
        found = Queries(self.uow, self.policies).person_year(who, person_id, year)
        with self.uow() as uow:
            person = visible_person(uow, who, person_id)
            names = uow.member.institution_names(
                [s["institution_id"] for s in found["settlements"] if s["institution_id"]]
            )
            stored = uow.history.lines([int(s["id"]) for s in found["settlements"]])
            categories = uow.registry.categories(person.id)
        lines = {sid: [line_view(ln) for ln in rows] for sid, rows in stored.items()}
        bars = [
            _bar(x["name"], Decimal(x["used"]), Decimal(x["limit"]), {}) for x in found["limits"]
        ]
        policy = self.policies(person.region)
        day = date(year, 12, 31)
        acc = found["accumulators"]
        pooled = Decimal(acc["pooled_cost"])
        rules = policy.schemes.get(found["scheme"])
        facts = Facts(scheme=found["scheme"], category=category_on(categories, day))
        if rules is not None:
            try:
                scale = rules.inpatient.rate.at(day, facts).value.scale
            except PolicyGapError:  # a rate by the bill (a decision table): no yearly bars
                scale = None
            brackets = scale.brackets if scale is not None else ()
            for i, b in enumerate(brackets[:-1]):
                upper = brackets[i + 1].lower
                used = min(max(pooled - b.lower, ZERO), upper - b.lower)
                bars.append(
                    _bar(
                        "segment",
                        used,
                        upper - b.lower,
                        {"lower": fmt(b.lower), "upper": fmt(upper)},
                    )
                )
        si = policy.serious_illness
        if si is not None and found["scheme"] in si.schemes.at(day, facts).value:
            paying = [b.lower for b in si.scale.at(day, facts).value.brackets if b.rate > ZERO]
            if paying and paying[0] > ZERO:
                base = Decimal(acc["personal_on_eligible"])
                bars.append(_bar("serious_illness_deductible", base, paying[0], {}))
        return {
            **found,
            "name": person.name,
            "institutions": names,
            "bars": bars,
            "lines": lines,  # settlement id -> its itemised lines
        }

    # --- estimate -----------------------------------------------------------------------

    def estimate(
        self,
        who: Principal,
        person_id: str,
        kind: Kind,
        level: int,
        amount: Decimal,
        day: date,
        cause: str = "ordinary",
        delivery: str | None = None,
    ) -> dict[str, Any]:
        """service/estimate.py: what a stay or visit would cost the person."""
        ask = Ask(kind, level, amount, day, cause, delivery)
        return estimate(self.uow, self.policies, who, person_id, ask)

    # --- online services ----------------------------------------------------------------

    def filing_regions(self, who: Principal, person_id: str) -> list[dict[str, str]]:
        """Regions a filing may name for the person: every known region but their own."""
        require(who, Role.INSURED, Role.GUARDIAN)
        with self.uow() as uow:
            person = visible_person(uow, who, person_id)
            rows = uow.member.regions()
        return [
            {"code": r.code, "zh": r.name_zh, "en": r.name_en}
            for r in rows
            if r.code != person.region
        ]

    def regions(self) -> list[dict[str, str]]:
        with self.uow() as uow:
            rows = uow.member.regions()
        return [{"code": r.code, "zh": r.name_zh, "en": r.name_en} for r in rows]

    def submit_claim(
        self, who: Principal, form: ClaimForm, receipts: list[bytes]
    ) -> dict[str, Any]:
        """A manual reimbursement with its receipts: the files are checked (count, size,
        kind by their first bytes), stored as upload_dir/<person>/<sha256>.<ext>, and the
        claim references them. A refused claim leaves no new file behind."""
        require(who, Role.INSURED, Role.GUARDIAN)
        if not receipts:
            raise ServiceError(
                "missing_receipts", "attach a photo of each receipt", field="receipts"
            )
        if len(receipts) > MAX_RECEIPTS:
            raise ServiceError(
                "too_many_receipts", "at most 5 receipt files", field="receipts", limit=MAX_RECEIPTS
            )
        kinds = [receipt_kind(data) for data in receipts]
        with self.uow() as uow:  # before writing anything: is the person the caller's?
            visible_person(uow, who, form.person_id)
        folder = self.upload_dir / form.person_id
        refs: list[str] = []
        written: list[Path] = []
        folder.mkdir(parents=True, exist_ok=True)
        for data, ext in zip(receipts, kinds, strict=True):
            name = f"{hashlib.sha256(data).hexdigest()}.{ext}"
            path = folder / name
            if not path.exists():
                tmp = path.with_suffix(path.suffix + ".part")
                tmp.write_bytes(data)
                tmp.replace(path)
                written.append(path)
            refs.append(f"{form.person_id}/{name}")
        claim = Claim(
            person_id=form.person_id,
            reason=ClaimReason(form.reason),
            kind=form.kind,
            date=form.day,
            hospital_name=form.hospital_name,
            hospital_level=form.hospital_level,
            hospital_region=form.hospital_region,
            hospital_designated=form.hospital_designated,
            lines=tuple(ClaimLine(amount, name=text) for text, amount in form.lines),
            receipts=tuple(dict.fromkeys(refs)),
            details=EncounterDetails(referred_from=form.referred_from),
        )
        try:
            return ClaimsService(self.uow, self.policies).submit(
                who, claim, duplicate_ok=form.confirm_duplicate
            )
        except Exception:
            for path in written:
                path.unlink(missing_ok=True)
            raise

    def claims(self, who: Principal) -> list[dict[str, Any]]:
        """The claims of the member and their children, newest first."""
        require(who, Role.INSURED, Role.GUARDIAN)
        with self.uow() as uow:
            family = {p.id: p.name for p in self._family(uow, who)}
            rows = uow.member.claims_of(list(family))
            refunds = {}
            for r in rows:
                booked = uow.ledger.settlement(r.settlement_id) if r.settlement_id else None
                if booked is not None:  # what the fund and assistance pay back
                    refunds[r.id] = fmt(from_fen(booked.basic_fen + booked.assistance_fen))
        return [
            {**claim_view(r), "name": family[r.person_id], "refund": refunds.get(r.id)}
            for r in rows
        ]

    def claim_receipt(self, who: Principal, claim_id: int, n: int) -> tuple[Path, str]:
        """The n-th receipt (from 1) of a claim, and its media type: for a clerk reviewing
        it, and for the claimant's family; anyone else gets the claim's 404."""
        claim = ClaimsService(self.uow, self.policies).get(who, claim_id)
        refs = claim["receipts"]
        if not 1 <= n <= len(refs):
            raise ServiceError(
                "unknown_receipt", f"claim {claim_id} has no receipt {n}", status=404
            )
        person_id, _, name = str(refs[n - 1]).partition("/")
        if "/" in name or not re.fullmatch(r"[0-9a-f]{64}\.(jpg|png|pdf)", name):
            raise ServiceError(
                "unknown_receipt", f"claim {claim_id} has no receipt {n}", status=404
            )
        path = self.upload_dir / person_id / name
        if not path.is_file():
            raise ServiceError(
                "unknown_receipt", f"receipt {n} of claim {claim_id} is missing", status=404
            )
        kind = {"jpg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}[
            name.rsplit(".", 1)[1]
        ]
        return path, kind


def line_view(ln: Any) -> dict[str, Any]:
    """A stored bill line as the family reads it: the item, quantity and price, amount,
    and the parts the family paid whole (over the price cap, outside the catalogue)."""
    return {
        "no": int(ln.line_no),
        "code": ln.national_code or ln.code,
        "name": ln.name,
        "cls": ln.cls,
        "quantity": ln.quantity,
        "unit_price": ln.unit_price or fmt(from_fen(ln.unit_price_fen)),
        "amount": fmt(from_fen(ln.amount_fen)),
        "cap": ln.cap,
        "over_limit": fmt(from_fen(ln.over_limit_fen or 0)),
        "self_pay": fmt(from_fen(ln.full_self_pay_fen or 0)),
        "restricted": bool(ln.restricted),
    }


def _school_of(uow: UnitOfWork, person_id: str, year: int) -> str | None:
    """The name of the school a pupil is enrolled through in the year (telling two
    children of the same name apart)."""
    enrolment = uow.registry.enrolment(person_id, year)
    if enrolment is None or enrolment.school_id is None:
        return None
    school = uow.schools.school(enrolment.school_id)
    return None if school is None else str(school.name)


def _bar(name: str, used: Decimal, limit: Decimal, args: dict[str, str]) -> dict[str, Any]:
    share = ZERO if limit <= ZERO else min(used / limit * 100, Decimal(100))
    return {
        "name": name,
        "used": fmt(used),
        "limit": fmt(limit),
        "share": f"{share:.0f}",
        "args": args,
    }
