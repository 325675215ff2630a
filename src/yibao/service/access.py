"""Accounts, sign-in and the checks every use case makes of its caller.

API callers send `Authorization: Bearer <token>`; a token is shown once when made and
only its SHA-256 is stored. People with passwords (members, school staff) exchange
them for a token; repeated failures slow down the source that makes them
(service/throttle.py). Every token expires.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from yibao.domain.access import STAFF, SUBJECT_OF, Principal, Role, principal_of
from yibao.domain.registry import PersonRecord
from yibao.service.errors import ConflictError, NotFoundError, ServiceError
from yibao.service.guards import Epoch, LocalEpoch, MemoryGuards
from yibao.service.ports import UnitOfWork, UowFactory, now
from yibao.service.ports.guards import Guards
from yibao.service.ports.records import DuplicateError
from yibao.service.throttle import SignInThrottle

# Tokens made for an account (its first, and those issued later) last this long; a
# sign-in's token lasts its hours.
API_TOKEN_DAYS = 366
# A token found valid is not read again for this long (the price of not asking the
# database on every settlement); a revocation empties every worker's cache at once (the
# shared revocation epoch, share_epoch).
TOKEN_CACHE_SECONDS = 30.0

# The operator at the machine: CLI commands run without --as act as this staff member.
OPERATOR = Principal(account="operator", role=Role.CLERK)

_hasher = PasswordHasher()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "yb_" + secrets.token_urlsafe(32)


class Forbidden(ServiceError):  # noqa: N818  (named for the HTTP answer it is)
    status = 403


def require(who: Principal, *roles: Role) -> None:
    """Refuse a caller whose role may not do this at all."""
    if who.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise Forbidden(
            "forbidden", f"a {who.role.value} account may not do this (allowed: {allowed})"
        )


def require_region(who: Principal, region: str | None) -> None:
    """Staff work for one region's agency; an operator without a region works for all.
    A regional account may never act on something of no region (that is every region's)."""
    if who.region is not None and who.region != region:
        where = region if region is not None else "every region"
        raise Forbidden("forbidden", f"account {who.account} works for {who.region}, not {where}")


def subject_region(
    uow: UnitOfWork,
    role: Role,
    region: str | None,
    *,
    person_id: str | None = None,
    school_id: str | None = None,
    institution_id: str | None = None,
) -> str | None:
    """The region an account belongs to: a staff account's own, otherwise its subject's
    (the institution's, the school's, the person's). None: every region (or unknown)."""
    if role in STAFF:
        return region
    if role is Role.INSTITUTION and institution_id is not None:
        found = uow.registry.institution(institution_id)
        return None if found is None else found.region
    if role is Role.SCHOOL and school_id is not None:
        school = uow.schools.school(school_id)
        return None if school is None else str(school.region)
    if person_id is not None:
        person = uow.registry.person(person_id)
        return None if person is None else person.region
    return None


def account_region(uow: UnitOfWork, row: Any) -> str | None:
    return subject_region(
        uow,
        Role(row.role),
        row.region,
        person_id=row.person_id,
        school_id=row.school_id,
        institution_id=row.institution_id,
    )


def _check_subject(
    uow: UnitOfWork, who: Principal, role: Role, subjects: dict[str, str | None]
) -> None:
    """The new account's subject exists, and is of the clerk's region (a school not yet
    registered is of no region: only a clerk of every region may make its account)."""
    institution_id, person_id = subjects["institution_id"], subjects["person_id"]
    if institution_id is not None and uow.registry.institution(institution_id) is None:
        raise NotFoundError(
            "unknown_institution", f"institution {institution_id!r} is not registered"
        )
    if person_id is not None and uow.registry.person(person_id) is None:
        raise NotFoundError("unknown_person", f"person {person_id!r} is not known")
    others = {k: v for k, v in subjects.items() if k != "region"}
    require_region(who, subject_region(uow, role, subjects["region"], **others))


def _managed_account(uow: UnitOfWork, who: Principal, account_id: str) -> Any:
    """The account a clerk manages (tokens, password), refused unless of the clerk's region."""
    row = uow.accounts.get(account_id)
    if row is None:
        raise NotFoundError("unknown_account", f"account {account_id!r} is not known")
    require_region(who, account_region(uow, row))
    return row


def person_visible(uow: UnitOfWork, who: Principal, person: PersonRecord) -> bool:
    """Whether the caller may read this person's records: staff of the person's region, the
    person themself, a guardian of theirs, or the school they are enrolled through."""
    if who.is_staff:
        return who.region is None or who.region == person.region
    if who.is_member:
        return person.id == who.person_id or (
            who.person_id is not None
            and (
                person.id in uow.registry.children_of(who.person_id)
                or person.id in uow.member.bound_to(who.person_id)  # a spouse, parent: consented
            )
        )
    if who.role is Role.SCHOOL and who.school_id is not None:
        return any(e.school_id == who.school_id for e in uow.registry.enrolments_of(person.id))
    return False


def visible_person(uow: UnitOfWork, who: Principal, person_id: str) -> PersonRecord:
    """The person, if the caller may see them; otherwise not found (never a hint that the
    person exists)."""
    person = uow.registry.person(person_id)
    if person is None or not person_visible(uow, who, person):
        raise NotFoundError("unknown_person", f"person {person_id!r} is not known")
    return person


def account_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "role": row.role,
        "name": row.name,
        "region": row.region,
        "person_id": row.person_id,
        "school_id": row.school_id,
        "institution_id": row.institution_id,
        "phone": row.phone,
        "active": bool(row.active),
        "has_password": row.password_hash is not None,
    }


class AccessService:
    def __init__(self, uow: UowFactory, guards: Guards | None = None) -> None:
        self.uow = uow
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()
        # Failures counted in the database when given one (shared by a server's workers).
        self.guards: Guards = guards if guards is not None else MemoryGuards()
        self.throttle = SignInThrottle(store=self.guards)
        # Moves at every revocation in any worker (share_epoch); the cache is of _filled_at.
        self._epoch: Epoch = LocalEpoch()
        self._filled_at = 0

    def share_epoch(self, epoch: Epoch) -> None:
        """The revocation epoch of every worker of the server (entrypoints/api/health.py):
        a token revoked in one is forgotten by the others at their next request."""
        with self._lock:
            self._epoch = epoch
            self._filled_at = epoch.current()
            self._cache.clear()

    def epoch(self) -> int:
        """The epoch to pass to `remember`, read before the database is."""
        return self._epoch.current()

    def forget_tokens(self) -> None:
        """A revocation committed elsewhere (another process on the database,
        adapters/db/revocations.py): every worker forgets the tokens it had checked."""
        self._revoked()

    def _revoked(self) -> None:
        """After a revocation's commit: every worker's cache is forgotten (this one's now)."""
        with self._lock:
            self._epoch.bump()
            self._filled_at = self._epoch.current()
            self._cache.clear()

    # --- accounts -------------------------------------------------------------------

    def create_account(
        self,
        who: Principal,
        account_id: str,
        role: Role,
        name: str,
        *,
        region: str | None = None,
        person_id: str | None = None,
        school_id: str | None = None,
        institution_id: str | None = None,
        phone: str | None = None,
        password: str | None = None,
    ) -> dict[str, Any]:
        """Staff make accounts; the answer carries a first API token, shown this once."""
        require(who, Role.CLERK)
        subjects = {
            "region": region,
            "person_id": person_id,
            "school_id": school_id,
            "institution_id": institution_id,
        }
        needed = SUBJECT_OF[role]
        if needed and needed != "region" and not subjects[needed]:
            raise ServiceError("missing_subject", f"a {role.value} account needs its {needed}")
        for key, value in subjects.items():
            if value and key not in (needed, "region"):
                raise ServiceError("invalid_subject", f"a {role.value} account has no {key}")
        if password is not None:
            check_password(password)
        # Hashing takes a tenth of a second: never inside a transaction (on SQLite it would
        # hold the write lock every settlement waits for).
        password_hash = None if password is None else _hasher.hash(password)
        with self.uow() as uow:
            _check_subject(uow, who, role, subjects)
            if uow.accounts.get(account_id) is not None:
                raise ConflictError("account_exists", f"account {account_id!r} already exists")
            values = {
                "id": account_id,
                "role": role.value,
                "name": name,
                "phone": phone,
                "password_hash": password_hash,
                **subjects,
            }
            try:
                uow.accounts.add(values)
            except DuplicateError:
                raise ConflictError(
                    "account_exists", f"account {account_id!r} already exists"
                ) from None
            token = new_token()
            uow.accounts.add_token(token_hash(token), account_id, "first token", _token_expiry())
            row = uow.accounts.get(account_id)
            view = account_view(row)
            uow.audit.record(who, "account.create", "account", account_id, None, view)
            uow.commit()
        return {**view, "token": token}

    def issue_token(self, who: Principal, account_id: str, label: str = "") -> str:
        require(who, Role.CLERK)
        with self.uow() as uow:
            _managed_account(uow, who, account_id)
            token = new_token()
            uow.accounts.add_token(token_hash(token), account_id, label, _token_expiry())
            uow.audit.record(who, "token.issue", "account", account_id, None, {"label": label})
            uow.commit()
        return token

    def revoke_tokens(self, who: Principal, account_id: str) -> int:
        require(who, Role.CLERK)
        with self.uow() as uow:
            _managed_account(uow, who, account_id)
            count = uow.accounts.revoke_tokens(account_id)
            uow.audit.record(who, "token.revoke", "account", account_id, None, {"revoked": count})
            uow.commit()
        self._revoked()
        return count

    def revoke_token(self, token: str) -> None:
        """Sign out: this one token stops working at once on every worker of this server."""
        key = token_hash(token)
        with self.uow() as uow:
            uow.accounts.revoke_token(key)
            uow.commit()
        self._revoked()

    def accounts(self, who: Principal, role: Role | None = None) -> list[dict[str, Any]]:
        require(who, Role.CLERK)
        with self.uow() as uow:
            rows = uow.accounts.list(role.value if role else None)
            if who.region is not None:
                rows = [r for r in rows if account_region(uow, r) == who.region]
        return [account_view(r) for r in rows]

    # --- signing in -----------------------------------------------------------------

    def cached(self, token: str) -> Principal | None:
        """The principal behind a token authenticated in the last TOKEN_CACHE_SECONDS, if
        any: no I/O, so an event loop may call it."""
        return self.recall(token_hash(token))

    def recall(self, key: str) -> Principal | None:
        """The principal a stored key (a token's hash; a national-interface credential's,
        fsi/auth.py) was found to be in the last TOKEN_CACHE_SECONDS, if any: no I/O but
        one read of the shared revocation epoch (a token revoked by any worker since the
        cache was filled empties it)."""
        epoch = self._epoch.current()
        with self._lock:
            if epoch != self._filled_at:
                self._cache.clear()
                self._filled_at = epoch
            cached = self._cache.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        return None

    def remember(
        self, key: str, principal: Principal, expires_at: datetime | None, epoch: int
    ) -> None:
        """Keep what a stored key was found to be for TOKEN_CACHE_SECONDS, never past the
        credential's own expiry; a revocation in any worker forgets it at once. `epoch`:
        `self.epoch()` read before the database was; if a revocation moved it since, what
        was read may be revoked already and is not kept."""
        seconds = TOKEN_CACHE_SECONDS
        if expires_at is not None:
            seconds = min(seconds, (_aware(expires_at) - now()).total_seconds())
        with self._lock:
            current = self._epoch.current()
            if epoch != current:
                return
            if current != self._filled_at or len(self._cache) > 10_000:
                self._filled_at = current
                self._cache.clear()
            self._cache[key] = (principal, time.monotonic() + seconds)

    def active_account(self, account_id: str) -> Principal | None:
        """The principal of an active account (a command's --as), or None."""
        with self.uow() as uow:
            row = uow.accounts.get(account_id)
        return None if row is None or not row.active else principal_of(row)

    def authenticate(self, token: str) -> Principal | None:
        """The principal behind a bearer token, or None for an unknown, expired or revoked one."""
        found = self.cached(token)
        if found is not None:
            return found
        key = token_hash(token)
        epoch = self.epoch()
        with self.uow() as uow:
            row = uow.accounts.by_token(key)
        if row is None or not row.active or row.revoked_at is not None:
            return None
        if row.expires_at is not None and _aware(row.expires_at) <= now():
            return None
        principal = principal_of(row)
        self.remember(key, principal, row.expires_at, epoch)
        return principal

    def sign_in(
        self, account_id: str, password: str, *, hours: int = 12, source: str = ""
    ) -> dict[str, Any]:
        """A password for a token that expires. Failures slow down further attempts from
        the same source for the same account (service/throttle.py), never the account's
        owner elsewhere. Known and unknown accounts take the same time (a password hash is
        checked either way, outside any transaction); the message never says which part
        was wrong."""
        wait = self.throttle.wait(account_id, source)
        if wait > 0:
            raise ServiceError(
                "sign_in_delayed",
                f"too many failed sign-ins from here: try again in {wait} seconds",
                status=429,
                retry_after=wait,
            )
        with self.uow() as uow:
            row = uow.accounts.get(account_id)
        stored = row.password_hash if row is not None and row.active else None
        if not _password_matches(stored, password):
            self.throttle.failed(account_id, source)
            raise ServiceError("sign_in_failed", "the account or the password is wrong", status=401)
        self.throttle.succeeded(account_id, source)
        token = new_token()
        expires = now() + timedelta(hours=hours)
        with self.uow() as uow:
            uow.accounts.add_token(token_hash(token), account_id, "sign-in", expires)
            uow.commit()
        return {"token": token, "expires_at": expires.isoformat(), "account": account_id}

    def set_password(self, who: Principal, account_id: str, password: str) -> None:
        if who.account != account_id:
            require(who, Role.CLERK)
        check_password(password)
        password_hash = _hasher.hash(password)
        with self.uow() as uow:
            if who.account == account_id:
                if uow.accounts.get(account_id) is None:
                    raise NotFoundError("unknown_account", f"account {account_id!r} is not known")
            else:
                _managed_account(uow, who, account_id)
            uow.accounts.update(account_id, password_hash=password_hash)
            uow.audit.record(who, "account.password", "account", account_id)
            uow.commit()


_DUMMY_HASH: list[str] = []


def _password_matches(stored: str | None, password: str) -> bool:
    """Whether the password is the stored hash's; with no hash (an unknown account, one
    without a password) a dummy hash is checked, so that both take the same time."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(_hasher.hash(secrets.token_urlsafe(16)))
    try:
        return bool(_hasher.verify(stored or _DUMMY_HASH[0], password)) and stored is not None
    except (VerifyMismatchError, InvalidHashError):
        return False


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password: str) -> None:
    if len(password) < 8:
        raise ServiceError("weak_password", "password: at least 8 characters", field="password")
    if len(password) > 200:
        raise ServiceError("weak_password", "password: at most 200 characters", field="password")


def _token_expiry() -> datetime:
    return now() + timedelta(days=API_TOKEN_DAYS)


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone columns; they were stored as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
