"""2501 转院备案 through the national interface, on SQLite and PostgreSQL: the filing
hospital's referral becomes yibao's referral certificate in the message's one transaction,
and the stay it names settles as a referral (the engine's place class); what is wrong is
refused naming the field and stores nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.auth import institution
from integration.certificates_world import (
    ADULT,
    COUNTY,
    COUNTY_HOSPITAL,
    H2,
    H3,
    audit,
    bill,
    build,
    count,
    elsewhere_step,
)
from integration.test_certificates import quote, settle
from integration.test_fsi import His, _refused
from yibao.adapters.db.tables import referrals
from yibao.service.services import Services


def _filing(**changes: Any) -> dict[str, Any]:
    return {
        "refmedin": {
            "psn_no": ADULT,
            "insutype": "390",
            "tel": "",
            "addr": "",
            "diag_code": "I25.1",
            "diag_name": "冠心病",
            "dise_cond_dscr": "",
            "reflin_medins_no": COUNTY_HOSPITAL,
            "reflin_medins_name": "县医院",
            "mdtrtarea_admdvs": "990200",
            "hosp_agre_refl_flag": "1",
            "refl_type": "1",
            "refl_date": "2026-05-01",
            "refl_rea": "病情需要",
            "refl_opnn": "同意",
            "begndate": "2026-05-01",
            "enddate": "2026-05-31",
            **changes,
        }
    }


def test_a_referral_filed_by_2501_settles_the_stay_as_referred(
    engine: Engine, client: TestClient, services: Services
) -> None:
    build(engine)
    his = His(client, H2)
    his.sign_in()
    # Refused, naming the field, nothing stored.
    for changes, field, *why in [
        ({"enddate": "2026-04-01"}, "enddate", "invalid_period"),
        ({"enddate": ""}, "enddate"),
        ({"reflin_medins_no": "NOWHERE", "mdtrtarea_admdvs": "123456"}, "reflin_medins_no"),
        ({"reflin_medins_no": H3}, "reflin_medins_no", "same_region"),
        ({"psn_no": "NO-SUCH-PERSON"}, "psn_no", "unknown_person"),
        ({"diag_code": ""}, "diag_code"),
    ]:
        _refused(his, his.envelope("2501", _filing(**changes)), field, *why)
    assert count(engine, referrals) == 0
    # Filed: yibao's referral certificate, issued by the filing hospital.
    out = his.ok("2501", _filing())
    ref_id = out["result"]["trt_dcla_detl_sn"]
    assert count(engine, referrals) == 1
    assert audit(engine, "referral", ref_id) == ["referral.create"]
    # By the division code when the hospital referred to is not registered here.
    his.ok("2501", _filing(reflin_medins_no="ELSEWHERE-1", mdtrtarea_admdvs="990200"))
    assert count(engine, referrals) == 2
    # The stay at the county hospital within the dates settles as a referral.
    at_county = institution(services, COUNTY_HOSPITAL)
    inside = settle(client, at_county, bill("2026-05-10"))
    assert inside["referral"] is True
    assert elsewhere_step(inside)["args"]["how"] == "referral"  # type: ignore[index]
    assert quote(client, at_county, bill("2026-06-02"))["referral"] is False
    view = client.get(f"/v1/referrals/{ref_id}", headers=institution(services, H2)).json()
    assert (view["person_id"], view["issued_by"], view["to_region"]) == (ADULT, H2, COUNTY)
    assert (view["valid_from"], view["valid_to"]) == ("2026-05-01", "2026-05-31")
