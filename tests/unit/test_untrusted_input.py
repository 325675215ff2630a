"""Untrusted files and text are bounded before work starts: a class list cannot make the
reader pad billions of cells or walk millions of blank rows, and no text anywhere may
hold NUL, control characters or direction overrides."""

from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]

from yibao.domain.ids import make_resident_id
from yibao.domain.text import check_text, text_problem
from yibao.service.class_lists import MAX_RECORDS, RawRow, check_row, read_class_list
from yibao.service.errors import ServiceError

PUPIL = make_resident_id("990100", date(2015, 3, 1), 11)
HEADER = ("身份证号", "姓名", "监护人电话")


def _xlsx(rows: list[tuple[str, ...]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_dimension(content: bytes, ref: str) -> bytes:
    """The same workbook, its first sheet claiming another <dimension>."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(
                    rb'<dimension ref="[^"]*" ?/>', f'<dimension ref="{ref}"/>'.encode(), data
                )
                assert ref.encode() in data
            target.writestr(item, data)
    return out.getvalue()


def test_a_5_kb_workbook_claiming_every_cell_of_the_sheet_is_read_fast() -> None:
    content = _with_dimension(_xlsx([HEADER, (PUPIL, "小明", "13912345678")]), "A1:XFD1048576")
    assert len(content) < 8 * 1024
    start = time.perf_counter()
    rows = read_class_list("list.xlsx", content)
    assert time.perf_counter() - start < 2.0
    assert [(r.row, r.cells["name"]) for r in rows] == [(2, "小明")]


def test_blank_rows_count_toward_the_bound() -> None:
    text = ",".join(HEADER) + "\n" + "\n" * (MAX_RECORDS + 5) + f"{PUPIL},小明,13912345678\n"
    start = time.perf_counter()
    with pytest.raises(ServiceError) as refused:
        read_class_list("list.csv", text.encode())
    assert refused.value.code == "too_many_rows"
    assert time.perf_counter() - start < 2.0


def test_a_workbook_that_unpacks_to_too_much_is_refused_before_it_is_read() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<" + b" " * (120 * 1024 * 1024) + b">")
    assert len(out.getvalue()) < 1024 * 1024
    with pytest.raises(ServiceError) as refused:
        read_class_list("bomb.xlsx", out.getvalue())
    assert refused.value.code == "file_too_large"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "小\x00明"),
        ("name", "\u202e明小"),
        ("guardian_name", "王\x07芳"),
        ("class_name", "三年级\u20662班"),
    ],
)
def test_a_cell_with_nul_control_or_direction_characters_is_a_row_error(
    field: str, value: str
) -> None:
    cells = {"id_number": PUPIL, "name": "小明", "guardian_phone": "13912345678", field: value}
    pupil, errors, _ = check_row(RawRow(2, cells), year=2027, max_age=18, today=date(2026, 10, 1))
    assert pupil is None
    assert [(e.field, e.code) for e in errors] == [(field, "invalid_text")]
    assert "U+" in errors[0].reason


@pytest.mark.parametrize(
    "text",
    [
        "\x00",
        "a\x1fb",
        "\x7f",
        "\x85",
        "\u202a",
        "\u202e",
        "\u2066",
        "\u2069",
        "\u200f",
        "\ud800",
        "\ufeff",
    ],
)
def test_what_text_may_not_hold(text: str) -> None:
    assert text_problem(text) is not None
    with pytest.raises(ValueError, match="U\\+"):
        check_text({"a": ["ok", text]})


@pytest.mark.parametrize(
    "text", ["张三", "O'Brien-Smith", "K35.8", "ﾃｽﾄ", "emoji 😀", "阿卜杜拉·买买提"]
)
def test_what_text_may_hold(text: str) -> None:
    assert text_problem(text) is None
    assert check_text(text) == text
