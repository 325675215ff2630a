"""Class lists as schools send them: reading CSV and .xlsx files, the downloadable
template, and the checks each row must pass on its own (those that need the database —
already enrolled, on another list — are the service's).

Pure: bytes in, rows and row errors out. A row's number is its row in the sheet, the
header being row 1, so the school finds it where its spreadsheet program shows it.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from yibao.domain.ids import ResidentIdError, parse_resident_id
from yibao.domain.model import age_on
from yibao.domain.text import text_problem
from yibao.service.errors import ServiceError

MAX_ROWS = 50_000  # a very large school; more is a mistake (or not a class list)
MAX_BYTES = 20 * 1024 * 1024
# Bounds on what a file may make the reader do, whatever it claims: records read (blank
# ones too), columns read of each, the workbook's size unpacked and its parts.
MAX_RECORDS = MAX_ROWS + 10_000
MAX_COLUMNS = 64
MAX_UNPACKED = 100 * 1024 * 1024
MAX_PARTS = 200

# The fields of a row, each with the headers that name it (Chinese or English; matched
# case-insensitively, ignoring spaces, and either part of "身份证号 (id_number)").
HEADERS: dict[str, tuple[str, ...]] = {
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "id_number", "id number"),
    "name": ("姓名", "学生姓名", "name"),
    "class_name": ("班级", "class", "class_name"),
    "guardian_name": ("监护人", "监护人姓名", "guardian", "guardian_name"),
    "guardian_phone": ("监护人电话", "监护人手机", "联系电话", "guardian_phone", "phone"),
    "assistance": ("困难家庭", "低保特困", "assistance"),
}
REQUIRED = ("id_number", "name", "guardian_phone")
TEMPLATE_HEADERS = (
    "身份证号 (id_number)",
    "姓名 (name)",
    "班级 (class)",
    "监护人 (guardian_name)",
    "监护人电话 (guardian_phone)",
    "困难家庭 (assistance)",
)
EXAMPLE_MARK = "示例"  # the template's example row's name starts with this
TEMPLATE_EXAMPLE = (
    "110101201503010015",
    "示例 Example (delete this row)",
    "三年级2班",
    "张三",
    "13800138000",
    "否",
)

_YES = frozenset({"1", "是", "y", "yes", "true", "低保", "特困", "√"})
_NO = frozenset({"", "0", "否", "n", "no", "false"})
# Mainland mobile numbers: 11 digits, 13x to 19x.
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LIMITS = {"name": 100, "class_name": 50, "guardian_name": 100}


@dataclass(frozen=True)
class RawRow:
    row: int
    cells: dict[str, str]
    # Fields a spreadsheet stored as a number too long to keep exactly (an ID number typed
    # into a number cell): their digits are lost.
    lossy: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RowError:
    row: int
    id_number: str
    field: str
    code: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "id_number": self.id_number,
            "field": self.field,
            "code": self.code,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Pupil:
    """A row that passed every check of its own."""

    row: int
    id_number: str
    name: str
    birth_date: date
    sex: str
    class_name: str
    guardian_name: str
    guardian_phone: str
    assistance: bool


@dataclass
class Checked:
    pupils: list[Pupil] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # Every row whose ID number is valid (whatever else is wrong with it): the database
    # checks look these up, so one upload reports all of a row's problems at once.
    valid_ids: dict[int, str] = field(default_factory=dict)


Progress = Callable[[int, int], None]


# --- reading -----------------------------------------------------------------------------


def read_class_list(file_name: str, content: bytes) -> list[RawRow]:
    """The data rows of a CSV (UTF-8 with or without BOM, or GB18030 as Excel saves it in
    China) or .xlsx file, blank rows left out."""
    if len(content) > MAX_BYTES:
        raise ServiceError(
            "file_too_large",
            f"file: {len(content) // 1024 // 1024} MB is more than the {MAX_BYTES // 1024 // 1024} MB a class list may be",
            status=413,
        )
    lower = file_name.lower()
    if lower.endswith(".xls"):
        raise ServiceError(
            "unreadable_class_list",
            "file: the old Excel format (.xls) is not read: save the list as .xlsx or CSV",
        )
    if content.startswith(b"PK\x03\x04") or lower.endswith(".xlsx"):
        records: Iterator[list[Any]] = _xlsx_records(content)
    else:
        records = _csv_records(content)
    return _rows(records)


def _csv_records(content: bytes) -> Iterator[list[Any]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")
        except UnicodeDecodeError:
            raise ServiceError(
                "unreadable_class_list", "file: the CSV is neither UTF-8 nor GB18030 text"
            ) from None
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as exc:
        raise ServiceError("unreadable_class_list", f"file: not a readable CSV ({exc})") from None


def _xlsx_records(content: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    _check_zip(content)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ServiceError(
            "unreadable_class_list", f"file: not a readable .xlsx workbook ({exc})"
        ) from None
    try:
        sheet = book.worksheets[0]
        # The sheet's own <dimension> is not believed: A1:XFD1048576 in a 5 KB file would
        # have the reader pad billions of empty cells. Rows are read as stored.
        sheet.reset_dimensions()
        for values in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            yield list(values)
    finally:
        book.close()


def _check_zip(content: bytes) -> None:
    """An .xlsx is a zip: refuse one that unpacks to more than a class list could be."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ServiceError(
            "unreadable_class_list", f"file: not a readable .xlsx workbook ({exc})"
        ) from None
    unpacked = sum(p.file_size for p in parts)
    if len(parts) > MAX_PARTS or unpacked > MAX_UNPACKED:
        raise ServiceError(
            "file_too_large",
            f"file: the workbook unpacks to {unpacked // 1024 // 1024} MB in {len(parts)} "
            f"parts, more than a class list may be ({MAX_UNPACKED // 1024 // 1024} MB)",
            status=413,
        )


def _cell(value: Any) -> tuple[str, bool]:
    """A cell as text, and whether a number cell lost digits (floats keep 15 or so)."""
    if value is None:
        return "", False
    if isinstance(value, bool):
        return ("1" if value else "0"), False
    if isinstance(value, int):
        return str(value), False
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value)), False
        return repr(value), True
    if isinstance(value, datetime):
        return value.date().isoformat(), False
    if isinstance(value, date):
        return value.isoformat(), False
    return str(value).strip(), False


def _header_field(text: str) -> str | None:
    tokens = {text.strip().lower().replace(" ", "")}
    tokens.update(t.strip().lower() for t in re.split(r"[()（）\s]+", text) if t.strip())
    for name, aliases in HEADERS.items():
        if any(a.replace(" ", "") in tokens for a in aliases):
            return name
    return None


def _rows(records: Iterator[list[Any]]) -> list[RawRow]:
    header: dict[int, str] | None = None
    rows: list[RawRow] = []
    for number, record in enumerate(records, start=1):
        if number > MAX_RECORDS:  # blank rows count: 5 MB of them is no class list
            raise ServiceError(
                "too_many_rows", f"file: more than {MAX_RECORDS} rows: split the list by grade"
            )
        cells = [_cell(v) for v in record[:MAX_COLUMNS]]
        if not any(text for text, _ in cells):
            continue
        if header is None:
            header = _header(cells, number)
            continue
        if len(rows) >= MAX_ROWS:
            raise ServiceError(
                "too_many_rows", f"file: more than {MAX_ROWS} rows: split the list by grade"
            )
        values = dict.fromkeys(header.values(), "")
        lossy = set()
        for index, name in header.items():
            if index < len(cells):
                values[name], lost = cells[index]
                if lost:
                    lossy.add(name)
        rows.append(RawRow(number, values, frozenset(lossy)))
    if header is None:
        raise ServiceError("empty_class_list", "file: the file is empty (no header row)")
    if not rows:
        raise ServiceError("empty_class_list", "file: the list has a header but no pupils")
    return rows


def _header(cells: list[tuple[str, bool]], number: int) -> dict[int, str]:
    found: dict[int, str] = {}
    for index, (text, _) in enumerate(cells):
        name = _header_field(text)
        if name is None:
            continue  # other columns (a pupil number, notes) are the school's own
        if name in found.values():
            raise ServiceError(
                "invalid_header", f"file: row {number} names the column {name} twice"
            )
        found[index] = name
    missing = [name for name in REQUIRED if name not in found.values()]
    if missing:
        wanted = "; ".join(f"{name} ({HEADERS[name][0]})" for name in missing)
        raise ServiceError(
            "invalid_header",
            f"file: the header row (row {number}) lacks the column(s) {wanted}; "
            "download the template for the expected columns",
            missing=missing,
        )
    return found


# --- checking ----------------------------------------------------------------------------


def normal_phone(text: str) -> str:
    """Spaces and dashes out, and a +86 or 0086 country code."""
    phone = re.sub(r"[\s\-]", "", text)
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix) :]
    return phone


def check_rows(
    rows: Iterable[RawRow],
    *,
    year: int,
    max_age: int,
    today: date,
    progress: Progress | None = None,
    total: int = 0,
) -> Checked:
    """Every row's own checks, then duplicates within the file (each repeat names the
    row where the number first appears)."""
    out = Checked()
    first_row: dict[str, int] = {}
    for done, raw in enumerate(rows, start=1):
        pupil, errors, number = check_row(raw, year=year, max_age=max_age, today=today)
        if number is not None:
            if number in first_row:
                errors.append(
                    RowError(
                        raw.row,
                        number,
                        "id_number",
                        "duplicate_in_file",
                        f"the ID number is also on row {first_row[number]} of this file",
                    )
                )
                pupil = None
            else:
                first_row[number] = raw.row
                out.valid_ids[raw.row] = number
        out.errors.extend(errors)
        if pupil is not None and not errors:
            out.pupils.append(pupil)
        if progress is not None and done % 1000 == 0:
            progress(done, total)
    return out


Report = Callable[[str, str, str], None]  # a row's error: field, code, reason


def check_row(
    raw: RawRow, *, year: int, max_age: int, today: date
) -> tuple[Pupil | None, list[RowError], str | None]:
    """A row's own checks: the pupil (if all pass), its errors, and its ID number if valid."""
    cells = raw.cells
    shown = cells.get("id_number", "").strip().upper()
    errors: list[RowError] = []

    def error(name: str, code: str, reason: str) -> None:
        errors.append(RowError(raw.row, shown, name, code, reason))

    number, birth, sex = _identity(raw, shown, error)
    if birth is not None and not _plausible_age(birth, year, max_age, today, error):
        number = None
    name = _name_and_texts(cells, error)
    phone = _guardian_phone(raw, error)
    assistance = _assistance(cells, error)
    if errors or number is None or birth is None:
        return None, errors, number
    pupil = Pupil(
        row=raw.row,
        id_number=number,
        name=name,
        birth_date=birth,
        sex=sex,
        class_name=cells.get("class_name", "").strip(),
        guardian_name=cells.get("guardian_name", "").strip(),
        guardian_phone=phone,
        assistance=assistance,
    )
    return pupil, errors, number


def _identity(raw: RawRow, shown: str, error: Report) -> tuple[str | None, date | None, str]:
    """The ID number, and the birth date and sex it carries, if it is one."""
    if "id_number" in raw.lossy:
        error(
            "id_number",
            "invalid_id_number",
            "the ID number was stored as a number and lost its last digits: format the column as text and type it again",
        )
    elif not shown:
        error("id_number", "invalid_id_number", "the ID number is empty")
    else:
        try:
            parsed = parse_resident_id(shown)
        except ResidentIdError as exc:
            error("id_number", "invalid_id_number", f"{exc}")
        else:
            return parsed.number, parsed.birth_date, parsed.sex
    return None, None, ""


def _plausible_age(birth: date, year: int, max_age: int, today: date, error: Report) -> bool:
    """False when the birth date cannot be right (the number is then not taken as
    valid); a pupil too old for the student scheme is an error, the number still valid."""
    start = date(year, 1, 1)
    if birth > today or birth.year < 1900:
        error(
            "id_number",
            "implausible_birth_date",
            f"the birth date inside the number ({birth.isoformat()}) cannot be right",
        )
        return False
    if age_on(birth, start) >= max_age:
        error(
            "id_number",
            "too_old",
            f"born {birth.isoformat()}: {age_on(birth, start)} on {start.isoformat()}; "
            f"the student scheme is for children under {max_age}",
        )
    return True


def _name_and_texts(cells: dict[str, str], error: Report) -> str:
    """The name (not empty, not the template's example), and every cell's length and
    characters."""
    name = cells.get("name", "").strip()
    if not name:
        error("name", "empty_name", "the name is empty")
    elif name.startswith(EXAMPLE_MARK):
        error("name", "example_row", "this is the template's example row: delete it")
    for key, limit in _LIMITS.items():
        if len(cells.get(key, "").strip()) > limit:
            error(key, "too_long", f"{key}: at most {limit} characters")
    for key, text in cells.items():
        problem = text_problem(text)
        if problem is not None:
            error(key, "invalid_text", f"{key}: {problem}")
    return name


def _guardian_phone(raw: RawRow, error: Report) -> str:
    cells = raw.cells
    phone = normal_phone(cells.get("guardian_phone", ""))
    if "guardian_phone" in raw.lossy or (phone and not _MOBILE.fullmatch(phone)):
        error(
            "guardian_phone",
            "invalid_guardian_phone",
            f"{cells.get('guardian_phone', '')!r} is not an 11-digit mainland mobile number (1[3-9]…)",
        )
    elif not phone:
        error("guardian_phone", "missing_guardian_phone", "the guardian's phone is missing")
    return phone


def _assistance(cells: dict[str, str], error: Report) -> bool:
    flag = cells.get("assistance", "").strip().lower()
    assistance = flag in _YES
    if not assistance and flag not in _NO:
        error(
            "assistance",
            "invalid_assistance",
            f"{cells.get('assistance', '')!r}: write 是 or 否 (yes or no)",
        )
    return assistance


# --- the template ------------------------------------------------------------------------


def template_csv() -> bytes:
    """The header and one example row, UTF-8 with a BOM so that Excel opens it right."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(TEMPLATE_HEADERS)
    writer.writerow(TEMPLATE_EXAMPLE)
    return out.getvalue().encode("utf-8-sig")


def template_xlsx() -> bytes:
    """The same as a workbook, with the ID number and phone columns formatted as text (a
    number cell would turn an 18-digit ID number into 1.10101E+17)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "class list"
    sheet.append(list(TEMPLATE_HEADERS))
    sheet.append(list(TEMPLATE_EXAMPLE))
    for letter, width in zip("ABCDEF", (24, 20, 14, 14, 18, 12), strict=True):
        sheet.column_dimensions[letter].width = width
        if letter in "AE":
            for row in range(2, 1002):
                sheet[f"{letter}{row}"].number_format = "@"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
