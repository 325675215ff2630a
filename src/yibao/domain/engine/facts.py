"""The facts a decision table's conditions are checked against (domain/conditions.py)."""

from __future__ import annotations

from datetime import date

from yibao.domain.conditions import OTHER_DIAGNOSIS, Facts
from yibao.domain.model import Encounter, Person
from yibao.domain.parameters import RegionPolicy

# `scope.Place.how` as the place classes conditions name.
PLACE_CLASS = {
    "local": "local",
    "filed": "filed",
    "referral": "referred",
    "emergency": "emergency",
    "unfiled": "unfiled",
}


def encounter_facts(
    policy: RegionPolicy, person: Person, enc: Encounter, how: str = "local"
) -> Facts:
    """Everything about a bill a row of a table may name, on the bill's date."""
    day = enc.date
    local = how == "local"
    # str() of a StrEnum is its value, at a tenth of Enum.value's cost (every bill asks).
    return Facts(
        scheme=str(person.scheme),
        category=person.category_on(day),
        age=person.age_on(day),
        retired="true" if person.retired else "false",
        level=str(enc.hospital.level),
        type=enc.hospital.type,
        province="same" if local else enc.hospital.province,
        place=PLACE_CLASS[how],
        kind=str(enc.kind),
        cause=enc.cause,
        delivery=enc.delivery or "none",
        diagnosis=policy.diagnosis_group(enc.diagnosis),
    )


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
