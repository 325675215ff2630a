"""Who is calling the national interface: the institution, proved by a credential.

A hospital system proves which institution it is in one of three ways, checked before
the message is read:

- `Authorization: Bearer <token>`: an API token of the institution's account (`yibao
  account token NAME`), the same tokens `/v1` takes;
- the signed headers the national platform's gateway takes (`x-tif-paasid`,
  `x-tif-timestamp` in seconds, `x-tif-nonce`, `x-tif-signature` = the SHA-256 in hex of
  timestamp + paasToken + nonce + timestamp), with a paasid and paasToken pair from
  `yibao account fsi-credential NAME`. A timestamp more than five minutes off, or a nonce
  seen before, is refused: the nonces are kept in the database (fsi_nonces), so a request
  is refused again by every worker of the server and after a restart;
- a client certificate, where a TLS proxy in front verifies it and passes its SHA-256
  fingerprint in a header (`YIBAO_FSI_CERT_HEADER`) from an address listed in
  `YIBAO_FSI_TRUSTED_PROXIES`; the header from any other address is ignored. The
  certificate is registered with `yibao account fsi-credential NAME --certificate SHA256`.

The message's `fixmedins_code` must then be the account's institution. Every sign-in
(9001) and every refusal is in the audit log (`fsi.sign_in`, `fsi.refused`).

Only hashes are stored: a token's SHA-256, a certificate fingerprint's, and for x-tif a
paasid's, its paasToken being an HMAC of the paasid under the server's secret key (so a
copy of the database alone signs no one in).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from yibao.domain.access import Principal, Role, principal_of
from yibao.service.access import (
    AccessService,
    Forbidden,
    account_region,
    require,
    require_region,
)
from yibao.service.errors import NotFoundError, ServiceError
from yibao.service.guards import CLOCK_SKEW_SECONDS
from yibao.service.ports import now

CREDENTIAL_DAYS = 366
ANONYMOUS = "(no credential)"
REPLAY = "身份认证失败：x-tif-nonce 已使用过（重放）"


class Refused(Exception):  # noqa: N818  (a refusal, answered as infcode -1)
    def __init__(self, message: str, claimed: str = ANONYMOUS) -> None:
        super().__init__(message)
        self.message = message
        self.claimed = claimed


def _key(secret: bytes, kind: str, value: str) -> str:
    """The stored key of a paasid or a certificate: keyed by the server's secret, so that
    no bearer token hashes to it (a paasid and a fingerprint are no secrets)."""
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _tif_key(secret: bytes, paasid: str) -> str:
    return _key(secret, "x-tif-paasid", paasid)


def _cert_key(secret: bytes, fingerprint: str) -> str:
    return _key(secret, "client-certificate", normalise_fingerprint(fingerprint))


def normalise_fingerprint(fingerprint: str) -> str:
    return fingerprint.replace(":", "").strip().lower()


def paas_token(secret: bytes, paasid: str) -> str:
    return hmac.new(secret, b"fsi-paas:" + paasid.encode(), hashlib.sha256).hexdigest()


def tif_signature(timestamp: str, token: str, nonce: str) -> str:
    return hashlib.sha256(f"{timestamp}{token}{nonce}{timestamp}".encode()).hexdigest()


def tif_headers(paasid: str, token: str, at: float | None = None) -> dict[str, str]:
    """The headers a hospital system sends (for his-sim and tests)."""
    timestamp = str(int(time.time() if at is None else at))
    nonce = secrets.token_hex(8)
    return {
        "x-tif-paasid": paasid,
        "x-tif-timestamp": timestamp,
        "x-tif-nonce": nonce,
        "x-tif-signature": tif_signature(timestamp, token, nonce),
    }


@dataclass(frozen=True)
class ProxySettings:
    """Where a verified client certificate's fingerprint comes from, if anywhere."""

    cert_header: str = ""
    trusted: tuple[str, ...] = ()

    def trusts(self, host: str | None) -> bool:
        if not self.cert_header or host is None:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(net, strict=False) for net in self.trusted)


@dataclass(frozen=True)
class Presented:
    """A request's credential as presented: a bearer token, or the stored key of an x-tif
    paasid or a client certificate (and who it claims to be, for the audit log)."""

    key: str
    claimed: str
    bearer: bool = False
    # x-tif: the paasid and nonce, still to be recorded as seen (principal, in a thread)
    nonce: tuple[str, str] | None = None


@dataclass
class Nonce:
    """An x-tif nonce still to be recorded as seen. The message's own transaction records
    it (gateway.py; `kept` once that committed); where the message had none, or it
    rolled back, `FsiAuth.spend` records it apart once the answer is known. Found seen
    before, by either (`replayed`), the answer is the replay's refusal instead."""

    paasid: str
    nonce: str
    at: float  # seconds since the epoch
    kept: bool = False
    replayed: bool = False

    def values(self) -> tuple[str, str, datetime]:
        return self.paasid, self.nonce, datetime.fromtimestamp(self.at, UTC)


class FsiAuth:
    def __init__(
        self, access: AccessService, secret: bytes, proxy: ProxySettings | None = None
    ) -> None:
        self.access = access
        self.secret = secret
        self.proxy = proxy or ProxySettings()
        self.guards = access.guards  # the nonces seen: the database's on a server

    def authenticate(self, headers: Mapping[str, str], host: str | None) -> Principal:
        """The institution's account behind the request's credential, or Refused."""
        presented = self.presented(headers, host)
        found = self.cached(presented)
        return self.principal(presented) if found is None else found

    def presented(self, headers: Mapping[str, str], host: str | None) -> Presented:
        """The request's credential, checked as far as it can be without the database (the
        x-tif signature and its clock), or Refused: no I/O, so an event loop may call it
        (the route does, then `cached`, for x-tif `deferred`, and `principal` in a thread
        when the credential was not seen in the last TOKEN_CACHE_SECONDS: an x-tif nonce is
        checked in the database every time, by the message's transaction or apart)."""
        if self.proxy.trusts(host) and headers.get(self.proxy.cert_header):
            fingerprint = headers[self.proxy.cert_header]
            return Presented(_cert_key(self.secret, fingerprint), f"certificate {fingerprint[:80]}")
        authorization = headers.get("authorization")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Refused("身份认证失败：Authorization 应为 Bearer <token>")
            return Presented(token.strip(), ANONYMOUS, bearer=True)
        if headers.get("x-tif-paasid"):
            return self._tif(headers)
        raise Refused("身份认证失败：缺少机构凭证（Authorization: Bearer 或 x-tif-* 签名）")

    def cached(self, presented: Presented) -> Principal | None:
        """The institution behind a credential found in the last TOKEN_CACHE_SECONDS (a
        revoked one is forgotten at once by every worker, as bearer tokens are): no I/O.
        None for x-tif, whose nonce must be recorded too (`deferred`, `principal`)."""
        if presented.nonce is not None:
            return None
        access = self.access
        key = presented.key
        found = access.cached(key) if presented.bearer else access.recall(key)
        return None if found is None else self._institution(found)

    def deferred(self, presented: Presented) -> tuple[Principal, Nonce] | None:
        """An x-tif credential found in the last TOKEN_CACHE_SECONDS, and its nonce for the
        message's own transaction to record (one statement less on a connection of its
        own): no I/O. None where `principal` must record it first: the guards are not the
        database's (a process of its own), the credential is to be read, or the old nonces
        are due to be deleted (guards_repo.py: once a minute)."""
        guards: Any = self.guards
        if presented.nonce is None or not getattr(guards, "nonces_in_transaction", False):
            return None
        if guards.purge_due():
            return None
        found = self.access.recall(presented.key)
        if found is None:
            return None
        try:
            who = self._institution(found)
        except Refused:  # refused by `principal`, after its nonce, as before
            return None
        paasid, nonce = presented.nonce
        return who, Nonce(paasid, nonce, time.time())

    def spend(self, nonce: Nonce) -> None:
        """Record apart a nonce its message's transaction did not (`replayed` if it was
        seen before)."""
        if nonce.kept or nonce.replayed:
            return
        if self.guards.fresh_nonce(nonce.paasid, nonce.nonce, nonce.at):
            nonce.kept = True
        else:
            nonce.replayed = True

    def principal(self, presented: Presented) -> Principal:
        """The institution behind a credential, read from the database (and remembered);
        an x-tif nonce is recorded as seen first, Refused if it was (a replay, on any
        worker of the server)."""
        if presented.nonce is not None:
            paasid, nonce = presented.nonce
            if not self.guards.fresh_nonce(paasid, nonce, time.time()):
                raise Refused(REPLAY, paasid)
            found = self.access.recall(presented.key)
            if found is not None:
                return self._institution(found)
        if not presented.bearer:
            return self._stored(presented.key, presented.claimed)
        found = self.access.authenticate(presented.key)
        if found is None:
            raise Refused("身份认证失败：令牌无效、已过期或已吊销")
        return self._institution(found)

    def _tif(self, headers: Mapping[str, str]) -> Presented:
        paasid = headers["x-tif-paasid"][:100]
        timestamp = headers.get("x-tif-timestamp", "")
        nonce = headers.get("x-tif-nonce", "")[:100]
        signature = headers.get("x-tif-signature", "")
        if not (timestamp.isdigit() and nonce and signature):
            raise Refused(
                "身份认证失败：x-tif-timestamp、x-tif-nonce、x-tif-signature 必填", paasid
            )
        if abs(int(timestamp[:12]) - time.time()) > CLOCK_SKEW_SECONDS:
            raise Refused("身份认证失败：x-tif-timestamp 与服务器时间相差超过5分钟", paasid)
        expected = tif_signature(timestamp, paas_token(self.secret, paasid), nonce)
        if not hmac.compare_digest(expected, signature.lower()):
            raise Refused("身份认证失败：x-tif-signature 签名不正确", paasid)
        return Presented(_tif_key(self.secret, paasid), paasid, nonce=(paasid, nonce))

    def _stored(self, key: str, claimed: str) -> Principal:
        epoch = self.access.epoch()  # before the read: a revocation meanwhile is seen
        with self.access.uow() as uow:
            row = uow.accounts.by_token(key)
        if row is None or not row.active or row.revoked_at is not None:
            raise Refused("身份认证失败：凭证未登记或已吊销", claimed)
        expires = row.expires_at
        if (
            expires is not None
            and (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= now()
        ):
            raise Refused("身份认证失败：凭证已过期", claimed)
        who = self._institution(principal_of(row))
        self.access.remember(key, who, expires, epoch)
        return who

    @staticmethod
    def _institution(who: Principal) -> Principal:
        if who.role is not Role.INSTITUTION or who.institution_id is None:
            raise Refused(f"身份认证失败：账户 {who.account} 不是定点医药机构的账户", who.account)
        return who

    # --- the audit log ----------------------------------------------------------------

    def admit(self, who: Principal, fixmedins_code: str, infno: str) -> None:
        """The message's institution must be the caller's."""
        if fixmedins_code != who.institution_id:
            message = (
                f"fixmedins_code 字段值无效：凭证属于 {who.institution_id}，"
                f"不能以 {fixmedins_code} 的名义交易"
            )
            self.refused(who.account, message, {"infno": infno, "fixmedins_code": fixmedins_code})
            raise Refused(message, who.account)

    def signed_in(self, who: Principal, msgid: str, answer: dict[str, Any]) -> None:
        """A 9001 answered: its sign_no in the audit log (a refused one is not a sign-in)."""
        if answer.get("infcode") != 0:
            return
        output = answer.get("output") or {}
        sign_no = (output.get("signinoutb") or {}).get("sign_no")
        with self.access.uow() as uow:
            uow.audit.record(
                who,
                "fsi.sign_in",
                "institution",
                str(who.institution_id),
                None,
                {"msgid": msgid, "sign_no": sign_no},
            )
            uow.commit()

    def refused(self, claimed: str, message: str, detail: dict[str, Any] | None = None) -> None:
        actor = Principal(account=claimed[:64], role=Role.INSTITUTION)
        with self.access.uow() as uow:
            uow.audit.record(
                actor,
                "fsi.refused",
                "fsi",
                claimed[:64],
                None,
                {"reason": message, **(detail or {})},
            )
            uow.commit()


def issue_credential(
    access: AccessService,
    secret: bytes,
    who: Principal,
    account_id: str,
    certificates: Iterable[str] = (),
) -> dict[str, Any]:
    """A paasid and paasToken for the x-tif headers of an institution's account (and its
    client certificates registered), valid for a year; shown this once."""
    require(who, Role.CLERK)
    paasid = "yb" + secrets.token_hex(10)
    expires = now() + timedelta(days=CREDENTIAL_DAYS)
    with access.uow() as uow:
        row = uow.accounts.get(account_id)
        if row is None:
            raise NotFoundError("unknown_account", f"account {account_id!r} is not known")
        require_region(who, account_region(uow, row))
        if row.role != Role.INSTITUTION.value:
            raise Forbidden("not_an_institution", f"account {account_id} is not an institution's")
        uow.accounts.add_token(
            _tif_key(secret, paasid), account_id, "national interface x-tif", expires
        )
        fingerprints = [normalise_fingerprint(f) for f in certificates]
        for fingerprint in fingerprints:
            if len(fingerprint) != 64 or any(c not in "0123456789abcdef" for c in fingerprint):
                raise ServiceError(
                    "invalid_fingerprint", "certificate: a SHA-256 fingerprint, 64 hex digits"
                )
            uow.accounts.add_token(
                _cert_key(secret, fingerprint), account_id, "client certificate", expires
            )
        uow.audit.record(
            who,
            "fsi.credential",
            "account",
            account_id,
            None,
            {"paasid": paasid, "certificates": fingerprints},
        )
        uow.commit()
    return {
        "account": account_id,
        "institution_id": row.institution_id,
        "paasid": paasid,
        "paas_token": paas_token(secret, paasid),
        "certificates": fingerprints,
        "expires_at": expires.isoformat(),
    }


@dataclass(frozen=True)
class Credential:
    paasid: str
    paas_token: str

    def headers(self) -> dict[str, str]:
        return tif_headers(self.paasid, self.paas_token)
