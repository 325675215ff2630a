"""The region's catalogues: importing the national catalogue files (dated updates, never
a change to history), showing the entries in force, comparing two dates, and the
institutions' mappings of their own item codes to national codes (uploaded and cancelled
by the institution, as the national interface's 3301/3302 do)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.catalogue import Entry
from yibao.service.access import OPERATOR, require, require_region
from yibao.service.errors import NotFoundError, ServiceError
from yibao.service.ports import UnitOfWork, UowFactory
from yibao.service.ports.files import CatalogueFile

Progress = Callable[[int, int], None]


def _facts(e: Entry) -> dict[str, Any]:
    """What an entry says, for comparing two entries of one code (not where it was read
    from); amounts as written, as the catalogue stores them."""
    return {
        "code": e.code,
        "valid_from": e.valid_from,
        "valid_to": e.valid_to,
        "name": e.name,
        "catalogue": e.catalogue,
        "cls": e.cls.value,
        "caps": [(str(k), str(v)) for k, v in sorted(e.caps.items())],
        "ratios": [(k, str(v)) for k, v in sorted(e.ratios.items())],
        "restriction": e.restriction,
    }


def entry_view(e: Entry) -> dict[str, Any]:
    r = e.restriction
    return {
        "code": e.code,
        "name": e.name,
        "catalogue": e.catalogue,
        "cls": e.cls.value,
        "valid_from": e.valid_from.isoformat(),
        "valid_to": None if e.valid_to is None else e.valid_to.isoformat(),
        "caps": {str(k): f"{v:f}" for k, v in sorted(e.caps.items())},
        "ratios": {k: f"{v:f}" for k, v in sorted(e.ratios.items())},
        "restriction": None
        if not r.any
        else {
            "min_age": r.min_age,
            "max_age": r.max_age,
            "sex": r.sex,
            "min_level": r.min_level,
            "inpatient_only": r.inpatient_only,
            "special_disease": r.special_disease,
            "wording": r.wording,
        },
        "source": e.source,
    }


@dataclass
class ImportReport:
    """Row by row: each entry added (new, or an update of an earlier one), unchanged
    (already there, the same), or a problem; with a problem nothing is stored."""

    rows: int = 0
    added: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stored(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "stored": self.stored,
            "added": self.added,
            "unchanged": self.unchanged,
            "problems": self.problems,
        }


MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Download:
    """Which entries a catalogue download asks for: those in force on a day (or every
    dated entry), of one code, of names containing words, starting on or after a day,
    stored since a moment (an incremental download); one page of them."""

    page: int = 1
    size: int = 100
    on: date | None = None
    code: str | None = None
    name: str | None = None
    starting: date | None = None
    since: datetime | None = None
    with_caps: bool = False  # only entries with a price cap
    with_ratios: bool = False  # only entries with a first self-pay ratio of their own

    def takes(self, e: Entry) -> bool:
        if self.code is not None and e.code != self.code:
            return False
        if (self.with_caps and not e.caps) or (self.with_ratios and not e.ratios):
            return False
        if self.name is not None and self.name not in e.name:
            return False
        if self.starting is not None and e.valid_from < self.starting:
            return False
        if self.since is not None:
            stored = e.imported_at
            if stored is None:
                return False
            return _utc(stored) >= _utc(self.since)
        return True


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CataloguePage:
    total: int  # entries the download asks for, on every page
    entries: list[Entry]


class CatalogueService:
    def __init__(self, uow: UowFactory) -> None:
        self.uow = uow

    def import_file(
        self,
        who: Principal,
        region: str,
        parsed: CatalogueFile,
        progress: Progress | None = None,
    ) -> ImportReport:
        """A catalogue file, read and checked row by row (adapters/catalogue_files.py):
        store its new entries only if no row has a problem."""
        require(who, Role.CLERK)
        require_region(who, region)
        report = ImportReport(rows=parsed.rows)
        report.problems = [
            {"row": p.row, "code": p.code, "field": p.field, "reason": p.reason}
            for p in parsed.problems
        ]
        with self.uow() as uow:
            if not uow.catalogue.has_region(region):
                raise NotFoundError("unknown_region", f"region {region!r} does not exist")
            existing = uow.catalogue.entries(region, {e.code for e in parsed.entries})
            new: list[Entry] = []
            for i, e in enumerate(parsed.entries, start=1):
                self._sort(e, existing[e.code], parsed.rows_of, report, new)
                if progress is not None:
                    progress(i, len(parsed.entries))
            if report.problems:
                return report  # nothing stored
            uow.catalogue.add_entries(region, new)
            uow.audit.record(
                who,
                "catalogue.import",
                "catalogue",
                f"{region}/{parsed.catalogue}",
                None,
                {"file": parsed.source, "added": len(new), "unchanged": len(report.unchanged)},
            )
            uow.commit()
        return report

    @staticmethod
    def _sort(
        e: Entry,
        earlier: list[Entry],
        rows_of: dict[tuple[str, date], list[int]],
        report: ImportReport,
        new: list[Entry],
    ) -> None:
        rows = rows_of[(e.code, e.valid_from)]
        same_day = next((x for x in earlier if x.valid_from == e.valid_from), None)
        if same_day is None:
            before = [x for x in earlier if x.valid_from < e.valid_from]
            how = "update" if before else "new"
            report.added.append(
                {"rows": rows, "code": e.code, "from": e.valid_from.isoformat(), "as": how}
            )
            new.append(e)
        elif _facts(same_day) == _facts(e):
            report.unchanged.append(
                {"rows": rows, "code": e.code, "from": e.valid_from.isoformat()}
            )
        else:
            report.problems.append(
                {
                    "row": rows[0],
                    "code": e.code,
                    "field": "begndate",
                    "reason": f"the entry of {e.code} from {e.valid_from} is already there and "
                    "says otherwise: history is not rewritten; date the update from a new "
                    "begndate",
                }
            )

    def show(
        self, who: Principal, region: str, on: date | None = None, code: str | None = None
    ) -> list[dict[str, Any]]:
        """The dated entries (of one code: its whole history), or those in force on a day."""
        require(who, Role.CLERK, Role.INSTITUTION, Role.APPROVER)
        with self.uow() as uow:
            if code is not None:
                found = uow.catalogue.entries(region, [code])[code]
                if on is not None:
                    found = list(uow.catalogue.in_force(region, [code], on).values())
                if not found:
                    raise NotFoundError(
                        "unknown_catalogue_code", f"{code} is not in the {region} catalogue"
                    )
                return [entry_view(e) for e in found]
            return [entry_view(e) for e in uow.catalogue.region_entries(region, on)]

    def diff(self, who: Principal, region: str, before: date, after: date) -> dict[str, Any]:
        """What changed between the entries in force on two days."""
        require(who, Role.CLERK, Role.INSTITUTION, Role.APPROVER)
        with self.uow() as uow:
            old = {e.code: e for e in uow.catalogue.region_entries(region, before)}
            new = {e.code: e for e in uow.catalogue.region_entries(region, after)}
        changed = [
            {"code": c, "before": entry_view(old[c]), "after": entry_view(new[c])}
            for c in sorted(old.keys() & new.keys())
            if _facts(old[c]) | {"valid_from": None, "valid_to": None}
            != _facts(new[c]) | {"valid_from": None, "valid_to": None}
        ]
        return {
            "from": before.isoformat(),
            "to": after.isoformat(),
            "added": [entry_view(new[c]) for c in sorted(new.keys() - old.keys())],
            "removed": [entry_view(old[c]) for c in sorted(old.keys() - new.keys())],
            "changed": changed,
        }

    def download_in(
        self,
        uow: UnitOfWork,
        who: Principal,
        region: str,
        wanted: Download,
    ) -> CataloguePage:
        """One page of a region's dated entries, by code and date, as hospitals download
        the catalogue with its caps and ratios (the national interface's 1312 / 1318 /
        1319), in the caller's unit of work."""
        require(who, Role.CLERK, Role.INSTITUTION, Role.APPROVER)
        if wanted.page < 1:
            raise ServiceError("invalid_page", "page: from 1", field="page")
        if not 1 <= wanted.size <= MAX_PAGE_SIZE:
            raise ServiceError("invalid_page", f"size: 1 to {MAX_PAGE_SIZE}", field="size")
        if not uow.catalogue.has_region(region):
            raise NotFoundError("unknown_region", f"region {region!r} does not exist")
        found = [e for e in uow.catalogue.region_entries(region, wanted.on) if wanted.takes(e)]
        first = (wanted.page - 1) * wanted.size
        return CataloguePage(len(found), found[first : first + wanted.size])

    # --- institutions' code mappings ----------------------------------------------------

    def map_code(
        self,
        who: Principal,
        institution_id: str,
        own_code: str,
        national_code: str,
        valid_from: date,
        valid_to: date | None = None,
        own_name: str | None = None,
    ) -> dict[str, Any]:
        """An institution's own code for a national one, from a day (目录对照上传, 3301)."""
        with self.uow() as uow:
            done = self.map_code_in(
                uow, who, institution_id, own_code, national_code, valid_from, valid_to, own_name
            )
            uow.commit()
        return done

    def map_code_in(
        self,
        uow: UnitOfWork,
        who: Principal,
        institution_id: str,
        own_code: str,
        national_code: str,
        valid_from: date,
        valid_to: date | None = None,
        own_name: str | None = None,
        catalogue: str | None = None,
    ) -> dict[str, Any]:
        """map_code in the caller's unit of work, which commits (the national interface's
        3301: one message, one transaction). `catalogue`, when the caller names one (drug,
        service, consumable), must be the national code's. Dated, never rewritten: the same
        mapping again is `unchanged`; another national code from the same day is refused
        (date the change from a new day: of two mappings, the later start wins)."""
        inst = self._institution(uow, who, institution_id)
        _check_mapping(uow, inst.region, own_code, national_code, valid_from, valid_to, catalogue)
        view = {
            "institution_id": inst.id,
            "own_code": own_code,
            "national_code": national_code,
            "from": valid_from.isoformat(),
            "to": None if valid_to is None else valid_to.isoformat(),
        }
        for m in uow.catalogue.mappings(inst.id):
            if m.status != "active" or m.own_code != own_code or m.valid_from != valid_from:
                continue
            if (m.national_code, m.valid_to) == (national_code, valid_to):
                return {"id": m.id, **view, "unchanged": True}
            raise ServiceError(
                "mapping_conflict",
                f"{own_code} is mapped to {m.national_code} from {valid_from}: history is not "
                "rewritten; cancel that mapping or date the new one from a later day",
                field="valid_from",
            )
        mid = uow.catalogue.add_mapping(
            inst.id, own_code, own_name, national_code, valid_from, valid_to
        )
        after = {k: view[k] for k in ("own_code", "national_code", "from")}
        uow.audit.record(who, "catalogue.map", "mapping", str(mid), None, after)
        return {"id": mid, **view, "unchanged": False}

    def unmap_code(self, who: Principal, institution_id: str, own_code: str) -> dict[str, Any]:
        """Cancel an institution's mapping of its own code (目录对照撤销, 3302): bills with
        the code are refused from then on; what was settled stays as it was."""
        with self.uow() as uow:
            done = self.unmap_code_in(uow, who, institution_id, own_code)
            uow.commit()
        return done

    def unmap_code_in(
        self,
        uow: UnitOfWork,
        who: Principal,
        institution_id: str,
        own_code: str,
        national_code: str | None = None,
    ) -> dict[str, Any]:
        """unmap_code in the caller's unit of work, which commits (3302). With
        `national_code`, the own code must be mapped to it (unknown_mapping otherwise).
        The mapping is kept, marked cancelled."""
        inst = self._institution(uow, who, institution_id)
        active = [
            m
            for m in uow.catalogue.mappings(inst.id)
            if m.status == "active" and m.own_code == own_code
        ]
        if national_code is not None and all(m.national_code != national_code for m in active):
            raise NotFoundError(
                "unknown_mapping",
                f"{inst.id} has no mapping of {own_code} to {national_code}",
                field="national_code" if active else "own_code",
            )
        done = uow.catalogue.cancel_mapping(inst.id, own_code)
        if not done:
            raise NotFoundError("unknown_mapping", f"{inst.id} has no mapping of {own_code}")
        uow.audit.record(
            who,
            "catalogue.unmap",
            "mapping",
            f"{inst.id}/{own_code}",
            {"status": "active"},
            {"status": "cancelled"},
        )
        return {"institution_id": inst.id, "own_code": own_code, "cancelled": done}

    def mappings(self, who: Principal, institution_id: str) -> list[dict[str, Any]]:
        with self.uow() as uow:
            inst = self._institution(uow, who, institution_id)
            rows = uow.catalogue.mappings(inst.id)
        return [
            {
                "id": r.id,
                "own_code": r.own_code,
                "own_name": r.own_name,
                "national_code": r.national_code,
                "from": r.valid_from.isoformat(),
                "to": None if r.valid_to is None else r.valid_to.isoformat(),
                "status": r.status,
            }
            for r in rows
        ]

    @staticmethod
    def _institution(uow: Any, who: Principal, institution_id: str) -> Any:
        """The institution, if the caller is it (or a clerk of its region, or the operator)."""
        if who.role is Role.INSTITUTION:
            if who.institution_id != institution_id:
                raise NotFoundError(
                    "unknown_institution", f"institution {institution_id} does not exist"
                )
        elif who != OPERATOR:
            require(who, Role.CLERK)
        inst = uow.registry.institution(institution_id)
        if inst is None:
            raise NotFoundError(
                "unknown_institution", f"institution {institution_id} does not exist"
            )
        if who.role is Role.CLERK:
            require_region(who, inst.region)
        return inst


def _check_mapping(
    uow: UnitOfWork,
    region: str,
    own_code: str,
    national_code: str,
    valid_from: date,
    valid_to: date | None,
    catalogue: str | None,
) -> None:
    """A mapping's dates and codes: own_code 1 to 64 characters, the national code in the
    region's catalogue (of the named catalogue, when one is named)."""
    if valid_to is not None and valid_to < valid_from:
        raise ServiceError(
            "invalid_dates",
            f"valid_to {valid_to} is before valid_from {valid_from}",
            field="valid_to",
        )
    if not own_code.strip() or len(own_code) > 64:
        raise ServiceError("invalid_code", "own_code: 1 to 64 characters", field="own_code")
    known = uow.catalogue.entries(region, [national_code])[national_code]
    if not known:
        known = list(uow.catalogue.in_force(region, [national_code], valid_from).values())
    if not known:
        raise ServiceError(
            "unknown_catalogue_code",
            f"national_code: {national_code} is not in the {region} catalogue",
            field="national_code",
            codes=[national_code],
        )
    if catalogue is not None and known[-1].catalogue != catalogue:
        raise ServiceError(
            "catalogue_mismatch",
            f"national_code: {national_code} is in the {known[-1].catalogue} catalogue, "
            f"not {catalogue}",
            field="catalogue",
        )
