"""Class lists read and checked without a database: encodings, headers, sheet row
numbers, spreadsheet number cells, and each row check."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]

from yibao.domain.ids import make_resident_id
from yibao.service import class_lists
from yibao.service.class_lists import RawRow, check_row, check_rows, read_class_list
from yibao.service.errors import ServiceError

PUPIL = make_resident_id("990100", date(2015, 3, 1), 11)
TODAY = date(2026, 10, 15)


def cells(**change: str) -> dict[str, str]:
    values = {
        "id_number": PUPIL,
        "name": "小明",
        "class_name": "三年级2班",
        "guardian_name": "王芳",
        "guardian_phone": "13912345678",
        "assistance": "",
    }
    values.update(change)
    return values


def codes(**change: str) -> list[str]:
    _, errors, _ = check_row(RawRow(2, cells(**change)), year=2027, max_age=18, today=TODAY)
    return [e.code for e in errors]


def test_gb18030_csv_with_english_headers_blank_rows_and_sheet_numbers() -> None:
    text = f"ID Number,Name,Guardian_Phone,学号\n\n{PUPIL},小明,13912345678,A1\n,,,\n"
    rows = read_class_list("list.csv", text.encode("gb18030"))
    assert rows == [
        RawRow(3, {"id_number": PUPIL, "name": "小明", "guardian_phone": "13912345678"})
    ]


def test_tab_separated_and_bilingual_headers() -> None:
    text = f"身份证号 (id_number)\t姓名 (name)\t监护人电话 (guardian_phone)\n{PUPIL}\t小明\t139 1234 5678\n"
    (only,) = read_class_list("list.txt", text.encode("utf-8-sig"))
    assert only.cells["guardian_phone"] == "139 1234 5678"


def test_a_header_without_a_required_column_names_it() -> None:
    with pytest.raises(ServiceError) as caught:
        read_class_list("a.csv", "姓名,班级\n小明,1\n".encode())
    assert caught.value.code == "invalid_header"
    assert caught.value.details["missing"] == ["id_number", "guardian_phone"]


def test_the_old_excel_format_is_refused_by_name() -> None:
    with pytest.raises(ServiceError, match=r"\.xls\) is not read"):
        read_class_list("list.xls", b"\xd0\xcf\x11\xe0")


def test_too_many_rows_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(class_lists, "MAX_ROWS", 2)
    body = "身份证号,姓名,监护人电话\n" + "".join(f"{PUPIL},x,13912345678\n" for _ in range(3))
    with pytest.raises(ServiceError) as caught:
        read_class_list("a.csv", body.encode())
    assert caught.value.code == "too_many_rows"


def test_an_id_number_kept_as_a_spreadsheet_number_is_reported_as_such() -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["身份证号", "姓名", "监护人电话"])
    sheet.append([float(PUPIL), "小明", 13912345678])
    out = io.BytesIO()
    book.save(out)
    (only,) = read_class_list("a.xlsx", out.getvalue())
    assert only.lossy == frozenset({"id_number"})
    assert only.cells["guardian_phone"] == "13912345678"
    _, errors, number = check_row(only, year=2027, max_age=18, today=TODAY)
    assert number is None
    assert [e.reason for e in errors] == [
        "the ID number was stored as a number and lost its last digits: format the column as text and type it again"
    ]


def test_a_good_row_becomes_a_pupil() -> None:
    pupil, errors, number = check_row(
        RawRow(7, cells(guardian_phone="+86 139-1234-5678", assistance="是")),
        year=2027,
        max_age=18,
        today=TODAY,
    )
    assert errors == []
    assert number == PUPIL
    assert pupil is not None
    assert (pupil.row, pupil.birth_date, pupil.sex) == (7, date(2015, 3, 1), "M")
    assert (pupil.guardian_phone, pupil.assistance) == ("13912345678", True)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"id_number": PUPIL[:17] + ("0" if PUPIL[17] != "0" else "1")}, ["invalid_id_number"]),
        ({"id_number": ""}, ["invalid_id_number"]),
        ({"id_number": make_resident_id("990100", date(2009, 1, 1), 1)}, ["too_old"]),
        ({"id_number": make_resident_id("990100", date(2009, 1, 2), 1)}, []),  # 17 on 1 January
        (
            {"id_number": make_resident_id("990100", date(2027, 1, 1), 1)},
            ["implausible_birth_date"],
        ),
        ({"guardian_phone": ""}, ["missing_guardian_phone"]),
        ({"guardian_phone": "12912345678"}, ["invalid_guardian_phone"]),
        ({"guardian_phone": "1391234567"}, ["invalid_guardian_phone"]),
        ({"name": ""}, ["empty_name"]),
        ({"name": "示例 Example"}, ["example_row"]),
        ({"class_name": "x" * 51}, ["too_long"]),
        ({"assistance": "否"}, []),
        ({"assistance": "perhaps"}, ["invalid_assistance"]),
        ({"name": "", "guardian_phone": ""}, ["empty_name", "missing_guardian_phone"]),
    ],
)
def test_each_row_check(change: dict[str, str], expected: list[str]) -> None:
    assert codes(**change) == expected


def test_every_repeat_of_a_number_names_its_first_row() -> None:
    rows = [RawRow(n, cells()) for n in (2, 3, 4)]
    checked = check_rows(rows, year=2027, max_age=18, today=TODAY)
    assert [p.row for p in checked.pupils] == [2]
    assert [(e.row, e.reason) for e in checked.errors] == [
        (3, "the ID number is also on row 2 of this file"),
        (4, "the ID number is also on row 2 of this file"),
    ]
    assert checked.valid_ids == {2: PUPIL}
