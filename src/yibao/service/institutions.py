"""The registry's institutions: registered and changed by a clerk of their region, with
the audit log. Besides level and designation an institution carries the facts issue 14's
decision tables read: its type (general, or a TCM hospital 中医院) and its province (the
two digits of its GB/T 2260 division code; none: its region's). A settlement takes them
as they are on the day it settles (and keeps them: history.py)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from yibao.domain.access import Principal, Role
from yibao.domain.model import LEVELS
from yibao.domain.registry import Institution
from yibao.service.access import require, require_region
from yibao.service.base import UseCases
from yibao.service.encounter_details import TYPES
from yibao.service.errors import ConflictError, NotFoundError, ServiceError
from yibao.service.ports import UnitOfWork

PROVINCE = re.compile(r"^\d{2}$")


@dataclass(frozen=True)
class InstitutionChange:
    """What a clerk changes; None: as it is."""

    name: str | None = None
    level: int | None = None
    designated: bool | None = None
    type: str | None = None
    province: str | None = None
    clear_province: bool = False  # back to its region's province


def institution_view(inst: Institution) -> dict[str, Any]:
    view = asdict(inst)
    view["kind"] = inst.kind.value
    return view


def _check(inst: Institution) -> None:
    if inst.type not in TYPES:
        raise ServiceError(
            "invalid_type", f"type: {inst.type!r} is not one of {', '.join(TYPES)}", field="type"
        )
    if inst.province is not None and not PROVINCE.match(inst.province):
        raise ServiceError(
            "invalid_province",
            f"province: {inst.province!r} is not two digits (the province's GB/T 2260 code, "
            "51 for Sichuan)",
            field="province",
        )
    if inst.level not in LEVELS:
        raise ServiceError("invalid_level", f"level: {inst.level} is not 0-3", field="level")


class InstitutionService(UseCases):
    def register(self, who: Principal, inst: Institution) -> dict[str, Any]:
        require(who, Role.CLERK)
        require_region(who, inst.region)
        _check(inst)
        with self.uow() as uow:
            if uow.registry.institution(inst.id) is not None:
                raise ConflictError(
                    "institution_exists", f"institution {inst.id!r} is registered already"
                )
            uow.registry.add_institution(inst)
            view = institution_view(inst)
            uow.audit.record(who, "institution.register", "institution", inst.id, None, view)
            uow.commit()
        return view

    def change(
        self, who: Principal, institution_id: str, change: InstitutionChange
    ) -> dict[str, Any]:
        require(who, Role.CLERK)
        with self.uow() as uow:
            inst = self._visible(uow, who, institution_id)
            new = replace(
                inst,
                name=inst.name if change.name is None else change.name,
                level=inst.level if change.level is None else change.level,
                designated=inst.designated if change.designated is None else change.designated,
                type=inst.type if change.type is None else change.type,
                province=None
                if change.clear_province
                else inst.province
                if change.province is None
                else change.province,
            )
            _check(new)
            uow.registry.update_institution(new)
            before, after = institution_view(inst), institution_view(new)
            uow.audit.record(who, "institution.change", "institution", inst.id, before, after)
            uow.commit()
        return after

    def get(self, who: Principal, institution_id: str) -> dict[str, Any]:
        require(who, Role.CLERK, Role.APPROVER, Role.INSTITUTION)
        with self.uow() as uow:
            return institution_view(self._visible(uow, who, institution_id))

    @staticmethod
    def _visible(uow: UnitOfWork, who: Principal, institution_id: str) -> Institution:
        """The institution, for staff of its region and the institution itself; 404 else."""
        inst = uow.registry.institution(institution_id)
        if who.role is Role.INSTITUTION:
            seen = who.institution_id == institution_id
        else:
            seen = inst is not None and who.region in (None, inst.region)
        if inst is None or not seen:
            raise NotFoundError(
                "unknown_institution", f"institution {institution_id!r} is not registered"
            )
        return inst
