"""The encounter's facts issue 14's decision tables read, as hospital systems send them:
the cause — 外伤标志 `trum_flag` with 涉及第三方标志 `rel_ttp_flag` (2401 / 2203
`mdtrtinfo`) — and a childbirth stay's delivery — 生育类别 `matn_type` (2401 `mdtrtinfo`,
or 2402 `dscginfo`). They are checked as the card API checks them (the service layer's
EncounterDetails) and kept on the visit for its settlement."""

from __future__ import annotations

from typing import Any

from yibao.domain.model import Kind
from yibao.fsi import codes
from yibao.fsi.context import service_error
from yibao.fsi.fields import Fields
from yibao.service.encounter_details import EncounterDetails
from yibao.service.errors import ServiceError

FLAGS = {"0": "否", "1": "是"}


def cause(info: Fields) -> str:
    """trum_flag 1 (an injury) without a liable third party (rel_ttp_flag 0 or absent) is
    an accident; with one (rel_ttp_flag 1) it is `third_party`, which no rule settles (the
    service refuses it, naming rel_ttp_flag); no injury is ordinary."""
    if _flag(info, "trum_flag") != "1":
        return "ordinary"
    return "third_party" if _flag(info, "rel_ttp_flag") == "1" else "accident"


def _flag(info: Fields, name: str) -> str | None:
    if info.data.get(name) in (None, ""):
        return None
    return info.one_of(name, FLAGS)


def delivery(info: Fields) -> str | None:
    """matn_type: 1 natural, 2 caesarean (codes.MATN_TYPE); absent or empty: none."""
    if info.data.get("matn_type") in (None, ""):
        return None
    code = info.one_of("matn_type", {k: v for k, (_, v) in codes.MATN_TYPE.items()})
    return codes.MATN_TYPE[code][0]


def checked(info: Fields, kind: Kind, *, with_delivery: bool) -> dict[str, Any]:
    """The visit's cause (and delivery), checked for its kind as the card API checks them;
    a refusal names the field the hospital sent."""
    facts = EncounterDetails(cause=cause(info), delivery=delivery(info) if with_delivery else None)
    try:
        facts.check(kind)
    except ServiceError as exc:
        field = "rel_ttp_flag" if exc.details.get("field") == "cause" else "matn_type"
        raise service_error(exc, info.at(field)) from None
    out: dict[str, Any] = {"cause": facts.cause}
    if with_delivery:
        out["delivery"] = facts.delivery
    return out


def details(row: Any) -> EncounterDetails:
    """What the visit's settlement is given (visits from before migration 0017: none)."""
    return EncounterDetails(cause=row.cause or "ordinary", delivery=row.delivery)
