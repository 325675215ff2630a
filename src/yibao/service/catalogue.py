"""The region's catalogues: importing the national catalogue files (dated updates, never
a change to history), showing the entries in force, comparing two dates, and the
institutions' mappings of their own item codes to national codes (uploaded and cancelled
by the institution, as the national interface's 3301/3302 do)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.catalogue import Entry
from yibao.service.access import OPERATOR, require, require_region
from yibao.service.errors import NotFoundError, ServiceError
from yibao.service.ports import UowFactory
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
            inst = self._institution(uow, who, institution_id)
            if valid_to is not None and valid_to < valid_from:
                raise ServiceError(
                    "invalid_dates",
                    f"valid_to {valid_to} is before valid_from {valid_from}",
                    field="valid_to",
                )
            if not own_code.strip() or len(own_code) > 64:
                raise ServiceError("invalid_code", "own_code: 1 to 64 characters", field="own_code")
            known = uow.catalogue.entries(inst.region, [national_code])[national_code]
            if not known and not uow.catalogue.in_force(inst.region, [national_code], valid_from):
                raise ServiceError(
                    "unknown_catalogue_code",
                    f"national_code: {national_code} is not in the {inst.region} catalogue",
                    field="national_code",
                    codes=[national_code],
                )
            mid = uow.catalogue.add_mapping(
                inst.id, own_code, own_name, national_code, valid_from, valid_to
            )
            after = {
                "own_code": own_code,
                "national_code": national_code,
                "from": valid_from.isoformat(),
            }
            uow.audit.record(who, "catalogue.map", "mapping", str(mid), None, after)
            uow.commit()
        return {
            "id": mid,
            "institution_id": inst.id,
            **after,
            "to": None if valid_to is None else valid_to.isoformat(),
        }

    def unmap_code(self, who: Principal, institution_id: str, own_code: str) -> dict[str, Any]:
        """Cancel an institution's mapping of its own code (目录对照撤销, 3302): bills with
        the code are refused from then on; what was settled stays as it was."""
        with self.uow() as uow:
            inst = self._institution(uow, who, institution_id)
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
            uow.commit()
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
