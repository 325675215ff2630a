"""Catalogue files in the national catalogue download layout: one file per catalogue (the
drug, service-item or consumables catalogue), one row per item and date, with the
national interface's field names as the header (CSV, comma or tab separated, UTF-8 or
GB18030; columns in any order; unknown columns are refused, so that a misspelt field is
never silently dropped).

| column | meaning |
|---|---|
| `med_list_codg` | the national code (医疗目录编码), required |
| `hilist_name` | the item's name, required |
| `chrgitm_lv` | 01 class A (甲类), 02 class B (乙类), 03 self-pay (丙类/自费), required |
| `begndate` | in force from (YYYY-MM-DD or YYYYMMDD), required |
| `enddate` | in force until, inclusive; empty: until a later entry |
| `hilist_pric_uplmt_amt` | the price cap (最高限价), yuan |
| `medins_lv` | the institution level (0-3) the row's cap is for; empty: every level |
| `selfpay_prop` | the first self-pay ratio (先行自付比例), 0-1 |
| `selfpay_prop_psn_type` | the scheme the ratio is for (insutype 310 employees, 390 residents; or student, resident, employee); empty: every scheme |
| `lmt_used_flag` | 1 when the item has a payment restriction |
| `lmt_used_scp` | the restriction in the catalogue's words (限定支付范围) |
| `lmt_age_min`, `lmt_age_max` | restriction: ages (completed years) inclusive |
| `lmt_gend` | restriction: 1 men, 2 women |
| `lmt_medins_lv` | restriction: institutions of this level or above |
| `lmt_inhosp` | restriction: 1 inpatient only |
| `lmt_opsp_dise` | restriction: an approved outpatient special disease |

Rows of one code and one `begndate` are one entry: a row per level carries that level's
cap, a row per scheme that scheme's ratio; the rest of such rows must agree.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from yibao.domain.catalogue import ANY_SCHEME, CATALOGUES, Entry, Restriction
from yibao.domain.model import LEVELS, LineClass, Scheme
from yibao.domain.money import AmountError, parse_decimal
from yibao.service.ports.files import CatalogueFile, RowProblem

MAX_BYTES = 50 * 1024 * 1024
REQUIRED = ("med_list_codg", "hilist_name", "chrgitm_lv", "begndate")
OPTIONAL = (
    "enddate",
    "hilist_pric_uplmt_amt",
    "medins_lv",
    "selfpay_prop",
    "selfpay_prop_psn_type",
    "lmt_used_flag",
    "lmt_used_scp",
    "lmt_age_min",
    "lmt_age_max",
    "lmt_gend",
    "lmt_medins_lv",
    "lmt_inhosp",
    "lmt_opsp_dise",
)
CLASSES = {"01": LineClass.A, "02": LineClass.B, "03": LineClass.SELF_PAY}
SCHEMES = {
    "310": (Scheme.EMPLOYEE.value,),
    "390": (Scheme.STUDENT.value, Scheme.RESIDENT.value),
    **{s.value: (s.value,) for s in Scheme},
}


class CatalogueFileError(ValueError):
    """The file as a whole cannot be read (not a row's problem)."""


def _records(content: bytes) -> Iterator[list[str]]:
    if len(content) > MAX_BYTES:
        raise CatalogueFileError(f"file: more than {MAX_BYTES // 1024 // 1024} MB")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")
        except UnicodeDecodeError:
            raise CatalogueFileError("file: neither UTF-8 nor GB18030 text") from None
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first else ","
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as exc:
        raise CatalogueFileError(f"file: not a readable CSV ({exc})") from None


def _day(raw: str) -> date:
    for pattern in ("%Y-%m-%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(raw, pattern).date()  # noqa: DTZ007 - a calendar day
        except ValueError:
            continue
    raise ValueError(f"{raw!r} is not a date (YYYY-MM-DD or YYYYMMDD)")


def _whole(raw: str, low: int, high: int) -> int:
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{raw!r} is not a whole number from {low} to {high}")
    return int(raw)


def _amount(raw: str, places: int = 4) -> Decimal:
    try:
        value = parse_decimal(raw, max_places=places)
    except AmountError as exc:
        raise ValueError(str(exc)) from None
    if value < 0:
        raise ValueError(f"{raw!r} is negative")
    return value


def _flag(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError(f"{raw!r} is not 0 or 1")
    return raw == "1"


@dataclass
class _Row:
    number: int
    cells: dict[str, str]

    def get(self, name: str) -> str:
        return self.cells.get(name, "").strip()


def _header(cells: list[str]) -> list[str]:
    names = [c.strip().lstrip("\ufeff") for c in cells]
    unknown = [n for n in names if n and n not in REQUIRED + OPTIONAL]
    if unknown:
        raise CatalogueFileError(f"header: unknown columns {', '.join(unknown)}")
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise CatalogueFileError(f"header: missing columns {', '.join(missing)}")
    return names


def read_catalogue(content: bytes, catalogue: str, source: str) -> CatalogueFile:
    """Every row checked, grouped into dated entries; problems reported by row and field."""
    if catalogue not in CATALOGUES:
        raise CatalogueFileError(f"catalogue {catalogue!r} is not one of {', '.join(CATALOGUES)}")
    records = _records(content)
    header: list[str] | None = None
    groups: dict[tuple[str, date], list[tuple[_Row, Entry]]] = {}
    parsed = CatalogueFile(catalogue, source)
    for number, cells in enumerate(records, start=1):
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = _header(cells)
            continue
        row = _Row(number, dict(zip(header, cells, strict=False)))
        parsed.rows += 1
        try:
            entry = _entry(row, catalogue, source)
        except _BadCellError as bad:
            parsed.problems.append(
                RowProblem(number, row.get("med_list_codg"), bad.field, bad.reason)
            )
            continue
        groups.setdefault((entry.code, entry.valid_from), []).append((row, entry))
    if header is None:
        raise CatalogueFileError("file: no header row")
    for key, rows in groups.items():
        merged = _merge(rows, parsed.problems)
        if merged is not None:
            parsed.entries.append(merged)
            parsed.rows_of[key] = [r.number for r, _ in rows]
    return parsed


class _BadCellError(Exception):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = name, reason


def _cell(row: _Row, name: str, parse: object) -> object:
    raw = row.get(name)
    if not raw:
        return None
    try:
        return parse(raw)  # type: ignore[operator]
    except ValueError as exc:
        raise _BadCellError(name, str(exc)) from None


def _entry(row: _Row, catalogue: str, source: str) -> Entry:
    for name in REQUIRED:
        if not row.get(name):
            raise _BadCellError(name, "is empty")
    code, name = row.get("med_list_codg"), row.get("hilist_name")
    if len(code) > 64 or len(name) > 200:
        raise _BadCellError("med_list_codg" if len(code) > 64 else "hilist_name", "is too long")
    cls = CLASSES.get(row.get("chrgitm_lv"))
    if cls is None:
        raise _BadCellError("chrgitm_lv", f"{row.get('chrgitm_lv')!r} is not 01, 02 or 03")
    start = _cell(row, "begndate", _day)
    end = _cell(row, "enddate", _day)
    assert isinstance(start, date)
    if isinstance(end, date) and end < start:
        raise _BadCellError("enddate", f"{end} is before begndate {start}")
    cap = _cell(row, "hilist_pric_uplmt_amt", _amount)
    level = _cell(row, "medins_lv", lambda r: _whole(r, 0, 3))
    ratio = _cell(row, "selfpay_prop", lambda r: _ratio(r))
    schemes_raw = row.get("selfpay_prop_psn_type")
    if schemes_raw and schemes_raw not in SCHEMES:
        raise _BadCellError("selfpay_prop_psn_type", f"{schemes_raw!r} is not 310, 390 or a scheme")
    caps = {} if cap is None else dict.fromkeys([level] if level is not None else LEVELS, cap)
    schemes = SCHEMES[schemes_raw] if schemes_raw else (ANY_SCHEME,)
    ratios = {} if ratio is None else dict.fromkeys(schemes, ratio)
    return Entry(
        code=code,
        name=name,
        cls=cls,
        valid_from=start,
        catalogue=catalogue,
        valid_to=end if isinstance(end, date) else None,
        caps=caps,  # type: ignore[arg-type]
        ratios=ratios,  # type: ignore[arg-type]
        restriction=_restriction(row),
        source=source,
    )


def _ratio(raw: str) -> Decimal:
    value = _amount(raw, places=6)
    if value > 1:
        raise ValueError(f"{raw!r} is not a ratio between 0 and 1")
    return value


def _restriction(row: _Row) -> Restriction:
    sex = _cell(row, "lmt_gend", lambda r: {"1": "M", "2": "F"}[r] if r in ("1", "2") else _no(r))
    wording = row.get("lmt_used_scp") or None
    restriction = Restriction(
        min_age=_cell(row, "lmt_age_min", lambda r: _whole(r, 0, 150)),  # type: ignore[arg-type]
        max_age=_cell(row, "lmt_age_max", lambda r: _whole(r, 0, 150)),  # type: ignore[arg-type]
        sex=sex,  # type: ignore[arg-type]
        min_level=_cell(row, "lmt_medins_lv", lambda r: _whole(r, 0, 3)),  # type: ignore[arg-type]
        inpatient_only=bool(_cell(row, "lmt_inhosp", _flag)),
        special_disease=row.get("lmt_opsp_dise") or None,
        wording=wording,
    )
    flagged = _cell(row, "lmt_used_flag", _flag)
    if flagged and not restriction.any:
        raise _BadCellError(
            "lmt_used_flag",
            "the item is restricted but no lmt_age_min, lmt_age_max, lmt_gend, "
            "lmt_medins_lv, lmt_inhosp or lmt_opsp_dise says how",
        )
    if flagged is False and restriction.any:
        raise _BadCellError("lmt_used_flag", "is 0 but the row gives a restriction")
    return restriction


def _no(raw: str) -> str:
    raise ValueError(f"{raw!r} is not 1 (men) or 2 (women)")


def _merge(rows: list[tuple[_Row, Entry]], problems: list[RowProblem]) -> Entry | None:
    """One entry from the rows of one code and date: caps by level, ratios by scheme."""
    first = rows[0][1]
    caps: dict[int, Decimal] = {}
    ratios: dict[str, Decimal] = {}
    ok = True
    for row, e in rows:
        same = (e.name, e.cls, e.valid_to, e.restriction) == (
            first.name,
            first.cls,
            first.valid_to,
            first.restriction,
        )
        clash = [k for k in e.caps if k in caps and caps[k] != e.caps[k]] + [
            k for k in e.ratios if k in ratios and ratios[k] != e.ratios[k]
        ]
        if not same or clash:
            problems.append(
                RowProblem(
                    row.number,
                    e.code,
                    "med_list_codg",
                    f"another row of {e.code} from {e.valid_from} says otherwise"
                    + (f" (for {', '.join(map(str, clash))})" if clash else ""),
                )
            )
            ok = False
        caps.update(e.caps)
        ratios.update(e.ratios)
    if not ok:
        return None
    return Entry(
        first.code,
        first.name,
        first.cls,
        first.valid_from,
        first.catalogue,
        first.valid_to,
        caps,
        ratios,
        first.restriction,
        source=first.source,
    )
