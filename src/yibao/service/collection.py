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
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.collection import (
    ACCOUNT_LENGTH,
    LINE_OUTCOMES,
    BankFileError,
    BankLine,
    BankStatus,
    account_number,
    parse_bank_file,
)
from yibao.domain.money import fmt, from_fen
from yibao.domain.parameters import RegionPolicy
from yibao.domain.registry import Card, CardStatus
from yibao.service.access import require, require_region
from yibao.service.base import UseCases
from yibao.service.cards import CardNumbers, card_view, due_date, order_card
from yibao.service.errors import ConflictError, NotFoundError, ServiceError
from yibao.service.ports import UnitOfWork, now
from yibao.service.ports.records import DuplicateError

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


def _account_rows(
    who: Principal,
    region: str,
    year: int,
    today: date,
    numbers: AccountNumbers,
    pending: Iterable[Any],
) -> list[dict[str, Any]]:
    """A new account for each pending enrolment: open for its personal part, or exempt
    (and paid today) when that part is 0."""
    opened_at = now()
    rows = []
    for e in pending:
        free = e.personal_fen == 0
        rows.append(
            {
                "number": numbers.next(),
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
    return rows


def _judge_payment(
    where: str,
    line: BankLine,
    account: Any,
    statuses: dict[tuple[str, int], str],
    paying: dict[str, BankLine],
) -> tuple[str, str]:
    """The outcome of a well-formed line for an account of the region: paid, or why not."""
    assert line.amount is not None
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
    if statuses.get((account.person_id, account.year), "cancelled") == "cancelled":
        return (
            "enrolment_cancelled",
            f"{where}: the enrolment for {account.year} is cancelled; refund {fmt(line.amount)}",
        )
    earlier = paying.get(line.account)
    if earlier is not None:
        return (
            "already_paid",
            f"{where} is paid by line {earlier.line_no} of this file: not paid twice; "
            f"refund {fmt(line.amount)}",
        )
    return "paid", ""


def _outcome_row(
    import_id: int,
    line: BankLine,
    outcome: str,
    message: str,
    paying: dict[str, BankLine],
    paid: Iterable[str],
    cards: dict[str, Card],
    accounts: dict[str, Any],
) -> dict[str, Any]:
    """A line's stored outcome: a paid line says what its payment did, or that another
    import paid the account meanwhile."""
    if outcome == "paid" and paying.get(line.account) is line:
        where = f"line {line.line_no}: account {line.account}"
        if line.account not in paid:
            outcome = "already_paid"
            message = f"{where} was paid by another import meanwhile: not paid twice"
        else:
            card = cards.get(accounts[line.account].person_id)
            tail = (
                f"; card {card.number} ordered, due {card.due_on}"
                if card
                else "; the person has a card"
            )
            assert line.amount is not None
            assert line.paid_on is not None
            message = (
                f"{where}: {fmt(line.amount)} paid on {line.paid_on.isoformat()}, "
                f"enrolment active{tail}"
            )
    return {
        "import_id": import_id,
        "line_no": line.line_no,
        "account": line.account,
        "amount_fen": line.amount_fen,
        "paid_on": line.paid_on,
        "bank_status": line.bank_status,
        "outcome": outcome,
        "message": message,
    }


class CollectionService(UseCases):
    """services.collection: premium collection, and the card use cases of CardsService."""

    # --- accounts -------------------------------------------------------------------

    def open_accounts(self, who: Principal, region: str, year: int) -> dict[str, Any]:
        """One account for every pending enrolment of the region's year that has none.
        Exempt enrolments (personal part 0) become active today and their card is ordered."""
        require(who, Role.CLERK)
        require_region(who, region)
        policy = self._policy(region)
        today = self.clock()
        cards = 0
        try:
            with self.uow() as uow:
                numbers = AccountNumbers(uow, policy.admdvs, year)
                card_numbers = CardNumbers(uow)
                pending = uow.collection.pending_without_account(region, year)
                rows = _account_rows(who, region, year, today, numbers, pending)
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
                for row in (r for r in rows if r["status"] == "exempt"):
                    person_id, number = row["person_id"], row["number"]
                    self._activate(uow, who, person_id, year, today, number, None)
                    if order_card(
                        uow, who, policy, card_numbers, person_id, today, date(year, 1, 1)
                    ):
                        cards += 1
                counts = uow.collection.account_counts(region, year)
                uow.commit()
        except DuplicateError:
            raise ConflictError(
                "busy",
                f"accounts of {region} {year} were opened by someone else at the same moment: try again",
            ) from None
        return {
            "region": region,
            "year": year,
            "opened": sum(1 for r in rows if r["status"] == "open"),
            "exempt": sum(1 for r in rows if r["status"] == "exempt"),
            "cards_ordered": cards,
            "amount_due": fmt(from_fen(sum(r["amount_fen"] for r in rows))),
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
        except DuplicateError:
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
        """Every line judged against what the database knows (read in a few queries), then
        the payments written as a set: accounts paid, enrolments activated, cards ordered.
        An account another import paid meanwhile is found by the write and reported."""
        accounts = uow.collection.accounts(line.account for line in lines if line.problem is None)
        statuses = uow.collection.enrolment_statuses(
            {(a.person_id, a.year) for a in accounts.values()}
        )
        judged: list[tuple[BankLine, str, str]] = []
        paying: dict[str, BankLine] = {}  # account -> the line of this file that pays it
        for i, line in enumerate(lines, 1):
            outcome, message = self._judge(who, line, accounts, today, statuses, paying)
            if outcome == "paid":
                paying[line.account] = line
            judged.append((line, outcome, message))
            if progress is not None and (i % 1000 == 0 or i == len(lines)):
                progress(i, len(lines))
        paid = uow.collection.mark_paid_many(
            [(number, line.paid_on) for number, line in paying.items() if line.paid_on], import_id
        )
        cards = self._settle_payments(uow, who, import_id, [accounts[n] for n in paid], paying)
        return [
            _outcome_row(import_id, line, outcome, message, paying, paid, cards, accounts)
            for line, outcome, message in judged
        ]

    def _settle_payments(
        self,
        uow: UnitOfWork,
        who: Principal,
        import_id: int,
        paid: list[Any],
        paying: dict[str, BankLine],
    ) -> dict[str, Card]:
        """The paid accounts' enrolments made active from the bank's date, and a card
        ordered for each person without one ordered or in hand: person -> new card."""
        activations = [(a.person_id, a.year, paying[a.number].paid_on, a.number) for a in paid]
        activated = uow.collection.activate_enrolments(
            [(person, year, day) for person, year, day, _ in activations if day is not None]
        )
        for person, year, day, number in activations:
            if (person, year) in activated and day is not None:
                uow.audit.record(
                    who,
                    "enrolment.activate",
                    "enrolment",
                    f"{person}/{year}",
                    {"status": "pending", "paid_on": None},
                    {
                        "status": "active",
                        "paid_on": day.isoformat(),
                        "account": number,
                        "bank_import": import_id,
                    },
                )
        holders = uow.collection.live_card_holders({a.person_id for a in paid})
        numbers = CardNumbers(uow)
        policies: dict[str, RegionPolicy] = {}
        new: dict[str, Card] = {}
        for a in paid:
            day = paying[a.number].paid_on
            if a.person_id in holders or a.person_id in new or day is None:
                continue
            if a.region not in policies:
                policies[a.region] = self._policy(a.region)
            policy = policies[a.region]
            new[a.person_id] = Card(
                number=numbers.next(policy.admdvs),
                person_id=a.person_id,
                status=CardStatus.ORDERED,
                ordered_on=day,
                due_on=due_date(policy, day, date(a.year, 1, 1)),
            )
        uow.registry.add_cards(list(new.values()))
        for card in new.values():
            uow.audit.record(who, "card.order", "card", card.number, None, card_view(card))
        return new

    def _judge(
        self,
        who: Principal,
        line: BankLine,
        accounts: dict[str, Any],
        today: date,
        statuses: dict[tuple[str, int], str],
        paying: dict[str, BankLine],
    ) -> tuple[str, str]:
        """A line's outcome from what was read; "paid" lines are written afterwards."""
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
        return _judge_payment(where, line, account, statuses, paying)

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
