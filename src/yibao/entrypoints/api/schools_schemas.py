"""Request and response bodies of school batch enrolment."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from yibao.entrypoints.api.schemas import Strict

Text = r"^[^\x00-\x1f]*$"


class SchoolIn(Strict):
    id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    name: str = Field(min_length=1, max_length=200, pattern=Text)
    region: str = Field(min_length=1, max_length=64)


class SchoolOut(BaseModel):
    id: str
    region: str
    name: str


class RowIn(Strict):
    """A corrected row, every field as it would be in the class list."""

    id_number: str = Field(max_length=18)
    name: str = Field(max_length=100, pattern=Text)
    class_name: str = Field(default="", max_length=50, pattern=Text)
    guardian_name: str = Field(default="", max_length=100, pattern=Text)
    guardian_phone: str = Field(max_length=20)
    assistance: bool = False

    def cells(self) -> dict[str, str]:
        values = self.model_dump()
        values["assistance"] = "1" if self.assistance else "0"
        return {k: str(v) for k, v in values.items()}


class ReturnIn(Strict):
    row: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=500, pattern=Text)


class ReviewIn(Strict):
    """Rows to accept, rows to return with a reason each; accept_all accepts every
    submitted row not returned."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    accept: list[int] = Field(default_factory=list, max_length=50_000)
    returns: list[ReturnIn] = Field(default_factory=list, alias="return", max_length=50_000)
    accept_all: bool = False


class RowErrorOut(BaseModel):
    row: int
    id_number: str
    field: str
    code: str
    reason: str


class CountsOut(BaseModel):
    imported: int
    declared: int
    submitted: int
    accepted: int
    returned: int


class BatchOut(BaseModel):
    id: int
    school_id: str
    year: int
    status: str
    file_name: str
    rows: int
    created_by: str
    created_at: str
    submitted_at: str | None
    reviewed_at: str | None
    counts: CountsOut


class ReportOut(BaseModel):
    """An upload's report. A rejected upload answers 422 with code invalid_rows and this
    report (ok false, batch null) as the error's details."""

    ok: bool
    message: str
    rows: int
    bad_rows: int
    errors: list[RowErrorOut]
    batch: BatchOut | None


class RowOut(BaseModel):
    batch_id: int
    row: int
    id_number: str
    name: str
    birth_date: str
    sex: str
    class_name: str
    guardian_name: str
    guardian_phone: str
    assistance: bool
    status: str
    return_reason: str | None
    person_id: str | None
    declared_by: str | None
    declared_at: str | None


class GuardianRowOut(RowOut):
    school_id: str
    school_name: str
    year: int


class RowsOut(BaseModel):
    batch: BatchOut
    offset: int
    rows: list[RowOut]


class SubmissionOut(BaseModel):
    batch: BatchOut
    submitted: list[int]
    not_declared: list[int]


class AcceptedOut(BaseModel):
    row: int
    person_id: str


class ReviewOut(BaseModel):
    batch: BatchOut
    accepted: list[AcceptedOut]
    returned: list[int]


def report_example() -> dict[str, Any]:
    return {
        "code": "invalid_rows",
        "message": "1 of 40 rows have errors; nothing was imported: correct them and upload "
        "the whole list again",
        "details": {
            "ok": False,
            "rows": 40,
            "bad_rows": 1,
            "errors": [
                {
                    "row": 7,
                    "id_number": "110101201503010016",
                    "field": "id_number",
                    "code": "invalid_id_number",
                    "reason": "the check character is 6, it should be 5",
                }
            ],
            "batch": None,
        },
    }
