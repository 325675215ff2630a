"""The electronic insurance voucher: `yb1.<person id>.<expiry, unix seconds>.<signature>`,
an HMAC-SHA256 of the rest with the services' secret, truncated to 128 bits, valid five
minutes. An institution scans it and sends it as `voucher` in place of `card_number`."""

from __future__ import annotations

import hashlib
import hmac

from yibao.service.errors import ServiceError

VOUCHER_PREFIX = "yb1"
VOUCHER_SECONDS = 300


def _signature(secret: bytes, body: str) -> str:
    return hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()[:32]


def sign_voucher(secret: bytes, person_id: str, expires: int) -> str:
    body = f"{VOUCHER_PREFIX}.{person_id}.{expires}"
    return f"{body}.{_signature(secret, body)}"


def read_voucher(secret: bytes, token: str, now: float) -> str:
    """The person a voucher names, if its signature checks and it has not expired."""
    invalid = ServiceError("invalid_voucher", "the voucher is not one yibao signed")
    body, _, signature = token.strip().rpartition(".")
    head, _, expires = body.rpartition(".")
    prefix, _, person_id = head.partition(".")
    if prefix != VOUCHER_PREFIX or not person_id or not expires.isdigit():
        raise invalid
    if not hmac.compare_digest(_signature(secret, body), signature.lower()):
        raise invalid
    if int(expires) <= now:
        raise ServiceError(
            "voucher_expired",
            "the voucher has expired: the insured shows a fresh one from the app",
        )
    return person_id
