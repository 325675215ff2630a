"""JSON text with exact decimals: amounts go out as numbers with their two decimals
(`12.50`, not `12.5`), and come in as Decimal, never float.

`dumps` writes with orjson (a Decimal as its own digits, an orjson Fragment) the very text
the plain writer below writes: no spaces, non-ASCII as it is, the same escapes. Whatever
orjson writes otherwise or not at all (a float — only NaN and Infinity come in, as
`Constant` —, an int past 64 bits, a lone surrogate, a date, a key that is no string)
goes to the plain writer, so that every text, and every request hash of a stored message,
stays what it was. The plain writer calling json.dumps for each value cost a message about
a tenth of the national interface's CPU.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson

# Dates, datetimes and dataclasses go to `_raw`, which refuses them as json.dumps did.
_PASS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_SORTED = _PASS | orjson.OPT_SORT_KEYS


class Constant(float):
    """NaN, Infinity or -Infinity in a message (not JSON, but Python's reader takes them):
    a float, as before, that orjson does not write, so the plain writer does ("NaN")."""


def _raw(value: Any) -> orjson.Fragment:
    if type(value) is Decimal:
        return orjson.Fragment(format(value, "f"))
    raise TypeError(type(value).__name__)


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    try:
        return orjson.dumps(value, default=_raw, option=_SORTED if sort_keys else _PASS).decode()
    except TypeError:  # orjson.JSONEncodeError too
        return plain_dumps(value, sort_keys=sort_keys)


def plain_dumps(value: Any, *, sort_keys: bool = False) -> str:
    """The writer `dumps` agrees with, value by value (and its fallback)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        keys = sorted(value) if sort_keys else list(value)
        return (
            "{"
            + ",".join(
                f"{json.dumps(str(k), ensure_ascii=False)}:"
                f"{plain_dumps(value[k], sort_keys=sort_keys)}"
                for k in keys
            )
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(plain_dumps(v, sort_keys=sort_keys) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal, parse_constant=Constant)
