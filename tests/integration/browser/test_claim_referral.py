"""The member app's claim form names the stay a hospital stay was referred from (issue 14):
a choice of the family's earlier hospital stays by person, hospital name and date (never
an id on the page), refused next to the field for a stay that is not a hospital stay,
and kept with the claim; the clerk reviewing it reads the chain in words. Shot at 390 px
and 1440 px and checked with axe-core."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from integration.auth import account
from integration.browser.conftest import Opener, shoot
from integration.browser.test_member_app import PASSWORD, PNG, signed_in, world
from integration.roles_world import C1, CITY, COUNTY
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Role
from yibao.domain.model import Kind, LineClass
from yibao.service.access import OPERATOR
from yibao.service.claims import Claim, ClaimLine, ClaimReason
from yibao.service.encounter_details import EncounterDetails
from yibao.service.services import Services
from yibao.service.settlement import Bill, BillLine

WORDS = {
    "zh": {
        "only_stays": "只有住院才有转诊来源。",
        "not_theirs": "不能选这次住院作为转出的住院：请选择同一人同一年内更早的一次住院，或者不选。",
    },
    "en": {
        "only_stays": "Only a hospital stay is referred from another.",
        "not_theirs": "That stay cannot be the one this stay was referred from: choose an "
        "earlier hospital stay of the same person in the same year, or none.",
    },
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_claim_names_the_stay_it_was_referred_from(
    open_page: Opener, services: Services, engine: Engine, lang: str
) -> None:
    world(engine, services)
    _, stay = services.settlements.settle(
        Bill(
            "I1",
            "CARD-C1",
            Kind.INPATIENT,
            date(2026, 6, 10),
            (BillLine("TEST-A", Decimal(1), Decimal("2500.00")),),
        )
    )
    page = signed_in(open_page, services, lang=lang)
    page.goto(f"/app/claims/new?lang={lang}")
    choices = page.locator("#f-referred_from option").all_inner_texts()
    assert len(choices) == 2  # "not referred", and the child's stay (not the outpatient visit)
    assert choices[1] == "person C1 · hospital I1 · 2026-06-10"  # by name and date, no id
    page.select_option("#f-person", C1)
    page.select_option("#f-kind", "outpatient")
    page.fill("#f-day", "2026-07-02")
    page.fill("#f-hospital_name", "县人民医院")
    page.select_option("#f-region", "hill-county")
    page.fill("#f-item_1", "住院费")
    page.fill("#f-amount_1", "6000.00")
    page.select_option("#f-referred_from", index=1)

    def send() -> None:
        page.set_input_files(
            "#f-receipts", {"name": "receipt.png", "mimeType": "image/png", "buffer": PNG}
        )
        page.click("main button[type=submit]")

    send()
    assert page.locator("#e-referred_from").inner_text() == WORDS[lang]["only_stays"]
    shoot(page, f"member-claim-referred-error-{lang}")
    page.select_option("#f-kind", "inpatient")
    page.select_option("#f-person", "G1")  # the child's stay named on the parent's claim
    send()
    assert page.locator("#e-referred_from").inner_text() == WORDS[lang]["not_theirs"]
    page.select_option("#f-person", C1)
    send()
    assert page.url.endswith("/app/claims?done=submitted"), page.locator(".error").all_inner_texts()
    with UnitOfWork(engine) as uow:
        [claim] = uow.member.claims_of([C1])
    assert (claim.kind, claim.referred_from) == ("inpatient", stay["id"])
    page.goto(f"/app/claims/new?lang={lang}")
    page.select_option("#f-referred_from", index=1)
    shoot(page, f"member-claim-referred-from-{lang}")


def test_the_clerk_reads_the_chain_on_the_claim(
    open_page: Opener, services: Services, engine: Engine
) -> None:
    world(engine, services)
    _, stay = services.settlements.settle(
        Bill(
            "I1",
            "CARD-C1",
            Kind.INPATIENT,
            date(2026, 6, 10),
            (BillLine("TEST-A", Decimal(1), Decimal("2500.00")),),
        )
    )
    made = services.claims.submit(
        OPERATOR,
        Claim(
            person_id=C1,
            reason=ClaimReason.OTHER,
            kind=Kind.INPATIENT,
            date=date(2026, 6, 20),
            hospital_name="县人民医院",
            hospital_level=3,
            hospital_region=COUNTY,
            hospital_designated=True,
            lines=(ClaimLine(Decimal("6000.00"), cls=LineClass.A),),
            details=EncounterDetails(referred_from=stay["id"]),
        ),
    )
    account(services, Role.CLERK, region=CITY, account_id="clerk-web", password=PASSWORD)
    page = open_page(f"/sign-in?next=/console/queues/claims/{made['id']}")
    page.fill("#f-account", "clerk-web")
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    chain = page.get_by_test_id("claim-chain").inner_text()
    assert "2026-06-10 在hospital I1的住院（2级）：已付起付线 500.00元" in chain, chain
    shoot(page, "console-claim-chain")
