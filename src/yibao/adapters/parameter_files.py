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
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field, ValidationError, model_validator

from yibao.adapters.admin_files import (
    CalendarFile,
    EnrolmentFile,
    enrolment_rules,
    working_calendar,
)
from yibao.adapters.policy_shapes import (
    DatedLevelRate,
    DatedRateSpec,
    DatedReduction,
    DatedReferral,
    DatedScale,
    DatedSchemes,
    DatedSet,
    DatedThreshold,
    DatedTopLine,
    DatedTopOrNone,
    TextModel,
    _by_level,
    _rate_spec,
    _scale,
    _threshold,
)
from yibao.adapters.policy_tables import code_spans
from yibao.adapters.policy_values import (
    DatedAmount,
    DatedBuilder,
    DatedCount,
    DatedRate,
    Source,
    TableError,
)
from yibao.adapters.strict_yaml import YamlError, load_file
from yibao.adapters.validation import Strict, problems
from yibao.domain.conditions import group_overlaps
from yibao.domain.model import LineClass, Scheme
from yibao.domain.parameters import (
    DiagnosisGroup,
    InpatientRules,
    OutpatientRules,
    PilotDisease,
    PilotRules,
    Reduction,
    RegionPolicy,
    SchemeRules,
    SeriousIllnessRules,
    SpecialOutpatientRules,
    TopLine,
    YearStart,
)

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "policies"
SCHEME_FILES = {s.value for s in Scheme}
OPTIONAL_FILES = {"child_major_disease", "serious_illness", "enrolment", "calendar"}


class PolicyError(ValueError):
    """A policy folder or file that cannot be used; the message names file and key."""


# --- files ----------------------------------------------------------------------------


class EligibleShares(Strict):
    A: DatedRate
    B: DatedRate
    self_pay: DatedRate


class Catalogue(Strict):
    eligible_share: EligibleShares


class OtherPlace(Strict):
    reduction: DatedReduction


class YearStartModel(Strict):
    """`year_start: {value: "09-01", source: ...}`: the insurance year starts on that day
    (MM-DD; not 29 February, which only some years have)."""

    value: Annotated[str, Field(pattern=r"^\d{2}-\d{2}$")]
    source: Source

    def to_domain(self) -> YearStart:
        month, day = (int(part) for part in self.value.split("-"))
        try:
            return YearStart(month, day, self.source)
        except ValueError:
            raise ValueError(f"{self.value} is not a day that every year has") from None

    @model_validator(mode="after")
    def _a_day_of_every_year(self) -> YearStartModel:
        self.to_domain()
        return self


class DiagnosisGroupModel(Strict):
    name: TextModel
    codes: list[
        Annotated[str, Field(pattern=r"^[A-Za-z]\d\d(\.\d{1,2})?(-[A-Za-z]\d\d(\.\d{1,2})?)?$")]
    ] = Field(min_length=1)
    source: Source


class RegionFile(Strict):
    region: str
    name: TextModel
    admdvs: Annotated[str, Field(pattern=r"^\d{6}$")]
    schemes: DatedSchemes
    not_offered_reason: TextModel
    catalogue: Catalogue
    other_place: OtherPlace
    diagnosis_groups: dict[str, DiagnosisGroupModel] = Field(default_factory=dict)
    year_start: YearStartModel | None = None  # default: the calendar year


class OutpatientModel(Strict):
    threshold: DatedThreshold
    rate: DatedLevelRate
    fund_limit: DatedAmount


class InpatientModel(Strict):
    threshold: DatedThreshold
    rate: DatedRateSpec
    rate_retired: DatedRateSpec | None = None
    top_line: DatedTopLine | None = None
    referral_threshold: DatedReferral | None = None
    rate_points: DatedRate | None = None


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
    fixed_sum: DatedAmount | None = None
    cause_cap: DatedAmount | None = None


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
    top_line: DatedTopOrNone
    separate_groups: list[str] = Field(default_factory=list)


# --- conversion to the domain ---------------------------------------------------------


def _inpatient_rules(b: DatedBuilder, inp: InpatientModel) -> InpatientRules:
    def optional(key: str, entries: Any, convert: Any, unit: str = "") -> Any:
        return None if entries is None else b.dated(key, entries, convert, unit)

    return InpatientRules(
        threshold=b.dated("inpatient.threshold", inp.threshold, _threshold),
        rate=b.dated("inpatient.rate", inp.rate, _rate_spec),
        rate_retired=optional("inpatient.rate_retired", inp.rate_retired, _rate_spec),
        top_line=optional("inpatient.top_line", inp.top_line, lambda e: TopLine(e.on, e.value)),
        referral_threshold=optional(
            "inpatient.referral_threshold", inp.referral_threshold, lambda e: e.value
        ),
        rate_points=optional("inpatient.rate_points", inp.rate_points, lambda e: e.value, "share"),
    )


def _scheme_rules(name: str, f: SchemeFile, groups: Sequence[str] = ()) -> SchemeRules:
    b = DatedBuilder(name, groups)
    special = None
    if f.special_outpatient is not None:
        so = f.special_outpatient
        special = SpecialOutpatientRules(
            diseases=b.dated(
                "special_outpatient.diseases", so.diseases, lambda e: frozenset(e.value)
            ),
            threshold=b.dated("special_outpatient.threshold", so.threshold, _threshold),
        )
    years = f.refusals.retiree_min_contribution_years
    partial = DatedBuilder(name, groups, partial=True)
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
        inpatient=_inpatient_rules(b, f.inpatient),
        special_outpatient=special,
        retiree_min_contribution_years=None
        if years is None
        else b.dated("refusals.retiree_min_contribution_years", years, lambda e: e.value),
        fixed_sum=None if f.fixed_sum is None else partial.amount("fixed_sum", f.fixed_sum),
        cause_cap=None if f.cause_cap is None else partial.amount("cause_cap", f.cause_cap),
    )


def _pilot_rules(name: str, f: PilotFile, groups: Sequence[str] = ()) -> PilotRules:
    b = DatedBuilder(name, groups)
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


def _serious_rules(
    name: str, f: SeriousIllnessFile, groups: Sequence[str] = ()
) -> SeriousIllnessRules:
    b = DatedBuilder(name, groups)
    unknown = sorted(set(f.separate_groups) - set(groups))
    if unknown:
        raise PolicyError(
            f"{name}: separate_groups: {', '.join(unknown)} is not one of the region's "
            f"diagnosis groups ({', '.join(groups) or 'none'})"
        )
    # The layer tells apart only the groups it settles apart (the rest is "other").
    layer = DatedBuilder(name, f.separate_groups)
    return SeriousIllnessRules(
        schemes=b.dated("schemes", f.schemes, lambda e: frozenset(s.value for s in e.value)),
        scale=layer.dated("scale", f.scale, lambda e: _scale(e.brackets)),
        top_line=layer.dated("top_line", f.top_line, lambda e: e.value, "yuan"),
        separate_groups=frozenset(f.separate_groups),
    )


def _diagnosis_groups(code: str, region: RegionFile) -> dict[str, DiagnosisGroup]:
    groups = {
        key: DiagnosisGroup(key, g.name.to_text(), code_spans(g.codes), g.source)
        for key, g in region.diagnosis_groups.items()
    }
    if "other" in groups:
        raise PolicyError(f"{code}/region.yaml: diagnosis_groups: other is the name of the rest")
    overlaps = group_overlaps({k: g.spans for k, g in groups.items()})
    if overlaps:
        raise PolicyError(f"{code}/region.yaml: diagnosis_groups: {'; '.join(overlaps)}")
    return groups


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


def _region_file(folder: Path) -> RegionFile:
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
    return region


def _scheme_files(
    folder: Path, region: RegionFile, groups: Sequence[str]
) -> dict[str, SchemeRules]:
    code = folder.name
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
            schemes[scheme] = _scheme_rules(name, parsed, groups)
    for i, entry in enumerate(region.schemes):
        for offered in entry.value:
            if offered.value not in schemes:
                raise PolicyError(
                    f"{code}/region.yaml: schemes[{i}].value: {offered.value!r} is offered "
                    f"but there is no {offered.value}.yaml"
                )
    return schemes


def _optional_files(folder: Path, groups: Sequence[str]) -> dict[str, Any]:
    """The optional files' rules, each None where the file is absent."""
    readers: dict[str, tuple[type[BaseModel], Any]] = {
        "child_major_disease": (PilotFile, lambda n, f: _pilot_rules(n, f, groups)),
        "serious_illness": (SeriousIllnessFile, lambda n, f: _serious_rules(n, f, groups)),
        "enrolment": (EnrolmentFile, enrolment_rules),
        "calendar": (CalendarFile, working_calendar),
    }
    found: dict[str, Any] = {}
    for stem, (model, convert) in readers.items():
        path = folder / f"{stem}.yaml"
        name = f"{folder.name}/{stem}.yaml"
        found[stem] = convert(name, _load(path, model, name)) if path.is_file() else None
    return found


def load_region_dir(folder: Path) -> RegionPolicy:
    """Load and cross-check one region folder."""
    try:
        return _region_dir(folder)
    except TableError as exc:
        raise PolicyError(str(exc)) from None


def _region_dir(folder: Path) -> RegionPolicy:
    code = folder.name
    region = _region_file(folder)
    diagnosis_groups = _diagnosis_groups(code, region)
    groups = list(diagnosis_groups)
    schemes = _scheme_files(folder, region, groups)
    optional = _optional_files(folder, groups)
    b = DatedBuilder(f"{code}/region.yaml", groups)
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
        pilot=optional["child_major_disease"],
        serious_illness=optional["serious_illness"],
        enrolment=optional["enrolment"],
        calendar=optional["calendar"],
        diagnosis_groups=diagnosis_groups,
        year_start=YearStart() if region.year_start is None else region.year_start.to_domain(),
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
