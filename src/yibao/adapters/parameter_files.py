"""Load a region's policy folder (dated YAML parameter files) into a `RegionPolicy`.

Validation is strict on purpose: an unknown key, a missing bracket or level, a rate
above 1, overlapping dates or a non-decimal amount is an error naming the file and the
key, never a value silently dropped.

A region folder holds `region.yaml`, one `<scheme>.yaml` per scheme it offers
(student, resident, employee), and optionally `child_major_disease.yaml`,
`serious_illness.yaml`, `enrolment.yaml` and `calendar.yaml`. docs/policies.md
describes every key.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationError,
    model_validator,
)

from yibao.adapters.admin_files import (
    CalendarFile,
    EnrolmentFile,
    enrolment_rules,
    working_calendar,
)
from yibao.adapters.policy_values import (
    Amount,
    DatedAmount,
    DatedBuilder,
    DatedCount,
    DatedRate,
    Entry,
    Rate,
    ordered_periods,
)
from yibao.adapters.strict_yaml import YamlError, load_file
from yibao.adapters.validation import Strict, problems
from yibao.domain.model import LEVELS, LineClass, Scheme
from yibao.domain.parameters import (
    Bracket,
    ByLevel,
    InpatientRules,
    OutpatientRules,
    PilotDisease,
    PilotRules,
    RateSpec,
    Reduction,
    ReductionMethod,
    RegionPolicy,
    Scale,
    SchemeRules,
    SeriousIllnessRules,
    SpecialOutpatientRules,
    Text,
    Threshold,
    ThresholdPer,
    TopLine,
    TopLineOn,
)

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "policies"
SCHEME_FILES = {s.value for s in Scheme}
OPTIONAL_FILES = {"child_major_disease", "serious_illness", "enrolment", "calendar"}


class PolicyError(ValueError):
    """A policy folder or file that cannot be used; the message names file and key."""


# --- value types ----------------------------------------------------------------------


class TextModel(Strict):
    zh: str
    en: str

    def to_text(self) -> Text:
        return Text(zh=self.zh, en=self.en)


def _levels(by_level: dict[int, Decimal]) -> dict[int, Decimal]:
    missing = [lv for lv in LEVELS if lv not in by_level]
    extra = [lv for lv in by_level if lv not in LEVELS]
    if missing:
        raise ValueError(f"by_level is missing level {', '.join(map(str, missing))}")
    if extra:
        raise ValueError(
            f"by_level has unknown level {', '.join(map(str, extra))} (levels are 0–3)"
        )
    return by_level


class SetValue(Entry):
    value: list[str] = Field(min_length=1)


class SchemesValue(Entry):
    value: list[Scheme] = Field(min_length=1)


class LevelRateValue(Entry):
    value: Rate | None = None
    by_level: Annotated[dict[int, Rate], AfterValidator(_levels)] | None = None

    @model_validator(mode="after")
    def _one(self) -> LevelRateValue:
        if (self.value is None) == (self.by_level is None):
            raise ValueError("give exactly one of value, by_level")
        return self


class ThresholdValue(Entry):
    per: ThresholdPer
    value: Amount | None = None
    by_level: Annotated[dict[int, Amount], AfterValidator(_levels)] | None = None

    @model_validator(mode="after")
    def _one(self) -> ThresholdValue:
        if (self.value is None) == (self.by_level is None):
            raise ValueError("give exactly one of value, by_level")
        return self


class BracketModel(Strict):
    lower: Amount = Field(alias="from")
    rate: Rate


def _brackets(brackets: list[BracketModel]) -> list[BracketModel]:
    if not brackets:
        raise ValueError("a scale needs at least one bracket")
    if brackets[0].lower != 0:
        raise ValueError("the first bracket must start from 0")
    for i in range(1, len(brackets)):
        if brackets[i].lower <= brackets[i - 1].lower:
            raise ValueError(
                f"bracket {i} must start above bracket {i - 1} ({brackets[i - 1].lower})"
            )
    return brackets


Brackets = Annotated[list[BracketModel], AfterValidator(_brackets)]


class RateSpecValue(Entry):
    value: Rate | None = None
    by_level: Annotated[dict[int, Rate], AfterValidator(_levels)] | None = None
    brackets: Brackets | None = None

    @model_validator(mode="after")
    def _one(self) -> RateSpecValue:
        if sum(x is not None for x in (self.value, self.by_level, self.brackets)) != 1:
            raise ValueError("give exactly one of value, by_level, brackets")
        return self


class ScaleValue(Entry):
    brackets: Brackets


class TopLineValue(Entry):
    on: TopLineOn
    value: Amount


class ReductionValue(Entry):
    method: ReductionMethod
    referral: Rate
    emergency: Rate
    unfiled: Rate


DatedSet = Annotated[list[SetValue], AfterValidator(ordered_periods)]
DatedSchemes = Annotated[list[SchemesValue], AfterValidator(ordered_periods)]
DatedLevelRate = Annotated[list[LevelRateValue], AfterValidator(ordered_periods)]
DatedThreshold = Annotated[list[ThresholdValue], AfterValidator(ordered_periods)]
DatedRateSpec = Annotated[list[RateSpecValue], AfterValidator(ordered_periods)]
DatedScale = Annotated[list[ScaleValue], AfterValidator(ordered_periods)]
DatedTopLine = Annotated[list[TopLineValue], AfterValidator(ordered_periods)]
DatedReduction = Annotated[list[ReductionValue], AfterValidator(ordered_periods)]


# --- files ----------------------------------------------------------------------------


class EligibleShares(Strict):
    A: DatedRate
    B: DatedRate
    self_pay: DatedRate


class Catalogue(Strict):
    eligible_share: EligibleShares


class OtherPlace(Strict):
    reduction: DatedReduction


class RegionFile(Strict):
    region: str
    name: TextModel
    admdvs: Annotated[str, Field(pattern=r"^\d{6}$")]
    schemes: DatedSchemes
    not_offered_reason: TextModel
    catalogue: Catalogue
    other_place: OtherPlace


class OutpatientModel(Strict):
    threshold: DatedThreshold
    rate: DatedLevelRate
    fund_limit: DatedAmount


class InpatientModel(Strict):
    threshold: DatedThreshold
    rate: DatedRateSpec
    rate_retired: DatedRateSpec | None = None
    top_line: DatedTopLine | None = None


class SpecialModel(Strict):
    diseases: DatedSet
    threshold: DatedThreshold


class RefusalsModel(Strict):
    retiree_min_contribution_years: DatedCount | None = None


class SchemeFile(Strict):
    scheme: Scheme
    label: TextModel
    insutype: Annotated[str, Field(pattern=r"^\d{3}$")]
    outpatient: OutpatientModel
    inpatient: InpatientModel
    special_outpatient: SpecialModel | None = None
    refusals: RefusalsModel = RefusalsModel()


class PilotDiseaseModel(Strict):
    name: TextModel
    limited_cost: DatedAmount


class PilotFile(Strict):
    schemes: DatedSchemes
    max_age: DatedCount
    rate: DatedRate
    assistance_share: DatedRate
    diseases: dict[str, PilotDiseaseModel] = Field(min_length=1)


class SeriousIllnessFile(Strict):
    schemes: DatedSchemes
    scale: DatedScale
    top_line: DatedAmount


# --- conversion to the domain ---------------------------------------------------------


def _by_level(flat: Decimal | None, levels: dict[int, Decimal] | None) -> ByLevel:
    return ByLevel(flat=flat, levels=dict(levels or {}))


def _threshold(e: ThresholdValue) -> Threshold:
    return Threshold(per=e.per, amount=_by_level(e.value, e.by_level))


def _scale(brackets: list[BracketModel]) -> Scale:
    return Scale(tuple(Bracket(b.lower, b.rate) for b in brackets))


def _rate_spec(e: RateSpecValue) -> RateSpec:
    if e.brackets is not None:
        return RateSpec(scale=_scale(e.brackets))
    return RateSpec(by_level=_by_level(e.value, e.by_level))


def _scheme_rules(name: str, f: SchemeFile) -> SchemeRules:
    b = DatedBuilder(name)
    inp = f.inpatient
    special = None
    if f.special_outpatient is not None:
        special = SpecialOutpatientRules(
            diseases=b.dated(
                "special_outpatient.diseases",
                f.special_outpatient.diseases,
                lambda e: frozenset(e.value),
            ),
            threshold=b.dated(
                "special_outpatient.threshold", f.special_outpatient.threshold, _threshold
            ),
        )
    years = f.refusals.retiree_min_contribution_years
    return SchemeRules(
        scheme=f.scheme.value,
        label=f.label.to_text(),
        insutype=f.insutype,
        outpatient=OutpatientRules(
            threshold=b.dated("outpatient.threshold", f.outpatient.threshold, _threshold),
            rate=b.dated(
                "outpatient.rate",
                f.outpatient.rate,
                lambda e: _by_level(e.value, e.by_level),
                "share",
            ),
            fund_limit=b.amount("outpatient.fund_limit", f.outpatient.fund_limit),
        ),
        inpatient=InpatientRules(
            threshold=b.dated("inpatient.threshold", inp.threshold, _threshold),
            rate=b.dated("inpatient.rate", inp.rate, _rate_spec),
            rate_retired=None
            if inp.rate_retired is None
            else b.dated("inpatient.rate_retired", inp.rate_retired, _rate_spec),
            top_line=None
            if inp.top_line is None
            else b.dated("inpatient.top_line", inp.top_line, lambda e: TopLine(e.on, e.value)),
        ),
        special_outpatient=special,
        retiree_min_contribution_years=None
        if years is None
        else b.dated("refusals.retiree_min_contribution_years", years, lambda e: e.value),
    )


def _pilot_rules(name: str, f: PilotFile) -> PilotRules:
    b = DatedBuilder(name)
    return PilotRules(
        schemes=b.dated("schemes", f.schemes, lambda e: frozenset(s.value for s in e.value)),
        max_age=b.dated("max_age", f.max_age, lambda e: e.value),
        rate=b.share("rate", f.rate),
        assistance_share=b.share("assistance_share", f.assistance_share),
        diseases={
            code: PilotDisease(
                code=code,
                name=d.name.to_text(),
                limited_cost=b.amount(f"diseases.{code}.limited_cost", d.limited_cost),
            )
            for code, d in f.diseases.items()
        },
    )


def _serious_rules(name: str, f: SeriousIllnessFile) -> SeriousIllnessRules:
    b = DatedBuilder(name)
    return SeriousIllnessRules(
        schemes=b.dated("schemes", f.schemes, lambda e: frozenset(s.value for s in e.value)),
        scale=b.dated("scale", f.scale, lambda e: _scale(e.brackets)),
        top_line=b.amount("top_line", f.top_line),
    )


# --- loading --------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], data: Any, name: str) -> M:
    if not isinstance(data, dict):
        raise PolicyError(f"{name}: the file must hold a mapping of keys")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise PolicyError("\n".join(problems(exc, name))) from None


def _load(path: Path, model: type[M], name: str) -> M:
    try:
        data = load_file(path, name)
    except YamlError as exc:
        raise PolicyError(str(exc)) from None
    return _parse(model, data, name)


def load_region_dir(folder: Path) -> RegionPolicy:
    """Load and cross-check one region folder."""
    code = folder.name
    if not (folder / "region.yaml").is_file():
        raise PolicyError(f"{code}: no region.yaml in {folder}")
    known = {"region"} | SCHEME_FILES | OPTIONAL_FILES
    for path in sorted(folder.glob("*")):
        if path.suffix != ".yaml" or path.stem not in known:
            raise PolicyError(
                f"{code}/{path.name}: not a policy file this version knows "
                f"(expected region.yaml, {', '.join(sorted(known - {'region'}))} .yaml)"
            )
    region = _load(folder / "region.yaml", RegionFile, f"{code}/region.yaml")
    if region.region != code:
        raise PolicyError(
            f"{code}/region.yaml: region: says {region.region!r} but the folder is {code!r}"
        )
    schemes: dict[str, SchemeRules] = {}
    for scheme in sorted(SCHEME_FILES):
        path = folder / f"{scheme}.yaml"
        if path.is_file():
            name = f"{code}/{scheme}.yaml"
            parsed = _load(path, SchemeFile, name)
            if parsed.scheme.value != scheme:
                raise PolicyError(
                    f"{name}: scheme: says {parsed.scheme.value!r} but the file is {scheme}.yaml"
                )
            schemes[scheme] = _scheme_rules(name, parsed)
    b = DatedBuilder(f"{code}/region.yaml")
    for i, entry in enumerate(region.schemes):
        for scheme in entry.value:
            if scheme.value not in schemes:
                raise PolicyError(
                    f"{code}/region.yaml: schemes[{i}].value: {scheme.value!r} is offered "
                    f"but there is no {scheme.value}.yaml"
                )
    pilot = None
    if (folder / "child_major_disease.yaml").is_file():
        name = f"{code}/child_major_disease.yaml"
        pilot = _pilot_rules(name, _load(folder / "child_major_disease.yaml", PilotFile, name))
    serious = None
    if (folder / "serious_illness.yaml").is_file():
        name = f"{code}/serious_illness.yaml"
        serious = _serious_rules(
            name, _load(folder / "serious_illness.yaml", SeriousIllnessFile, name)
        )
    enrolment = None
    if (folder / "enrolment.yaml").is_file():
        name = f"{code}/enrolment.yaml"
        enrolment = enrolment_rules(name, _load(folder / "enrolment.yaml", EnrolmentFile, name))
    calendar = None
    if (folder / "calendar.yaml").is_file():
        name = f"{code}/calendar.yaml"
        calendar = working_calendar(name, _load(folder / "calendar.yaml", CalendarFile, name))
    shares = region.catalogue.eligible_share
    return RegionPolicy(
        code=code,
        name=region.name.to_text(),
        admdvs=region.admdvs,
        offered=b.dated("schemes", region.schemes, lambda e: frozenset(s.value for s in e.value)),
        not_offered_reason=region.not_offered_reason.to_text(),
        eligible_share={
            cls.value: b.share(f"catalogue.eligible_share.{cls.value}", getattr(shares, cls.value))
            for cls in LineClass
        },
        reduction=b.dated(
            "other_place.reduction",
            region.other_place.reduction,
            lambda e: Reduction(e.method, e.referral, e.emergency, e.unfiled),
        ),
        schemes=schemes,
        pilot=pilot,
        serious_illness=serious,
        enrolment=enrolment,
        calendar=calendar,
    )


def search_path(extra: Sequence[Path] = ()) -> list[Path]:
    """Where regions are looked for: given folders, then YIBAO_POLICY_PATH, then the built-ins."""
    env = [Path(p) for p in os.environ.get("YIBAO_POLICY_PATH", "").split(os.pathsep) if p]
    return [*extra, *env, BUILTIN_DIR]


def region_names(path: Sequence[Path]) -> list[str]:
    names = {
        d.name
        for folder in path
        if folder.is_dir()
        for d in folder.iterdir()
        if (d / "region.yaml").is_file()
    }
    return sorted(names)


def load_region(code: str, path: Sequence[Path] | None = None) -> RegionPolicy:
    folders = list(path) if path is not None else search_path()
    return _load_cached(code, tuple(folders))


@cache
def _load_cached(code: str, folders: tuple[Path, ...]) -> RegionPolicy:
    for folder in folders:
        candidate = folder / code
        if (candidate / "region.yaml").is_file():
            return load_region_dir(candidate)
    known = ", ".join(region_names(folders)) or "none"
    raise PolicyError(f"unknown region {code!r} (known: {known})")
