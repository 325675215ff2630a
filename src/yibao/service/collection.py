"""Premium collection through the bank, and social-security cards: ordered after payment, due in working days, issued, lost, replaced.

The agency opens a collection account per pending enrolment for its personal part; the
bank collects and sends back a result file. A line paid with exactly the amount due makes
the enrolment active from the bank's date and orders the card; anything else (another
amount, an unknown account, a failure at the bank, an account paid already, a line that
cannot be read) is reported and changes nothing. Exempt enrolments (assistance families,
personal part 0) need no bank: they become active when their account is opened.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError

from yibao.adapters.db.repositories import now
from yibao.adapters.db.tables_collection import LINE_OUTCOMES
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Principal, Role
from yibao.domain.collection import (
    ACCOUNT_LENGTH,
    BankFileError,
    BankLine,
    BankStatus,
    account_number,
    parse_bank_file,
)
from yibao.domain.money import fmt, from_fen
from yibao.domain.parameters import RegionPolicy
from yibao.service.access import require, require_region
from yibao.service.cards import CardNumbers, CardsService, order_card
from yibao.service.errors import ConflictError, NotFoundError, ServiceError

Progress = Callable[[int, int], None]


def _csv_text(value: str) -> str:
    """A cell a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


class AccountNumbers:
    """New account numbers of a region's year: admdvs, year, a 7-digit sequence and a
    check digit (as CardNumbers: the last number once, then counting on)."""

    def __init__(self, uow: UnitOfWork, admdvs: str, year: int) -> None:
        prefix = f"{admdvs}{year:04d}"
        last = uow.collection.last_number(prefix, ACCOUNT_LENGTH, "accounts")
        digits = last[len(prefix) : -1] if last else ""
        self.admdvs, self.year = admdvs, year
        self.sequence = int(digits) if digits.isdigit() else 0

    def next(self) -> str:
        self.sequence += 1
        return account_number(self.admdvs, self.year, self.sequence)


def import_view(row: Any, lines: list[Any] | None = None) -> dict[str, Any]:
    counts = dict.fromkeys(LINE_OUTCOMES, 0)
    counts.update(json.loads(row.counts))
    out: dict[str, Any] = {
        "id": row.id,
        "file_name": row.file_name,
        "sha256": row.sha256,
        "region": row.region,
        "imported_by": row.imported_by,
        "imported_at": row.imported_at.isoformat(),
        "lines": row.line_count,
        "counts": counts,
    }
    if lines is not None:
        out["report"] = [line_view(r) for r in lines]
    return out


def line_view(r: Any) -> dict[str, Any]:
    return {
        "line": r.line_no,
        "account": r.account,
        "amount": None if r.amount_fen is None else fmt(from_fen(r.amount_fen)),
        "date": None if r.paid_on is None else r.paid_on.isoformat(),
        "bank_status": r.bank_status,
        "outcome": r.outcome,
        "message": r.message,
    }


class CollectionService(CardsService):
    """services.collection: premium collection, and the card use cases of CardsService."""

    # --- accounts -------------------------------------------------------------------

    def open_accounts(self, who: Principal, region: str, year: int) -> dict[str, Any]:
        """One account for every pending enrolment of the region's year that has none.
        Exempt enrolments (personal part 0) become active today and their card is ordered."""
        require(who, Role.CLERK)
        require_region(who, region)
        policy = self._policy(region)
        today = self.clock()
        opened = exempt = cards = 0
        due_fen = 0
        opened_at = now()
        try:
            with self.uow() as uow:
                numbers = AccountNumbers(uow, policy.admdvs, year)
                card_numbers = CardNumbers(uow)
                rows: list[dict[str, Any]] = []
                activate: list[tuple[str, str]] = []
                for e in uow.collection.pending_without_account(region, year):
                    number = numbers.next()
                    free = e.personal_fen == 0
                    rows.append(
                        {
                            "number": number,
                            "region": region,
                            "person_id": e.person_id,
                            "year": year,
                            "amount_fen": e.personal_fen,
                            "status": "exempt" if free else "open",
                            "opened_by": who.account,
                            "opened_at": opened_at,
                            "opened_on": today,
                            "paid_on": today if free else None,
                        }
                    )
                    if free:
                        exempt += 1
                        activate.append((e.person_id, number))
                    else:
                        opened += 1
                        due_fen += e.personal_fen
                uow.collection.add_accounts(rows)
                for row in rows:
                    uow.audit.record(
                        who,
                        "collection.open",
                        "collection_account",
                        row["number"],
                        None,
                        {k: _plain(v) for k, v in row.items() if k != "opened_at"},
                    )
                for person_id, number in activate:
                    self._activate(uow, who, person_id, year, today, number, None)
                    if order_card(
                        uow, who, policy, card_numbers, person_id, today, date(year, 1, 1)
                    ):
                        cards += 1
                counts = uow.collection.account_counts(region, year)
                uow.commit()
        except IntegrityError:
            raise ConflictError(
                "busy",
                f"accounts of {region} {year} were opened by someone else at the same moment: try again",
            ) from None
        return {
            "region": region,
            "year": year,
            "opened": opened,
            "exempt": exempt,
            "cards_ordered": cards,
            "amount_due": fmt(from_fen(due_fen)),
            "accounts": {s: counts.get(s, 0) for s in ("open", "paid", "exempt")},
        }

    def export_accounts(self, who: Principal, region: str, year: int) -> str:
        """The open accounts as CSV for the bank: account, amount, name."""
        require(who, Role.CLERK)
        require_region(who, region)
        self._policy(region)
        with self.uow() as uow:
            rows = uow.collection.open_accounts(region, year)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["account", "amount", "name"])
        for r in rows:
            writer.writerow([r.number, fmt(from_fen(r.amount_fen)), _csv_text(r.name)])
        return out.getvalue()

    def _activate(
        self,
        uow: UnitOfWork,
        who: Principal,
        person_id: str,
        year: int,
        paid_on: date,
        account: str,
        import_id: int | None,
    ) -> bool:
        if not uow.collection.activate_enrolment(person_id, year, paid_on):
            return False
        uow.audit.record(
            who,
            "enrolment.activate",
            "enrolment",
            f"{person_id}/{year}",
            {"status": "pending", "paid_on": None},
            {
                "status": "active",
                "paid_on": paid_on.isoformat(),
                "account": account,
                "bank_import": import_id,
            },
        )
        return True

    # --- the bank's result file -----------------------------------------------------

    def import_bank_file(
        self,
        who: Principal,
        file_name: str,
        data: bytes,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Read the bank's result file and act on every line (see the module's text). The
        same file twice is refused; everything is kept, line by line, for later."""
        require(who, Role.CLERK)
        file_name = (file_name.strip() or "bank-file.csv")[:255]
        try:
            lines = parse_bank_file(data)
        except BankFileError as exc:
            raise ServiceError("invalid_bank_file", f"{file_name}: {exc}", file=file_name) from None
        sha256 = hashlib.sha256(data).hexdigest()
        today = self.clock()
        try:
            with self.uow() as uow:
                self._refuse_duplicate(uow, sha256, file_name)
                import_id = uow.collection.add_import(
                    file_name, sha256, who.region, who.account, len(lines)
                )
                outcomes = self._apply(uow, who, import_id, lines, today, progress)
                counts = dict(Counter(o["outcome"] for o in outcomes))
                uow.collection.add_import_lines(outcomes)
                uow.collection.finish_import(import_id, counts)
                uow.audit.record(
                    who,
                    "collection.import",
                    "bank_import",
                    str(import_id),
                    None,
                    {"file_name": file_name, "sha256": sha256, "lines": len(lines), **counts},
                )
                row = uow.collection.bank_import(import_id)
                problems = [
                    r for r in uow.collection.import_lines(import_id) if r.outcome != "paid"
                ]
                uow.commit()
        except IntegrityError:
            # The same file imported by another clerk at the same moment, or cards ordered
            # by another import at that moment: nothing of this one was written.
            with self.uow() as uow:
                self._refuse_duplicate(uow, sha256, file_name)
            raise ConflictError(
                "busy", f"{file_name}: another import ran at the same moment: import the file again"
            ) from None
        return import_view(row, problems)

    def _refuse_duplicate(self, uow: UnitOfWork, sha256: str, file_name: str) -> None:
        before = uow.collection.import_by_sha256(sha256)
        if before is not None:
            raise ConflictError(
                "duplicate_bank_file",
                f"{file_name}: this file was imported already (import {before.id}, "
                f"{before.file_name}, {before.imported_at:%Y-%m-%d %H:%M} by {before.imported_by})",
                import_id=before.id,
            )

    def _apply(
        self,
        uow: UnitOfWork,
        who: Principal,
        import_id: int,
        lines: list[BankLine],
        today: date,
        progress: Progress | None,
    ) -> list[dict[str, Any]]:
        accounts = uow.collection.accounts(line.account for line in lines if line.problem is None)
        policies: dict[str, RegionPolicy] = {}
        card_numbers = CardNumbers(uow)
        out: list[dict[str, Any]] = []
        for i, line in enumerate(lines, 1):
            outcome, message = self._outcome(
                uow, who, import_id, line, accounts, today, policies, card_numbers
            )
            out.append(
                {
                    "import_id": import_id,
                    "line_no": line.line_no,
                    "account": line.account,
                    "amount_fen": line.amount_fen,
                    "paid_on": line.paid_on,
                    "bank_status": line.bank_status,
                    "outcome": outcome,
                    "message": message,
                }
            )
            if progress is not None and (i % 100 == 0 or i == len(lines)):
                progress(i, len(lines))
        return out

    def _outcome(
        self,
        uow: UnitOfWork,
        who: Principal,
        import_id: int,
        line: BankLine,
        accounts: dict[str, Any],
        today: date,
        policies: dict[str, RegionPolicy],
        card_numbers: CardNumbers,
    ) -> tuple[str, str]:
        if line.problem is not None:
            return "invalid", line.problem
        assert line.paid_on is not None
        assert line.amount is not None
        assert line.amount_fen is not None
        where = f"line {line.line_no}: account {line.account}"
        if line.paid_on > today:
            return (
                "invalid",
                f"line {line.line_no}: date {line.paid_on.isoformat()} is after today ({today.isoformat()})",
            )
        account = accounts.get(line.account)
        if account is None:
            return "unknown_account", f"{where} is not an account the agency opened"
        if who.region is not None and account.region != who.region:
            return (
                "unknown_account",
                f"{where} is an account of {account.region}, not of {who.region}",
            )
        if line.paid_on < account.opened_on:
            return (
                "invalid",
                f"{where}: date {line.paid_on.isoformat()} is before the account was opened "
                f"({account.opened_on.isoformat()})",
            )
        if line.status is BankStatus.FAILED:
            return (
                "failed_at_bank",
                f"{where}: the bank could not collect {fmt(line.amount)}; the account stays open",
            )
        if account.status != "open":
            paid = (
                "exempt (nothing is due)"
                if account.status == "exempt"
                else f"paid on {account.paid_on}"
            )
            return "already_paid", f"{where} is {paid}: not paid twice; refund {fmt(line.amount)}"
        if line.amount_fen != account.amount_fen:
            due = fmt(from_fen(account.amount_fen))
            return (
                "amount_mismatch",
                f"{where}: paid {fmt(line.amount)}, {due} is due; nothing changed",
            )
        enrolment = uow.registry.enrolment(account.person_id, account.year)
        if enrolment is None or enrolment.status == "cancelled":
            return (
                "enrolment_cancelled",
                f"{where}: the enrolment for {account.year} is cancelled; refund {fmt(line.amount)}",
            )
        if not uow.collection.mark_paid(line.account, line.paid_on, import_id):
            return "already_paid", f"{where} was paid by another import meanwhile: not paid twice"
        self._activate(
            uow, who, account.person_id, account.year, line.paid_on, line.account, import_id
        )
        if account.region not in policies:
            policies[account.region] = self._policy(account.region)
        card = order_card(
            uow,
            who,
            policies[account.region],
            card_numbers,
            account.person_id,
            line.paid_on,
            date(account.year, 1, 1),
        )
        tail = (
            f"; card {card.number} ordered, due {card.due_on}"
            if card
            else "; the person has a card"
        )
        return (
            "paid",
            f"{where}: {fmt(line.amount)} paid on {line.paid_on.isoformat()}, enrolment active{tail}",
        )

    def bank_import(
        self, who: Principal, import_id: int, outcome: str | None = None
    ) -> dict[str, Any]:
        """An import with every line's outcome (or only the lines of one outcome)."""
        require(who, Role.CLERK, Role.APPROVER)
        if outcome is not None and outcome not in LINE_OUTCOMES:
            raise ServiceError(
                "invalid_outcome",
                f"outcome: {outcome!r} is not one of {', '.join(LINE_OUTCOMES)}",
                field="outcome",
            )
        with self.uow() as uow:
            row = uow.collection.bank_import(import_id)
            if row is None or (who.region is not None and row.region not in (None, who.region)):
                raise NotFoundError("unknown_bank_import", f"bank import {import_id} is not known")
            lines = uow.collection.import_lines(import_id, outcome)
        return import_view(row, lines)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value
