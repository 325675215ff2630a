"""Scenario files (YAML or JSON): one person's year, the bills, and what policy must pay.

The format is described in docs/scenarios.md (after the shared scenario-format.md).
Parsing is strict: an unknown key, class, kind, level or scheme or a negative amount is
an error naming the file and the place. A date outside the year is one too, found when the
scenario runs (service/scenarios.py): the region says which days its year has.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, model_validator

from yibao.adapters.strict_yaml import YamlError, load_text
from yibao.adapters.validation import Day, Strict, Whole, problems
from yibao.domain.model import (
    Approval,
    CategorySpan,
    Encounter,
    Filing,
    Hospital,
    Kind,
    Line,
    LineClass,
    Person,
    Scheme,
)
from yibao.domain.money import parse_amount, parse_decimal, round_fen
from yibao.service.ports.files import (
    Expectations,
    ExpectedEncounter,
    ExpectedYear,
    Scenario,
)


class ScenarioError(ValueError):
    """A scenario file that cannot be read or does not follow the format."""


def _level(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw not in (0, 1, 2, 3):
        raise ValueError(f"level {raw!r} is not one of 0, 1, 2, 3")
    return raw


def _flag(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not true or false")
    return raw


def _quantity(raw: object) -> Decimal:
    value = parse_decimal(raw, max_places=6)
    if value < 0:
        raise ValueError(f"{raw!r} is negative")
    return value


def _price(raw: object) -> Decimal:
    value = parse_decimal(raw, max_places=6)
    if value < 0:
        raise ValueError(f"{raw!r} is negative")
    return value


def _ratio(raw: object) -> Decimal:
    value = parse_decimal(raw)
    if not 0 <= value <= 1:
        raise ValueError(f"{raw!r} is not a ratio between 0 and 1")
    return value


def _kind(raw: object) -> str:
    kinds = [k.value for k in Kind] + ["childbirth"]
    if raw not in kinds:
        raise ValueError(f"{raw!r} is not one of {', '.join(kinds)}")
    return str(raw)


KindIn = Annotated[str, BeforeValidator(_kind)]
Amount = Annotated[Decimal, BeforeValidator(parse_amount)]
Quantity = Annotated[Decimal, BeforeValidator(_quantity)]
Price = Annotated[Decimal, BeforeValidator(_price)]  # unit prices: the catalogues' 4-6 places
Ratio = Annotated[Decimal, BeforeValidator(_ratio)]
Level = Annotated[int, BeforeValidator(_level)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Name = Annotated[str, Field(min_length=1)]


class HospitalIn(Strict):
    id: Name
    level: Level
    designated: Flag = True
    region: Name | None = None
    pilot: Flag = False
    type: Literal["general", "tcm"] = "general"
    province: Literal["same", "other"] = "same"


class LineIn(Strict):
    """An amount of a class, or a catalogue item: quantity × unit price with its cap,
    first self-pay ratio and whether the bill is outside its payment restriction."""

    cls: LineClass = Field(alias="class")
    amount: Amount | None = None
    code: Name | None = None
    quantity: Quantity | None = None
    unit_price: Price | None = None
    cap: Price | None = None
    ratio: Ratio | None = None
    outside_restriction: Flag = False

    @model_validator(mode="after")
    def _amount_or_item(self) -> LineIn:
        if self.amount is not None and (self.quantity is not None or self.unit_price is not None):
            raise ValueError("give either amount, or quantity and unit_price, not both")
        if self.amount is None and (self.quantity is None or self.unit_price is None):
            raise ValueError("give an amount, or a quantity and a unit_price")
        if self.cap is not None and self.unit_price is None:
            raise ValueError("a cap needs a quantity and a unit_price")
        return self

    def line(self) -> Line:
        line = Line(
            self.cls,
            self.amount if self.amount is not None else Decimal(0),
            self.code,
            cap=self.cap,
            ratio=self.ratio,
            outside_restriction=self.outside_restriction,
        )
        if self.quantity is not None and self.unit_price is not None:
            amount = round_fen(self.quantity * self.unit_price)
            return replace(line, amount=amount, quantity=self.quantity, unit_price=self.unit_price)
        return line


class EncounterIn(Strict):
    id: Name
    date: Day
    kind: KindIn  # or childbirth: an inpatient stay with its delivery
    hospital: HospitalIn
    lines: list[LineIn] = Field(min_length=1)
    diagnosis: Name | None = None
    disease: Name | None = None
    referral: Flag = False
    prescription: Flag = True
    referred_from: Name | None = None
    accident: Flag = False
    delivery: Literal["natural", "caesarean"] | None = None

    @model_validator(mode="after")
    def _delivery(self) -> EncounterIn:
        if (self.kind == "childbirth") != (self.delivery is not None):
            raise ValueError("a childbirth gives its delivery (natural or caesarean), and only it")
        return self


class ApprovalIn(Strict):
    disease: Name
    hospital: Name
    valid_from: Day | None = Field(default=None, alias="from")
    valid_to: Day | None = Field(default=None, alias="to")


class FilingIn(Strict):
    region: Name
    valid_from: Day = Field(alias="from")
    valid_to: Day = Field(alias="to")


Category = Literal["general", "low_income", "special_hardship", "poverty_registered"]


class CategoryIn(Strict):
    category: Category
    valid_from: Day | None = Field(default=None, alias="from")
    valid_to: Day | None = Field(default=None, alias="to")


class PersonIn(Strict):
    id: Name
    birth_date: Day
    scheme: Scheme
    retired: Flag = False
    contribution_years: Whole | None = None
    assistance: Flag = False
    approvals: list[ApprovalIn] = Field(default_factory=list)
    filings: list[FilingIn] = Field(default_factory=list)
    category: Category | None = None  # for the whole year
    categories: list[CategoryIn] = Field(default_factory=list)  # or dated

    def spans(self) -> tuple[CategorySpan, ...]:
        whole = [CategorySpan(self.category)] if self.category is not None else []
        dated = [CategorySpan(c.category, c.valid_from, c.valid_to) for c in self.categories]
        return (*dated, *whole)


class ExpectEncounterIn(Strict):
    total: Amount | None = None
    over_limit: Amount | None = None
    full_self_pay: Amount | None = None
    first_self_pay: Amount | None = None
    eligible: Amount | None = None
    basic: Amount | None = None
    assistance: Amount | None = None
    institution: Amount | None = None
    personal: Amount | None = None
    refused: Flag | None = None


class ExpectYearIn(Strict):
    serious_illness: Amount | None = None
    personal: Amount | None = None


class ExpectIn(Strict):
    encounters: dict[str, ExpectEncounterIn] = Field(default_factory=dict)
    year: ExpectYearIn | None = None


class ScenarioIn(Strict):
    region: Name
    year: Whole
    person: PersonIn
    encounters: list[EncounterIn] = Field(default_factory=list)
    expect: ExpectIn | None = None


def parse_scenario(data: Any, name: str) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{name}: a scenario is a mapping with region, year, person, encounters"
        )
    try:
        raw = ScenarioIn.model_validate(data)
    except ValidationError as exc:
        found = problems(exc, name)
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ScenarioError(f"{found[0]}{more}") from None
    return _to_domain(raw, name)


def _to_domain(raw: ScenarioIn, name: str) -> Scenario:
    p = raw.person
    person = Person(
        id=p.id,
        birth_date=p.birth_date,
        scheme=p.scheme,
        region=raw.region,
        retired=p.retired,
        contribution_years=p.contribution_years,
        assistance=p.assistance,
        approvals=tuple(
            Approval(a.disease, a.hospital, a.valid_from, a.valid_to) for a in p.approvals
        ),
        filings=tuple(Filing(f.region, f.valid_from, f.valid_to) for f in p.filings),
        categories=p.spans(),
    )
    for i, f in enumerate(p.filings):
        if f.valid_to < f.valid_from:
            raise ScenarioError(
                f"{name}: person.filings[{i}]: ends ({f.valid_to}) before it starts"
            )
    seen: set[str] = set()
    encounters = []
    for i, e in enumerate(raw.encounters):
        where = f"{name}: encounters[{i}]"
        if e.id in seen:
            raise ScenarioError(f"{where}.id: {e.id!r} is used twice")
        seen.add(e.id)
        if e.date < p.birth_date:
            raise ScenarioError(f"{where}.date: {e.date} is before the birth date {p.birth_date}")
        if e.kind is Kind.SPECIAL_OUTPATIENT and e.disease is None:
            raise ScenarioError(
                f"{where}.disease: a special_outpatient encounter needs its disease"
            )
        if e.referred_from is not None and e.referred_from not in seen - {e.id}:
            raise ScenarioError(
                f"{where}.referred_from: {e.referred_from!r} is not an earlier encounter of the file"
            )
        encounters.append(_encounter(e, raw.region))
    if raw.expect is not None:
        for eid in raw.expect.encounters:
            if eid not in seen:
                raise ScenarioError(f"{name}: expect.encounters.{eid}: no encounter has that id")
    return Scenario(name, raw.region, raw.year, person, tuple(encounters), _expected(raw.expect))


def _expected(raw: ExpectIn | None) -> Expectations | None:
    if raw is None:
        return None
    return Expectations(
        {eid: ExpectedEncounter(**e.model_dump()) for eid, e in raw.encounters.items()},
        None if raw.year is None else ExpectedYear(**raw.year.model_dump()),
    )


def _encounter(e: EncounterIn, region: str) -> Encounter:
    h = e.hospital
    return Encounter(
        id=e.id,
        date=e.date,
        kind=Kind.INPATIENT if e.kind == "childbirth" else Kind(e.kind),
        hospital=Hospital(
            h.id, h.level, h.designated, h.region or region, h.pilot, h.type, h.province
        ),
        lines=tuple(ln.line() for ln in e.lines),
        diagnosis=e.diagnosis,
        disease=e.disease,
        referral=e.referral,
        prescription=e.prescription,
        cause="accident" if e.accident else "ordinary",
        delivery=e.delivery,
        referred_from=e.referred_from,
    )


def load_scenario(path: Path) -> Scenario:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{name}: cannot be read ({exc.strerror})") from None
    if path.suffix == ".json":
        try:
            data = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"{name}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    else:
        try:
            data = load_text(text, name)
        except YamlError as exc:
            raise ScenarioError(str(exc)) from None
    return parse_scenario(data, name)


def scenario_files(paths: list[Path]) -> list[Path]:
    """Files named directly, and every .yaml/.yml/.json below folders named, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))
            )
        elif path.exists():
            found.append(path)
        else:
            raise ScenarioError(f"{path}: no such file or folder")
    return found
