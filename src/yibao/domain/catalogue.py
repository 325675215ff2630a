"""Catalogue entries as real catalogues carry them (reference §1a), and how a billed line
becomes the engine's `Line`: the entry in force on the day gives the class, the price cap
at the institution's level, the first self-pay ratio for the person's scheme, and the
payment restriction, which the bill's facts (the person's age and sex, the institution's
level, the kind of visit, the person's approved special diseases) fall inside or outside.

Pure: the service reads the entries and mappings, this decides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from yibao.domain.frozen import fast_init
from yibao.domain.model import Approval, Kind, Line, LineClass, age_on
from yibao.domain.money import round_fen
from yibao.domain.parameters import Ref, Text

# The three catalogues (西药中成药目录, 医疗服务项目目录, 医用耗材目录), as explanations cite them.
CATALOGUES = {
    "drug": "drug catalogue",
    "service": "service-item catalogue",
    "consumable": "consumables catalogue",
}
ANY_SCHEME = "*"


@dataclass(frozen=True)
class Restriction:
    """A payment restriction (限定支付范围); None everywhere: none."""

    min_age: int | None = None  # in completed years on the day, inclusive
    max_age: int | None = None
    sex: str | None = None  # "M" | "F", as the registry has it
    min_level: int | None = None
    inpatient_only: bool = False
    special_disease: str | None = None  # an approved outpatient special disease
    wording: str | None = None  # the catalogue's own words, e.g. 限儿童

    @property
    def any(self) -> bool:
        return any(
            (
                self.min_age is not None,
                self.max_age is not None,
                self.sex is not None,
                self.min_level is not None,
                self.inpatient_only,
                self.special_disease is not None,
            )
        )


# An entry without a restriction (most: every base item) shares this one, which a bill
# cannot fall outside: `outside` answers it without working out the bill's facts.
NO_RESTRICTION = Restriction()


@fast_init
@dataclass(frozen=True)
class Entry:
    """One dated entry of a region's catalogue."""

    code: str
    name: str
    cls: LineClass
    valid_from: date
    catalogue: str = "drug"  # drug | service | consumable
    valid_to: date | None = None
    caps: Mapping[int, Decimal] = field(default_factory=dict)  # by institution level
    ratios: Mapping[str, Decimal] = field(default_factory=dict)  # by scheme, or ANY_SCHEME
    restriction: Restriction = NO_RESTRICTION
    id: int | None = None
    source: str = ""
    # When the entry was stored (the catalogue download's updt_time); not one of its facts.
    imported_at: datetime | None = field(default=None, compare=False)

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def cap(self, level: int) -> Decimal | None:
        return self.caps.get(level)

    def ratio(self, scheme: str) -> Decimal | None:
        """The item's own first self-pay ratio for the scheme; None: the region's default."""
        found = self.ratios.get(scheme)
        return found if found is not None else self.ratios.get(ANY_SCHEME)

    @property
    def ref(self) -> Ref:
        """The entry as an explanation cites it."""
        # Every line of every bill cites its entry: the Ref (with the citation it keeps) is
        # made once for equal entries (_ref), and kept on the (frozen) entry, whose fields
        # never change, so that the next bill does not hash the five of them again.
        kept: Ref | None = self.__dict__.get("_ref")
        if kept is None:
            kept = self.__dict__["_ref"] = _ref(
                self.catalogue, self.code, self.valid_from, self.name, self.source
            )
        return kept


@lru_cache(maxsize=50_000)  # entries come from catalogues: never unbounded memory
def _ref(catalogue: str, code: str, valid_from: date, name: str, source: str) -> Ref:
    book = CATALOGUES.get(catalogue, catalogue)
    return Ref(book, code, valid_from, f"[catalogue] {name} {source}".strip())


@fast_init
@dataclass(frozen=True)
class Visit:
    """The facts of a bill a restriction is checked against."""

    day: date
    kind: Kind
    level: int
    birth_date: date
    sex: str
    scheme: str
    approvals: tuple[Approval, ...] = ()


def outside(restriction: Restriction, visit: Visit) -> Text | None:
    """Why the visit falls outside the restriction, or None when it is within."""
    r = restriction
    if r is NO_RESTRICTION:
        return None
    age = age_on(visit.birth_date, visit.day)
    reasons: list[tuple[str, str]] = []
    if r.min_age is not None and age < r.min_age:
        reasons.append((f"限{r.min_age}岁及以上", f"aged {r.min_age} or over only"))
    if r.max_age is not None and age > r.max_age:
        reasons.append((f"限{r.max_age}岁及以下", f"aged {r.max_age} or under only"))
    if r.sex is not None and visit.sex != r.sex:
        reasons.append(("限男性", "men only") if r.sex == "M" else ("限女性", "women only"))
    if r.min_level is not None and visit.level < r.min_level:
        reasons.append(
            (f"限{r.min_level}级及以上医疗机构", f"institutions of level {r.min_level} or above")
        )
    if r.inpatient_only and visit.kind is not Kind.INPATIENT:
        reasons.append(("限住院", "inpatient only"))
    if r.special_disease is not None and not any(
        a.disease == r.special_disease and a.covers(visit.day) for a in visit.approvals
    ):
        reasons.append((f"限{r.special_disease}门诊特殊疾病", f"approved {r.special_disease} only"))
    if not reasons:
        return None
    zh = "；".join(z for z, _ in reasons)
    en = "; ".join(e for _, e in reasons)
    if r.wording:
        zh = f"{r.wording}：{zh}"
    return Text(zh=zh, en=en)


def line_for(entry: Entry, visit: Visit, quantity: Decimal, unit_price: Decimal, code: str) -> Line:
    """The engine's line for a billed item under its entry."""
    why = outside(entry.restriction, visit)
    # Line.item's fields, given in their order: by keyword through item(), the line was
    # made at twice the cost of the rest of line_for.
    return Line(
        entry.cls,
        round_fen(quantity * unit_price),  # Line.item's amount: half-up to the fen
        code,
        quantity,
        unit_price,
        entry.caps.get(visit.level),  # entry.cap(level)
        entry.ratio(visit.scheme),
        why is not None,
        entry.name,
        entry.ref,
        why,
    )
