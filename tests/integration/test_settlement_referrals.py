"""A settlement names the referral certificate that covers it (issue 14), on SQLite and
PostgreSQL: GET /v1/settlements/{id}, the person's year, the console's settlement page and
the member app's stays say which hospital issued it, to which hospital and its dates, by
the same rule as the certificate's own `stays` (read when asked: a stay settled before the
certificate was recorded finds it, a reversed one loses it). And the clerk's referral
form takes the stay the patient came from, chosen by hospital and date."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.auth import account, clerk, institution
from integration.certificates_world import ADULT, CITY, COUNTY, COUNTY_HOSPITAL, H2, H3, build
from integration.test_certificates import referral_body
from integration.test_console_referrals import signed_in
from integration.test_referral_certificates import _stay
from yibao.domain.access import Principal, Role
from yibao.entrypoints.api.responses import StoredSettlementOut
from yibao.service.services import Services

READER = Principal("reader", Role.CLERK, region=CITY)


def _referrals(client: TestClient, settlement_id: int, headers: dict[str, str]) -> Any:
    answer = client.get(f"/v1/settlements/{settlement_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["referrals"]


def test_a_settlement_names_the_certificate_of_its_episode(
    engine: Engine, client: TestClient, services: Services
) -> None:
    build(engine)
    at_h2, at_county = institution(services, H2), institution(services, COUNTY_HOSPITAL)
    origin = _stay(client, services, H2, "2026-04-28")
    # Settled before the certificate is recorded: it is found when read, not linked on write.
    early = _stay(client, services, COUNTY_HOSPITAL, "2026-05-03")
    issued = client.post(
        "/v1/referrals",
        json=referral_body(to_region=None, to_institution=COUNTY_HOSPITAL, referred_from=origin),
        headers=at_h2,
    )
    assert issued.status_code == 201, issued.text
    ref = issued.json()
    later = _stay(client, services, COUNTY_HOSPITAL, "2026-05-20")
    after = _stay(client, services, COUNTY_HOSPITAL, "2026-06-02")  # after the dates
    home = _stay(client, services, H3, "2026-05-12")  # another hospital
    gone = _stay(client, services, COUNTY_HOSPITAL, "2026-05-25")
    reversed_ = client.post(
        f"/v1/settlements/{gone}/reversal", json={"reason": "refund"}, headers=at_county
    )
    assert reversed_.status_code == 200, reversed_.text

    words = {
        "id": ref["id"],
        "issued_by": H2,
        "issued_by_name": "City Hospital 2",
        "to_region": COUNTY,
        "to_region_name": {"zh": "山县", "en": "Hill County"},
        "to_institution": COUNTY_HOSPITAL,
        "to_institution_name": "County Hospital",
        "valid_from": "2026-05-01",
        "valid_to": "2026-05-31",
    }
    assert _referrals(client, origin, at_h2) == [{**words, "role": "referred_from"}]
    assert _referrals(client, early, at_county) == [{**words, "role": "referred_to"}]
    assert _referrals(client, later, at_county) == [{**words, "role": "referred_to"}]
    assert _referrals(client, after, at_county) == []
    assert _referrals(client, home, institution(services, H3)) == []
    assert _referrals(client, gone, at_county) == []

    # One rule: a settlement names the certificate exactly when the certificate lists it.
    staff = clerk(services)
    stays = client.get(f"/v1/referrals/{ref['id']}", headers=at_h2).json()["stays"]
    listed = {s["settlement_id"]: s["role"] for s in stays}
    assert listed == {origin: "referred_from", early: "referred_to", later: "referred_to"}
    for sid in (origin, early, later, after, home, gone):
        named = {r["id"]: r["role"] for r in _referrals(client, sid, staff)}
        assert named == ({ref["id"]: listed[sid]} if sid in listed else {})

    # The person's year carries each stay's certificates as its own view does.
    year = client.get(
        f"/v1/persons/{ADULT}/years/2026", headers=account(services, Role.INSURED, person_id=ADULT)
    )
    assert year.status_code == 200, year.text
    by_id = {s["id"]: s["referrals"] for s in year.json()["settlements"]}
    assert by_id[later] == [{**words, "role": "referred_to"}]
    assert by_id[after] == []


def test_a_certificate_without_a_hospital_names_its_region_on_the_stay_it_was_issued_at(
    engine: Engine, client: TestClient, services: Services
) -> None:
    build(engine)
    at_h2 = institution(services, H2)
    origin = _stay(client, services, H2, "2026-04-28")
    plain = client.post("/v1/referrals", json=referral_body(referred_from=origin), headers=at_h2)
    assert plain.status_code == 201, plain.text
    [named] = _referrals(client, origin, at_h2)
    assert (named["role"], named["to_institution"], named["to_institution_name"]) == (
        "referred_from",
        None,
        None,
    )
    assert named["to_region_name"] == {"zh": "山县", "en": "Hill County"}
    # A stay in the county within the dates is not the certificate's: it names no hospital.
    there = _stay(client, services, COUNTY_HOSPITAL, "2026-05-10")
    assert _referrals(client, there, clerk(services)) == []


def test_the_console_and_the_member_app_say_it_in_words(
    engine: Engine, client: TestClient, services: Services
) -> None:
    build(engine)
    at_h2 = institution(services, H2)
    origin = _stay(client, services, H2, "2026-04-28")
    body = referral_body(to_region=None, to_institution=COUNTY_HOSPITAL, referred_from=origin)
    assert client.post("/v1/referrals", json=body, headers=at_h2).status_code == 201
    there = _stay(client, services, COUNTY_HOSPITAL, "2026-05-10")
    alone = _stay(client, services, H3, "2026-07-01")

    console = signed_in(services, clerk(services))
    covered = {
        "en": "This stay is covered by the referral from City Hospital 2 to County Hospital, "
        "valid from 2026-05-01 to 2026-05-31.",
        "zh": "本次住院在City Hospital 2开具的转往County Hospital的转诊证明范围内，"
        "有效期 2026-05-01 至 2026-05-31。",
    }
    issued_here = (
        "City Hospital 2 referred the patient from this stay to County Hospital, "
        "on a certificate valid from 2026-05-01 to 2026-05-31."
    )
    for lang, sentence in covered.items():
        page = console.get(f"/console/settlements/{there}", params={"lang": lang})
        assert page.status_code == 200, page.text
        assert _testid(page.text, "referral") == [sentence]
    page = console.get(f"/console/settlements/{origin}", params={"lang": "en"})
    assert _testid(page.text, "referral") == [issued_here]
    page = console.get(f"/console/settlements/{alone}", params={"lang": "en"})
    assert _testid(page.text, "referral") == []

    member = signed_in(services, account(services, Role.INSURED, person_id=ADULT))
    for lang, sentence in covered.items():
        page = member.get("/app/years/2026", params={"lang": lang})
        assert page.status_code == 200, page.text
        assert _testid(_article(page.text, there), "referral") == [sentence]
    page = member.get("/app/years/2026", params={"lang": "en"})
    assert _testid(_article(page.text, origin), "referral") == [issued_here]
    assert _testid(_article(page.text, alone), "referral") == []


def _testid(html: str, name: str) -> list[str]:
    """The text of each element with this data-testid (tags stripped, spaces joined)."""
    found = re.findall(rf'data-testid="{name}">(.*?)</(?:dd|p)>', html, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", f).split()) for f in found]


def _article(html: str, settlement_id: int) -> str:
    found = re.search(rf'data-testid="settlement-{settlement_id}">(.*?)</article>', html, re.S)
    assert found is not None, f"settlement {settlement_id} is not on the page"
    return found.group(1)


WORK = f"/console/persons/{ADULT}/work"
FORM = {
    "action": "referral",
    "issued_by": H2,
    "to_institution": COUNTY_HOSPITAL,
    "referral_from": "2026-05-01",
    "referral_to": "2026-05-31",
    "diagnosis": "I25.1",
}


def test_the_clerks_referral_form_takes_the_stay_the_patient_came_from(
    engine: Engine, client: TestClient, services: Services
) -> None:
    build(engine)
    origin = _stay(client, services, H2, "2026-04-28")
    elsewhere = _stay(client, services, H3, "2026-04-20")
    console = signed_in(services, clerk(services))
    shown = console.get(WORK, params={"lang": "en"})
    assert shown.status_code == 200, shown.text
    select = re.search(r'<select id="f-referred_from".*?</select>', shown.text, re.S)
    assert select is not None
    options = re.findall(r'<option value="(\d*)"\s*(?:selected)?>([^<]*)</option>', select.group(0))
    # By hospital and date, newest first: the stay's id is the value, never the words.
    assert [(v, " ".join(text.split())) for v, text in options] == [
        ("", "Not named on the certificate"),
        (str(origin), "City Hospital 2 · 2026-04-28"),
        (str(elsewhere), "City Hospital 3 · 2026-04-20"),
    ]
    token = re.search(r'name="csrf" value="([^"]+)"', shown.text)
    assert token is not None
    before = services.certificates.referrals_of(READER, ADULT)

    # A stay at another hospital than the issuer: refused next to the field, nothing stored.
    for lang, words in (
        ("en", "That stay cannot be the one the patient was referred from"),
        ("zh", "不能选这次住院作为转出的住院"),
    ):
        wrong = console.post(
            WORK,
            params={"lang": lang},
            data={**FORM, "csrf": token.group(1), "referred_from": str(elsewhere)},
        )
        assert wrong.status_code == 422, wrong.text
        error = re.search(r'<p class="error" id="e-referred_from"[^>]*>([^<]*)</p>', wrong.text)
        assert error is not None
        assert words in error.group(1)
        assert f'<option value="{elsewhere}" selected>' in wrong.text  # the choice is kept
    nonsense = console.post(WORK, data={**FORM, "csrf": token.group(1), "referred_from": "x"})
    assert nonsense.status_code == 422
    assert 'id="e-referred_from"' in nonsense.text
    assert services.certificates.referrals_of(READER, ADULT) == before

    done = console.post(WORK, data={**FORM, "csrf": token.group(1), "referred_from": str(origin)})
    assert done.status_code == 303, done.text
    [made] = [r for r in services.certificates.referrals_of(READER, ADULT) if r not in before]
    assert made["referred_from"] == origin
    assert [(s["settlement_id"], s["role"]) for s in made["stays"]] == [(origin, "referred_from")]


def test_the_api_documents_a_settlements_referrals_and_keeps_to_it(
    engine: Engine, client: TestClient, services: Services
) -> None:
    build(engine)
    at_h2 = institution(services, H2)
    origin = _stay(client, services, H2, "2026-04-28")
    body = referral_body(to_region=None, to_institution=COUNTY_HOSPITAL, referred_from=origin)
    assert client.post("/v1/referrals", json=body, headers=at_h2).status_code == 201
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    field = schemas["StoredSettlementOut"]["properties"]["referrals"]
    assert field["items"] == {"$ref": "#/components/schemas/SettlementReferralOut"}
    assert set(schemas["SettlementReferralOut"]["properties"]) == {
        "id",
        "role",
        "issued_by",
        "issued_by_name",
        "to_region",
        "to_region_name",
        "to_institution",
        "to_institution_name",
        "valid_from",
        "valid_to",
    }
    answer = client.get(f"/v1/settlements/{origin}", headers=at_h2).json()
    # Every key of the answer is documented: nothing the model does not name goes out.
    assert (
        StoredSettlementOut.model_validate(answer).model_dump()["referrals"]
        == (answer["referrals"])
    )
    assert answer["referrals"][0]["role"] == "referred_from"
