from __future__ import annotations

from datetime import date

import pytest

from yibao.domain.ids import ResidentIdError, check_character, make_resident_id, parse_resident_id
from yibao.domain.registry import PersonRecord


def test_a_published_sample_number_validates() -> None:
    number = parse_resident_id("11010519491231002x")  # lower-case x is accepted
    assert number.number == "11010519491231002X"
    assert (number.address_code, number.birth_date, number.sex) == (
        "110105",
        date(1949, 12, 31),
        "F",
    )


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("11010519491231002", "18 characters"),
        ("1101051949123100XX", "17 digits"),
        ("110105194902300021", "not a date"),
        ("110105194912310021", "check character is 1, it should be X"),
    ],
)
def test_a_wrong_number_says_what_is_wrong(raw: str, says: str) -> None:
    with pytest.raises(ResidentIdError, match=says):
        parse_resident_id(raw)


def test_every_single_digit_change_is_caught_by_the_check_character() -> None:
    number = make_resident_id("990100", date(2012, 6, 1), 7)
    for i in range(17):
        for d in "0123456789":
            if d == number[i]:
                continue
            changed = number[:i] + d + number[i + 1 :]
            assert check_character(changed[:17]) != changed[17]


def test_a_person_record_must_match_its_number() -> None:
    number = make_resident_id("990100", date(2012, 6, 1), 7)  # odd sequence: M
    PersonRecord("P", number, "x", date(2012, 6, 1), "M", "sample-city")
    with pytest.raises(ResidentIdError, match="born 2012-06-01"):
        PersonRecord("P", number, "x", date(2012, 6, 2), "M", "sample-city")
    with pytest.raises(ResidentIdError, match="sex M"):
        PersonRecord("P", number, "x", date(2012, 6, 1), "F", "sample-city")
