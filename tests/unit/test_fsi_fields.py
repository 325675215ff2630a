"""Reading a message's fields faster reads them as before: a time by `wall_clock` is what
strptime made of it, and a text with a control character is refused as before."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.fsi.fields import Fields, FsiError, parse_day, wall_clock

FORMAT = "%Y-%m-%d %H:%M:%S"
times = st.datetimes()  # naive, years 1 to 9999
near = st.text(alphabet="0123456789-: T٣", min_size=17, max_size=21)  # ٣: a non-ASCII digit


def strptime(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, FORMAT)  # noqa: DTZ007
    except ValueError:
        return None


@given(times)
def test_a_wall_clock_time_is_read_as_strptime_reads_it(moment: datetime) -> None:
    text = f"{moment.year:04d}-{moment:%m-%d %H:%M:%S}"
    assert wall_clock(text) == strptime(text) == moment.replace(microsecond=0)


@given(near)
def test_what_it_reads_strptime_reads_the_same(text: str) -> None:
    found = wall_clock(text)
    if found is not None:  # otherwise the caller asks strptime, as before
        assert found == strptime(text)


def test_days_and_control_characters() -> None:
    assert parse_day("2026-02-28 23:59:59", "x").isoformat() == "2026-02-28"
    assert wall_clock("2026-02-30 10:00:00") is None  # no such day: strptime decides
    assert parse_day("2026-3-1 1:2:3", "x").isoformat() == "2026-03-01"  # unpadded
    with pytest.raises(FsiError, match="控制字符"):
        Fields({"a": "x\x1fy"}, "").text("a")
    assert Fields({"a": " x\x7fy "}, "").text("a") == "x\x7fy"
