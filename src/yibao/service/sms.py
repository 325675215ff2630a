"""Proof that a member holds a phone: a one-time code sent by SMS.

The service owns the port (`SmsSender`); a deployment plugs in its SMS gateway, and
development runs with `LogSms`, which writes the message to the log (logger yibao.sms)
for a developer or a test to read the code there; never for production.

A code is not stored: it is an HMAC, under the server's key, of the account, the phone
and the ten-minute window it was sent in, cut to six digits; it is accepted in that
window and the next (10 to 20 minutes), by any worker of the server. Wrong codes slow
the account down like wrong passwords (service/throttle.py).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import Protocol

WINDOW_SECONDS = 600
DIGITS = 6


log = logging.getLogger("yibao.sms")


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> None:
        """Deliver the text to the phone (raise to report that it could not be sent)."""


def one_time_code(secret: bytes, purpose: str, account: str, phone: str, window: int) -> str:
    message = f"{purpose}|{account}|{phone}|{window}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**DIGITS:0{DIGITS}d}"


def current_window(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // WINDOW_SECONDS)


def code_matches(
    secret: bytes, purpose: str, account: str, phone: str, code: str, now: float | None = None
) -> bool:
    window = current_window(now)
    typed = code.strip()
    return any(
        hmac.compare_digest(one_time_code(secret, purpose, account, phone, w), typed)
        for w in (window, window - 1)
    )


def masked(phone: str) -> str:
    """138****8000: enough for the member to know which phone, no more."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


class LogSms:
    """The development gateway: each message to the log; the latest kept for tests."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        log.warning("SMS to %s: %s", phone, text)
        self.sent.append((phone, text))
        del self.sent[:-100]
