"""Text people type: what no field of ours may hold.

NUL cannot be stored by PostgreSQL; other control characters and the Unicode direction
controls (right-to-left overrides and isolates) have no use in a name, a diagnosis or a
reason, and the direction controls make stored text display as something else than it is
(a name that reads 张三 but sorts and compares as another). Lone surrogates cannot be
encoded at all. One check, used by every request model, form and uploaded file.
"""

from __future__ import annotations

import re
from typing import Any

_FORBIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # C0 and C1 control characters, DEL
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # direction marks, overrides, isolates
    "\ud800-\udfff"  # lone surrogates
    "\ufeff\ufffe\uffff]"  # byte order mark, non-characters
)


def text_problem(value: str) -> str | None:
    """What is wrong with the text, in words naming the character, or None."""
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    char = found.group()
    kind = (
        "a direction control"
        if char in "\u061c\u200e\u200f"
        or "\u202a" <= char <= "\u202e"
        or "\u2066" <= char <= "\u2069"
        else "a control character"
    )
    return f"contains {kind} (U+{ord(char):04X}), which text may not hold"


def check_text(value: Any) -> Any:
    """The value unchanged if no text in it (strings, lists, mappings) is refused; else
    ValueError saying which character."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise ValueError(problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_text(item)
    elif isinstance(value, list | tuple):
        for item in value:
            check_text(item)
    return value
