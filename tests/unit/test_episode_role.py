"""The one rule that links a referral certificate and a settlement (issue 14): it gives
a certificate its `stays` and a settlement its `referrals`, so each edge is tested here
on plain rows, without a database."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from yibao.service.certificates_referrals import episode_role

CERT = SimpleNamespace(
    person_id="A1",
    referred_from=7,
    to_institution="HC1",
    valid_from=date(2026, 5, 1),
    valid_to=date(2026, 5, 31),
)


def stay(**changes: object) -> SimpleNamespace:
    row = {
        "id": 9,
        "person_id": "A1",
        "institution_id": "HC1",
        "status": "settled",
        "encounter_date": date(2026, 5, 10),
    }
    return SimpleNamespace(**{**row, **changes})


@pytest.mark.parametrize(
    ("changes", "role"),
    [
        ({}, "referred_to"),
        ({"encounter_date": date(2026, 5, 1)}, "referred_to"),  # the first day counts
        ({"encounter_date": date(2026, 5, 31)}, "referred_to"),  # and the last
        ({"encounter_date": date(2026, 4, 30)}, None),
        ({"encounter_date": date(2026, 6, 1)}, None),
        ({"status": "reversed"}, None),
        ({"institution_id": "H3"}, None),
        ({"person_id": "S1"}, None),
        # The stay it was issued at, at the issuing hospital before the dates, even reversed.
        ({"id": 7, "institution_id": "H2", "encounter_date": date(2026, 4, 28)}, "referred_from"),
        ({"id": 7, "institution_id": "H2", "status": "reversed"}, "referred_from"),
        ({"id": 7, "person_id": "S1"}, None),  # never another person's
    ],
)
def test_a_stay_belongs_to_a_certificates_episode(
    changes: dict[str, object], role: str | None
) -> None:
    assert episode_role(CERT, stay(**changes)) == role


def test_a_certificate_without_hospital_or_origin_holds_no_stay() -> None:
    paper = SimpleNamespace(**{**vars(CERT), "referred_from": None, "to_institution": None})
    assert episode_role(paper, stay()) is None
    assert episode_role(paper, stay(id=7)) is None
