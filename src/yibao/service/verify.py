"""`yibao verify`: settle every stored person-year again from its settlements and report
each difference with what is stored: a settlement's split, the accumulators, the ledger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from yibao.domain.accumulators import YearAccumulators
from yibao.domain.engine import settle_encounter
from yibao.domain.money import ZERO, fmt, from_fen
from yibao.service.history import Split, person_for_year, stored_year
from yibao.service.ports import PolicySource, UnitOfWork, UowFactory
from yibao.service.verify_regions import FundBalance, check_regions

CHUNK = 500


@dataclass
class Report:
    person_years: int = 0
    settlements: int = 0
    problems: list[str] = field(default_factory=list)
    funds: list[FundBalance] = field(default_factory=list)  # each fund's balance


def verify(
    uow: UowFactory,
    policies: PolicySource,
    *,
    year: int | None = None,
    region: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    report = Report()
    with uow() as u:
        years = [year] if year is not None else u.history.years()
    for y in years:
        after = ""
        while True:
            with uow() as u:
                ids = u.history.person_years(y, region, after, CHUNK)
                for person_id in ids:
                    _check(u, policies, person_id, y, report)
            if not ids:
                break
            after = ids[-1]
            if progress is not None:
                progress(len(ids))
    with uow() as u:  # between regions: receivables, payables, clearings, funds
        problems, report.funds = check_regions(u.regions)
    report.problems += problems
    return report


def _check(
    u: UnitOfWork, policies: PolicySource, person_id: str, year: int, report: Report
) -> None:
    report.person_years += 1
    where = f"{person_id} {year}"
    stored = stored_year(u, person_id, year)
    report.settlements += len(stored)
    if not stored:
        return
    person = person_for_year(u, person_id, year)
    policy = policies(person.region)
    acc = YearAccumulators(year=year)
    for s in stored:
        if not s.active:
            continue
        result, acc = settle_encounter(policy, person, s.encounter, acc)
        again = Split.of(result)
        if again != s.split:
            report.problems.append(
                f"{where}: settlement {s.row.id} is stored as {_show(s.split)} but settles as {_show(again)}"
            )
    kept = u.ledger.read_person_year(person_id, year)
    if kept != acc:
        report.problems.append(
            f"{where}: stored accumulators {kept.to_dict()} differ from {acc.to_dict()}"
        )
    ledger = u.history.ledger_by_settlement([int(s.row.id) for s in stored])
    for s in stored:
        for layer in ("basic", "assistance"):
            want: Decimal = getattr(s.split, layer) if s.active else ZERO
            got = from_fen(ledger.get((int(s.row.id), layer), 0))
            if got != want:
                report.problems.append(
                    f"{where}: settlement {s.row.id} {layer}: ledger holds {fmt(got)}, settlement says {fmt(want)}"
                )


def _show(split: Split) -> str:
    return f"basic {fmt(split.basic)}, assistance {fmt(split.assistance)}, personal {fmt(split.personal)}"
