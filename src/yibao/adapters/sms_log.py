"""The development SMS gateway: each message goes to the log (logger yibao.sms), where a
developer or a test reads the one-time code. Never for production: configure a real
gateway there."""

from __future__ import annotations

import logging

log = logging.getLogger("yibao.sms")


class LogSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []  # the latest messages, for tests

    def send(self, phone: str, text: str) -> None:
        log.warning("SMS to %s: %s", phone, text)
        self.sent.append((phone, text))
        del self.sent[:-100]
