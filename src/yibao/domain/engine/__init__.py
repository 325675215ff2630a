"""The settlement engine: pure functions from (policy, person, bill, year so far) to a split."""

from yibao.domain.engine.results import (
    EncounterResult,
    Refusal,
    RefusalCode,
    Route,
    SeriousIllnessResult,
    YearResult,
)
from yibao.domain.engine.serious_illness import serious_illness
from yibao.domain.engine.settle import (
    InputError,
    outside_the_year,
    settle_encounter,
    settle_year,
)

__all__ = [
    "EncounterResult",
    "InputError",
    "Refusal",
    "RefusalCode",
    "Route",
    "SeriousIllnessResult",
    "YearResult",
    "outside_the_year",
    "serious_illness",
    "settle_encounter",
    "settle_year",
]
