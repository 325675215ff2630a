"""Reading a message's fields: every problem is an FsiError naming the field, in Chinese."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from yibao.fsi.codes import label


class FsiError(Exception):
    """A message that cannot be answered: infcode -1 with this err_msg."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def missing(path: str) -> FsiError:
    return FsiError(f"缺少必填字段 {label(path)}")


def wrong_type(path: str, what: str) -> FsiError:
    return FsiError(f"字段 {label(path)} 类型错误：应为{what}")


def invalid(path: str, why: str) -> FsiError:
    return FsiError(f"字段 {label(path)} 取值无效：{why}")


_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y%m%d%H%M%S")
# A character below U+0020 (what `any(ord(c) < 32 ...)` looked for, a character at a time:
# a tenth of a message's CPU, in the twenty-odd fields a message has).
_CONTROL = re.compile(r"[\x00-\x1f]")
# A field's pattern compiled once (re.fullmatch looks it up in re's own cache each call).
_pattern = lru_cache(maxsize=None)(re.compile)


def wall_clock(value: str) -> datetime | None:
    """A time written yyyy-MM-dd HH:mm:ss (as nearly every message writes them) read
    without strptime, which costs ten times as much; anything else (or no such moment):
    None, and the caller reads it with strptime as before."""
    if not (len(value) == 19 and value.isascii() and value[4] == value[7] == "-"):
        return None
    if value[10] != " " or value[13] != ":" or value[16] != ":":
        return None
    y, mo, d, h, mi, s = (
        value[0:4],
        value[5:7],
        value[8:10],
        value[11:13],
        value[14:16],
        value[17:19],
    )
    if not (y + mo + d + h + mi + s).isdigit():
        return None
    try:  # a local wall-clock time
        return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))  # noqa: DTZ001
    except ValueError:
        return None


class Fields:
    """A JSON object at `path` (`input.data`), read field by field."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise wrong_type(path, "JSON对象") if data is not None else missing(path)
        self.data: dict[str, Any] = data
        self.path = path

    def at(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _raw(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise missing(self.at(name))
            return None
        return value

    def text(
        self, name: str, *, required: bool = True, max_len: int = 64, pattern: str | None = None
    ) -> str | None:
        value = self.data.get(name)
        if type(value) is str:  # the usual case, at once (some 20 fields a message)
            found = value.strip()
            if (
                found
                and len(found) <= max_len
                and not _CONTROL.search(found)
                and (pattern is None or _pattern(pattern).fullmatch(found))
            ):
                return found
        # Anything else, or a string refused: below, which says why.
        value = self._raw(name, required)
        if value is None:
            return None
        if isinstance(value, Decimal):  # a number where the spec has a string: its digits
            value = format(value, "f")
        elif isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise wrong_type(self.at(name), "字符串")
        value = value.strip()
        if not value:
            if required:
                raise missing(self.at(name))
            return None
        if len(value) > max_len:
            raise invalid(self.at(name), f"长度不能超过{max_len}")
        if _CONTROL.search(value):
            raise invalid(self.at(name), "不能包含控制字符")
        if pattern is not None and not _pattern(pattern).fullmatch(value):
            raise invalid(self.at(name), f"{value!r} 格式不符")
        return value

    def req(self, name: str, *, max_len: int = 64, pattern: str | None = None) -> str:
        value = self.text(name, max_len=max_len, pattern=pattern)
        assert value is not None
        return value

    def one_of(self, name: str, allowed: dict[str, str] | tuple[str, ...]) -> str:
        value = self.req(name, max_len=8)
        if value not in allowed:
            shown = (
                "、".join(f"{k} {v}" for k, v in allowed.items())
                if isinstance(allowed, dict)
                else "、".join(allowed)
            )
            raise invalid(self.at(name), f"{value!r} 不是可用的代码（可用：{shown}）")
        return value

    def decimal(
        self, name: str, *, places: int = 2, required: bool = True, negative: bool = False
    ) -> Decimal | None:
        """A JSON number or a numeric string; exact, at most `places` decimals."""
        value = self._raw(name, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            raise wrong_type(self.at(name), "数值")
        text = str(value).strip()
        if not re.fullmatch(r"-?\d{1,12}(\.\d+)?", text):
            raise wrong_type(self.at(name), "数值")
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            raise wrong_type(self.at(name), "数值") from None
        exponent = number.normalize().as_tuple().exponent
        assert isinstance(exponent, int)
        if -exponent > places:
            raise invalid(self.at(name), f"{text} 超过{places}位小数")
        if number < 0 and not negative:
            raise invalid(self.at(name), f"{text} 不能为负数")
        return number

    def amount(self, name: str, *, places: int = 2, negative: bool = False) -> Decimal:
        value = self.decimal(name, places=places, negative=negative)
        assert value is not None
        return value

    def day(self, name: str, *, required: bool = True) -> date | None:
        value = self.text(name, required=required, max_len=32)
        if value is None:
            return None
        return parse_day(value, self.at(name))

    def obj(self, name: str, *, required: bool = True) -> Fields | None:
        value = self.data.get(name)
        if value is None and not required:
            return None
        return Fields(value, self.at(name))

    def items(self, name: str, *, required: bool = True, max_items: int = 1000) -> list[Fields]:
        value = self.data.get(name)
        if value is None or value == []:
            if required:
                raise missing(self.at(name))
            return []
        if isinstance(value, dict):  # a single object where a list is meant: common in HIS code
            return [Fields(value, self.at(name))]
        if not isinstance(value, list):
            raise wrong_type(self.at(name), "JSON数组")
        if len(value) > max_items:
            raise invalid(self.at(name), f"一次最多{max_items}条")
        return [Fields(v, f"{self.at(name)}[{i}]") for i, v in enumerate(value)]


def parse_day(value: str, path: str) -> date:
    """A date or a date-time as the interface writes them: the date part is what counts."""
    moment = wall_clock(value)
    if moment is not None:
        return moment.date()
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a local wall-clock time
        except ValueError:
            continue
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(path, f"{value!r} 不是日期（yyyy-MM-dd HH:mm:ss）") from None
