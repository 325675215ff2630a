"""The facts a decision table's conditions are checked against (domain/conditions.py)."""

from __future__ import annotations

from datetime import date

from yibao.domain.conditions import OTHER_DIAGNOSIS, Facts
from yibao.domain.model import Encounter, Person, age_on
from yibao.domain.parameters import RegionPolicy

# `scope.Place.how` as the place classes conditions name.
PLACE_CLASS = {
    "local": "local",
    "filed": "filed",
    "referral": "referred",
    "emergency": "emergency",
    "unfiled": "unfiled",
}


# tuple.__new__ of Facts (a named tuple) and its twelve values: the class's own __new__
# is a Python function that takes them one by one, at twice the cost.
_new_facts = tuple.__new__


def encounter_facts(
    policy: RegionPolicy, person: Person, enc: Encounter, how: str = "local"
) -> Facts:
    """Everything about a bill a row of a table may name, on the bill's date."""
    day = enc.date
    hospital = enc.hospital
    # str() of a StrEnum is its value, at a tenth of Enum.value's cost (every bill asks).
    # The facts in Facts' order (scheme, category, age, retired, level, type, province,
    # place, kind, cause, delivery, diagnosis).
    facts: Facts = _new_facts(
        Facts,
        (
            str(person.scheme),
            person.category_on(day),
            age_on(person.birth_date, day),
            "true" if person.retired else "false",
            str(hospital.level),
            hospital.type,
            "same" if how == "local" else hospital.province,
            PLACE_CLASS[how],
            str(enc.kind),
            enc.cause,
            enc.delivery or "none",
            policy.diagnosis_group(enc.diagnosis),
        ),
    )
    return facts


def year_facts(person: Person, day: date, group: str = OTHER_DIAGNOSIS) -> Facts:
    """A person's year, for the yearly layer: who they are on `day`, and the diagnosis
    group whose payments are settled."""
    return Facts(
        scheme=str(person.scheme),
        category=person.category_on(day),
        age=person.age_on(day),
        retired="true" if person.retired else "false",
        diagnosis=group,
    )
