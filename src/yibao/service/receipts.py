"""What a claim's receipt file may be: a photo or a PDF, recognised by its first bytes."""

from __future__ import annotations

import re

from yibao.service.errors import ServiceError

# Receipts: at most this many files of at most this size, of these kinds (by first bytes).
MAX_RECEIPTS = 5
MAX_RECEIPT_BYTES = 5 * 1024 * 1024
RECEIPT_KINDS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"%PDF-", "pdf"),
)


# Markup near the start of a "photo" is a page in disguise (a browser that sniffs would
# run it): refused whatever its first bytes claim.
_MARKUP = re.compile(rb"<\s*(html|script|svg|body|iframe|object|embed|!doctype|\?xml)", re.I)


def receipt_kind(data: bytes) -> str:
    """The file's extension by its first bytes (never by its name); markup refused."""
    if not data:
        raise ServiceError("empty_receipt", "a receipt file is empty", field="receipts")
    if len(data) > MAX_RECEIPT_BYTES:
        raise ServiceError(
            "receipt_too_large", "a receipt is above 5 MB", field="receipts", limit="5 MB"
        )
    for magic, ext in RECEIPT_KINDS:
        if data.startswith(magic) and not _MARKUP.search(data[:4096]):
            return ext
    raise ServiceError(
        "receipt_type", "a receipt must be a JPEG or PNG photo or a PDF", field="receipts"
    )
