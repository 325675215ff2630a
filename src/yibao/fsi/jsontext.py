"""JSON text with exact decimals: amounts go out as numbers with their two decimals
(`12.50`, not `12.5`), and come in as Decimal, never float."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        keys = sorted(value) if sort_keys else list(value)
        return (
            "{"
            + ",".join(
                f"{json.dumps(str(k), ensure_ascii=False)}:{dumps(value[k], sort_keys=sort_keys)}"
                for k in keys
            )
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v, sort_keys=sort_keys) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)
