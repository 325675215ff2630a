"""What the file loaders share: strict field types and readable validation errors.

Policy files and scenario files are written by people; an error names the file and the
place (`encounters[2].date`) in words, not Pydantic's codes.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError


def _day(raw: object) -> date:
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise ValueError(f"{raw!r} is not a date (write YYYY-MM-DD)")


def _whole(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ValueError(f"{raw!r} is not a whole number of 0 or more")
    return raw


Day = Annotated[date, BeforeValidator(_day)]
Whole = Annotated[int, BeforeValidator(_whole)]


class Strict(BaseModel):
    """A file section: unknown keys are errors, values do not change once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def where(loc: tuple[int | str, ...]) -> str:
    """A Pydantic error location as a path a person reads: `inpatient.rate[1].brackets[0]`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def problems(exc: ValidationError, name: str) -> list[str]:
    """One line per problem: `file: place: what is wrong`."""
    lines = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"{name}: {where(tuple(err['loc']))}: {msg}")
    return lines
