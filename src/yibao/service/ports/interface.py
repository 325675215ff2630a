"""The national interface's records, as a port: what the adapter of the hospital
systems' message format (yibao.fsi) keeps beside the service layer's own stores — its
sign-ins, messages and their first answers, visits and fee lines as the hospital
uploaded them, the settlements it answered (for reconciliation), and uploaded files.
adapters/db implements it (fsi_repo.py) on the unit of work's own transaction, so that a
message's changes and its stored answer commit together.

Rows are returned as records with attribute access (the columns of the adapter's tables,
docs/national-interface.md "Tables")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable


class Opening(NamedTuple):
    """What a message's first statement reads (InterfaceRecords.opening)."""

    message: Any | None  # its msgid's first answer
    sign_in: Any | None  # the sign-in it runs under
    fresh: bool  # its x-tif nonce was not seen before (and is now, in this transaction)
    institutions: int | None  # the institutions' generation; None: not kept


class InterfaceRecords(Protocol):
    # --- regions ---------------------------------------------------------------------

    def admdvs(self, region: str) -> str:
        """The region's division code (医保区划); "" when unknown."""

    def region_of(self, admdvs: str) -> str | None:
        """The region whose division code this is."""

    # --- sign-ins and messages -------------------------------------------------------

    def add_sign_in(self, sign_no: str, fixmedins_code: str, opter: str) -> None: ...

    def sign_in(self, sign_no: str) -> Any | None: ...

    def current_sign_in(self, fixmedins_code: str) -> Any | None:
        """The institution's latest sign-in that is not signed out."""

    def sign_out(self, sign_no: str) -> None: ...

    def message(self, fixmedins_code: str, msgid: str) -> Any | None:
        """A message answered before: its infno, request_hash and response."""

    def envelope(
        self, fixmedins_code: str, msgid: str, sign_no: str | None
    ) -> tuple[Any | None, Any | None]:
        """In one read: `message(fixmedins_code, msgid)` and the sign-in the message runs
        under, `sign_in(sign_no)` or, with None, `current_sign_in(fixmedins_code)`."""

    def add_message(
        self, fixmedins_code: str, msgid: str, infno: str, request_hash: str, response: str
    ) -> None: ...

    def opening(
        self,
        fixmedins_code: str,
        msgid: str,
        sign_no: str | None,
        nonce: tuple[str, str, datetime] | None,
    ) -> Opening:
        """`envelope`, and in the same statement the x-tif nonce (paasid, nonce, seen at)
        recorded as seen in this transaction (`fresh` False: it was seen before) and the
        institutions' generation."""

    # --- visits and fee lines --------------------------------------------------------

    def add_visit(self, values: dict[str, Any]) -> None: ...

    def visit(self, mdtrt_id: str, *, lock: bool = False) -> Any | None:
        """The visit; with lock, held until the transaction ends (PostgreSQL)."""

    def update_visit(self, mdtrt_id: str, **values: Any) -> None: ...

    def lines(self, mdtrt_id: str) -> list[Any]: ...

    def next_line_seq(self, mdtrt_id: str) -> int: ...

    def add_lines(self, rows: list[dict[str, Any]]) -> None: ...

    def delete_lines(self, mdtrt_id: str, feedetl_sns: list[str] | None) -> None:
        """The visit's lines (those named, or all)."""

    # --- settlements -----------------------------------------------------------------

    def add_settlement(self, values: dict[str, Any]) -> None: ...

    def settled(self, values: dict[str, Any], visit: dict[str, Any]) -> None:
        """A settlement made: add_settlement(values), take_lines of its visit for it, and
        update_visit(its visit, **visit), together."""

    def settlement(self, setl_id: int) -> Any | None: ...

    def settlement_count(self, mdtrt_id: str) -> int: ...

    def later_settlement(self, mdtrt_id: str, setl_id: int) -> Any | None:
        """A settlement of the visit in force after this one (interim settlements)."""

    def has_settlement(self, mdtrt_id: str) -> bool: ...

    def take_lines(self, mdtrt_id: str, setl_id: int) -> None:
        """The visit's lines not yet settled are taken by this (interim) settlement."""

    def release_lines(self, setl_id: int) -> None: ...

    def active_settlement(self, mdtrt_id: str) -> Any | None: ...

    def cancel_settlement(self, setl_id: int, reversal_id: int | None, day: date) -> None: ...

    def settlements_between(self, fixmedins_code: str, begin: date, end: date) -> list[Any]:
        """The institution's settlements made or cancelled in the period."""

    # --- files -----------------------------------------------------------------------

    def add_file(self, number: str, fixmedins_code: str, filename: str, content: bytes) -> None: ...

    def file(self, number: str) -> Any | None: ...


@runtime_checkable
class WithInterfaceRecords(Protocol):
    """A unit of work (entered) that also keeps the national interface's records."""

    @property
    def interface(self) -> InterfaceRecords: ...
