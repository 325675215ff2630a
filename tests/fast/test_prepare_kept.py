"""What a card settlement's preparation keeps for the next bill (service/settlement.py
`_insured`, `_hospital`; bootstrap.PolicyLoader; service/catalogue_lines.py's terms of an
entry) is kept on the objects it was made from, which the counter hands out again only
for the same values: a changed record, enrolment, institution or catalogue entry is
another object, and is never answered with what was made from the old one."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any, cast

from fast.test_counter_facts import _carded
from yibao.adapters.db.counter_pg import _facts
from yibao.adapters.parameter_files import search_path
from yibao.bootstrap import PolicyLoader
from yibao.domain.model import Kind, Scheme
from yibao.domain.registry import Institution
from yibao.service.ports import UnitOfWork
from yibao.service.settlement import Bill, _hospital, _insured

_NO_REGISTRY = cast(UnitOfWork, SimpleNamespace(registry=None))  # nothing is to be read


def _held(row: list[Any]) -> tuple[Any, Any, Any, Bill]:
    """The record, enrolment and institution the counter reads from the row, and a bill."""
    facts = _facts(row, 2026)
    record, enrolment, inst = facts.person, facts.enrolment, facts.institution
    assert record is not None
    assert enrolment is not None
    assert inst is not None
    return record, enrolment, inst, Bill(inst.id, "C1", Kind.OUTPATIENT, date(2026, 3, 1), ())


def _person(row: list[Any]) -> Any:
    record, enrolment, inst, bill = _held(row)
    person, referral = _insured(_NO_REGISTRY, record, enrolment, inst, bill, ())
    assert referral is False
    return person


def test_the_same_rows_give_the_same_person() -> None:
    assert _person(_carded()) is _person(_carded())


def test_a_changed_enrolment_or_record_is_never_the_kept_person() -> None:
    before = _person(_carded())
    assert before.scheme is Scheme.RESIDENT
    employee = _person(_carded(scheme="employee"))
    assert employee.scheme is Scheme.EMPLOYEE
    row = _carded()
    row[25] = True  # retired
    retired = _person(row)
    assert (retired.retired, before.retired) == (True, False)
    # and back: the first rows' person again, not the last one made
    assert _person(_carded()) == before
    assert _person(_carded()).scheme is Scheme.RESIDENT


def test_categories_are_never_kept_over() -> None:
    record, enrolment, inst, bill = _held(_carded())
    plain, _ = _insured(_NO_REGISTRY, record, enrolment, inst, bill, ())
    spans = cast(Any, ("a category span",))
    with_category, _ = _insured(_NO_REGISTRY, record, enrolment, inst, bill, spans)
    assert with_category.categories == spans
    assert _insured(_NO_REGISTRY, record, enrolment, inst, bill, ())[0] is plain
    assert plain.categories == ()


def _institution(level: int) -> Institution:
    row = _carded(level=level)
    inst = _facts(row, 2026).institution
    assert inst is not None
    return inst


def test_a_hospital_is_its_institution_pilot_and_province() -> None:
    inst = _institution(3)
    assert _hospital(inst, False, "same") is _hospital(inst, False, "same")
    assert _hospital(inst, True, "same").pilot is True
    assert _hospital(inst, False, "other").province == "other"
    assert _hospital(inst, False, "same").pilot is False
    assert _hospital(inst, False, "same").province == "same"


def test_a_changed_institution_is_never_the_kept_hospital() -> None:
    assert _hospital(_institution(3), False, "same").level == 3
    assert _hospital(_institution(2), False, "same").level == 2
    assert _hospital(_institution(3), False, "same").level == 3


def test_the_policy_loader_gives_load_regions_policy() -> None:
    loader = PolicyLoader(search_path())
    first = loader("sample-city")
    assert loader("sample-city") is first
    assert first.code == "sample-city"
    assert loader("hill-county").code == "hill-county"
