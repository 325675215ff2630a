"""Request and response shapes of premium collection and cards."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field

from yibao.entrypoints.api.responses import Amount
from yibao.entrypoints.api.schemas import Strict

Year = Annotated[int, Field(ge=2000, le=2100)]
RegionCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]
CardNumber = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$")]
Day = Annotated[str | None, Field(examples=["2026-10-19"])]


class OpenAccountsIn(Strict):
    region: RegionCode
    year: Year


class AccountCounts(BaseModel):
    open: int
    paid: int
    exempt: int


class OpenAccountsOut(BaseModel):
    region: str
    year: int
    opened: int = Field(description="Accounts opened now for the bank to collect on")
    exempt: int = Field(description="Exempt enrolments made active now, without the bank")
    cards_ordered: int
    amount_due: Amount = Field(description="The personal parts due on the accounts opened now")
    accounts: AccountCounts = Field(description="All accounts of the region's year by status")


class ImportLineOut(BaseModel):
    line: int = Field(description="The line number in the file (the header is line 1)")
    account: str
    amount: Amount | None
    date: Day
    bank_status: str
    outcome: str = Field(
        description="paid | already_paid | unknown_account | amount_mismatch | failed_at_bank "
        "| enrolment_cancelled | invalid"
    )
    message: str


class BankImportOut(BaseModel):
    id: int
    file_name: str
    sha256: str
    region: str | None
    imported_by: str
    imported_at: str
    lines: int
    counts: dict[str, int] = Field(description="Lines per outcome")
    report: list[ImportLineOut] = Field(
        description="On import: every line that was not paid; on look-up: the lines asked for"
    )


class CardOut(BaseModel):
    number: str
    person_id: str
    status: str = Field(description="ordered | active | lost | replaced")
    ordered_on: Day
    due_on: Day
    issued_on: Day
    lost_on: Day
    replaced_by: str | None
    replaces: str | None


class ReplacementOut(BaseModel):
    old: CardOut
    new: CardOut


class OverdueCardOut(BaseModel):
    number: str
    person_id: str
    name: str
    ordered_on: Day
    due_on: str
    days_overdue: int = Field(description="Calendar days since the due date")
    replaces: str | None


class OverdueOut(BaseModel):
    region: str
    today: str
    cards: list[OverdueCardOut]
