"""Premium collection, pure: account and card numbers with a check digit, and the bank's
result file read line by line. A line that cannot be read is kept with its reason; only
a file that is not a result file at all (no header, a missing column) is refused whole."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from yibao.domain.money import AmountError, parse_amount, to_fen

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_LINES = 200_000
# No single premium comes near this; a larger number is a wrong column, not a payment.
MAX_AMOUNT = Decimal(1_000_000)

ACCOUNT_LENGTH = 18  # admdvs (6) + year (4) + sequence (7) + check digit
CARD_LENGTH = 15  # admdvs (6) + sequence (8) + check digit

# What became of one line of a bank result file.
LINE_OUTCOMES = (
    "paid",
    "already_paid",
    "unknown_account",
    "amount_mismatch",
    "failed_at_bank",
    "enrolment_cancelled",
    "invalid",
)


class BankFileError(ValueError):
    """The file as a whole is not a bank result file."""


class BankStatus(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"


_STATUS_WORDS = {
    "success": BankStatus.SUCCESS,
    "succeeded": BankStatus.SUCCESS,
    "成功": BankStatus.SUCCESS,
    "failed": BankStatus.FAILED,
    "failure": BankStatus.FAILED,
    "失败": BankStatus.FAILED,
}

# The bank's header names, in English or Chinese; columns may come in any order.
_COLUMNS = {
    "account": ("account", "账号", "帐号", "缴费账号"),
    "amount": ("amount", "金额"),
    "date": ("date", "日期"),
    "status": ("status", "状态"),
}

_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$|^(\d{4})/(\d{2})/(\d{2})$")


def check_digit(digits: str) -> str:
    """The Luhn check digit of a string of digits (the one bank cards use): it catches
    every single mistyped digit and most swaps of neighbours."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:  # the check digit will sit to the right, so these are doubled
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return str((10 - total % 10) % 10)


def with_check_digit(digits: str) -> str:
    return digits + check_digit(digits)


def has_valid_check_digit(number: str) -> bool:
    return len(number) >= 2 and number.isdigit() and check_digit(number[:-1]) == number[-1]


def account_number(admdvs: str, year: int, sequence: int) -> str:
    return with_check_digit(f"{admdvs}{year:04d}{sequence:07d}")


def card_number(admdvs: str, sequence: int) -> str:
    return with_check_digit(f"{admdvs}{sequence:08d}")


@dataclass(frozen=True)
class BankLine:
    """One data line of the result file: the values it carries, or why it cannot be read
    (`problem`). `account` and `bank_status` are the text as written, cut to fit."""

    line_no: int
    account: str
    amount: Decimal | None
    paid_on: date | None
    status: BankStatus | None
    bank_status: str
    problem: str | None = None

    @property
    def amount_fen(self) -> int | None:
        return None if self.amount is None else to_fen(self.amount)


def decode(data: bytes) -> str:
    """UTF-8 (with or without the BOM spreadsheets add); else GB 18030, which Chinese
    banks' systems still write."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise BankFileError("the file is neither UTF-8 nor GB 18030 text") from None


def _header(row: list[str]) -> dict[str, int]:
    names = [cell.strip().lower() for cell in row]
    found: dict[str, int] = {}
    for column, aliases in _COLUMNS.items():
        for i, name in enumerate(names):
            if name in aliases:
                found[column] = i
                break
    missing = [c for c in _COLUMNS if c not in found]
    if missing:
        raise BankFileError(
            "line 1: the header must name the columns account, amount, date, status "
            f"(missing: {', '.join(missing)}; found: {', '.join(repr(n) for n in names) or 'nothing'})"
        )
    return found


def parse_date(text: str) -> date:
    m = _DATE.match(text)
    if m is None:
        raise ValueError(f"date {text!r} is not a date (YYYY-MM-DD or YYYYMMDD)")
    y, mo, d = (int(g) for g in (m.groups()[:3] if m.group(1) else m.groups()[3:]))
    try:
        return date(y, mo, d)
    except ValueError:
        raise ValueError(f"date {text!r} is not a day of the calendar") from None


def _amount(text: str) -> Decimal:
    try:
        value = parse_amount(text)
    except AmountError:
        raise ValueError(f"amount {text!r} is not an amount in yuan (e.g. 400.00)") from None
    if not 0 < value < MAX_AMOUNT:
        raise ValueError(f"amount {text!r} must be above 0 and below {MAX_AMOUNT:,}")
    return value


def _line(line_no: int, row: list[str], columns: dict[str, int]) -> BankLine:
    cells = [c.strip() for c in row]
    width = max(columns.values()) + 1
    if len(cells) < width:
        return BankLine(
            line_no,
            (cells[columns["account"]] if columns["account"] < len(cells) else "")[:64],
            None,
            None,
            None,
            "",
            f"line {line_no}: {len(cells)} values, the header has {width} columns",
        )
    account, raw_amount, raw_date, raw_status = (
        cells[columns[c]] for c in ("account", "amount", "date", "status")
    )
    problems: list[str] = []
    amount = paid_on = status = None
    if not account:
        problems.append("the account is empty")
    elif len(account) != ACCOUNT_LENGTH or not account.isdigit():
        problems.append(
            f"account {account[:64]!r} is not an account number ({ACCOUNT_LENGTH} digits)"
        )
    elif not has_valid_check_digit(account):
        problems.append(f"account {account!r} has a wrong check digit (mistyped?)")
    try:
        amount = _amount(raw_amount)
    except ValueError as exc:
        problems.append(str(exc))
    try:
        paid_on = parse_date(raw_date)
    except ValueError as exc:
        problems.append(str(exc))
    status = _STATUS_WORDS.get(raw_status.lower())
    if status is None:
        problems.append(f"status {raw_status[:16]!r} is not success or failed (成功/失败)")
    problem = f"line {line_no}: " + "; ".join(problems) if problems else None
    return BankLine(line_no, account[:64], amount, paid_on, status, raw_status[:16], problem)


def parse_bank_file(data: bytes) -> list[BankLine]:
    """Every data line of the file, in order; blank lines are skipped."""
    if len(data) > MAX_FILE_BYTES:
        raise BankFileError(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    text = decode(data)
    if "\x00" in text:
        raise BankFileError("the file contains NUL characters: it is not a CSV text file")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(c.strip() for c in header):
            raise BankFileError(
                "the file is empty: expected a header line account,amount,date,status"
            )
        columns = _header(header)
        lines: list[BankLine] = []
        line_no = reader.line_num
        for row in reader:
            line_no = reader.line_num
            if not any(c.strip() for c in row):
                continue
            if len(lines) >= MAX_LINES:
                raise BankFileError(f"the file has more than {MAX_LINES:,} lines: split it")
            lines.append(_line(line_no, row, columns))
    except csv.Error as exc:
        raise BankFileError(f"line {reader.line_num}: not CSV: {exc}") from None
    if not lines:
        raise BankFileError("the file has a header but no lines")
    return lines
