"""fast_init (domain/frozen.py): a frozen dataclass whose constructor gives its __dict__
directly is still the same dataclass: the same signature and defaults (fresh ones from a
factory), frozen, equal and hashed by its fields, __post_init__ run."""

from __future__ import annotations

import dataclasses
import inspect
import sys
from dataclasses import dataclass, field
from datetime import date

import pytest

from yibao.domain.frozen import fast_init
from yibao.domain.ids import ResidentIdError, make_resident_id
from yibao.domain.registry import PersonRecord


@fast_init
@dataclass(frozen=True)
class Sample:
    name: str
    amount: int = 3
    tags: dict[str, str] = field(default_factory=dict)
    note: str = field(default="none", compare=False)
    made: list[int] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError("negative")


@fast_init
@dataclass(frozen=True)
class Restricted:
    name: str
    amount: int = 3


@dataclass(frozen=True)
class Plain:
    name: str
    amount: int = 3
    tags: dict[str, str] = field(default_factory=dict)
    note: str = field(default="none", compare=False)
    made: list[int] = field(default_factory=list, init=False)


def test_the_same_signature_defaults_and_fields() -> None:
    ours, theirs = inspect.signature(Sample), inspect.signature(Plain)
    assert list(ours.parameters) == list(theirs.parameters)
    assert ours.return_annotation == theirs.return_annotation
    for name in ("name", "amount", "note"):
        assert ours.parameters[name].default == theirs.parameters[name].default
        assert ours.parameters[name].annotation == theirs.parameters[name].annotation
    one = Sample("a")
    assert (one.name, one.amount, one.tags, one.note, one.made) == ("a", 3, {}, "none", [])
    assert one.tags is not Sample("b").tags  # a fresh default from the factory each time
    assert Sample("a", 4, {"k": "v"}, note="x").tags == {"k": "v"}
    assert Sample(name="a", amount=5).amount == 5


def test_still_frozen_equal_hashable_and_replaceable() -> None:
    one = Sample("a", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.name = "b"  # type: ignore[misc]
    assert one == Sample("a", 1, note="other")  # note is not compared
    assert one != Sample("a", 2)
    assert len({Restricted("a"), Restricted("a"), Restricted("b")}) == 2
    assert dataclasses.replace(one, amount=7) == Sample("a", 7)
    assert repr(one) == "Sample(name='a', amount=1, tags={}, note='none', made=[])"


def test_post_init_still_runs() -> None:
    with pytest.raises(ValueError, match="negative"):
        Sample("a", -1)
    with pytest.raises(ValueError, match="negative"):
        dataclasses.replace(Sample("a"), amount=-1)


def test_a_person_record_is_checked_every_time_it_is_wrong() -> None:
    number = make_resident_id("110101", date(1980, 5, 3), 123)  # a man's (odd sequence)
    PersonRecord("p1", number, "Wang", date(1980, 5, 3), "M", "r")
    PersonRecord("p1", number, "Wang", date(1980, 5, 3), "M", "r")  # kept: valid
    for _ in range(2):
        with pytest.raises(ResidentIdError, match="sex"):
            PersonRecord("p1", number, "Wang", date(1980, 5, 3), "F", "r")
        with pytest.raises(ResidentIdError, match="born"):
            PersonRecord("p1", number, "Wang", date(1980, 5, 4), "M", "r")
        wrong = number[:-1] + ("1" if number[-1] != "1" else "2")  # its check character
        with pytest.raises(ResidentIdError):
            PersonRecord("p1", wrong, "Wang", date(1980, 5, 3), "M", "r")


def test_slots_are_refused() -> None:
    @dataclass(frozen=True, slots=True)
    class Slotted:
        name: str

    with pytest.raises(TypeError):
        fast_init(Slotted)


def test_the_dict_is_given_whole_not_filled_in_place() -> None:
    """A new value's __dict__ filled in place is a split dict (its keys the class's shared
    ones), whose fields CPython 3.11 reads by the generic look-up, three times the cost:
    fast_init gives it a dict made at once. Seen from here by its size: a dict made whole
    is as big as a copy of it, a split one is not."""
    for value in (Sample("a", 1), Restricted("b"), Sample("c", 2, {"k": "v"})):
        assert sys.getsizeof(value.__dict__) == sys.getsizeof(dict(value.__dict__))
