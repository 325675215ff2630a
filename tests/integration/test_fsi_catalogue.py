"""The catalogue through the national interface, on SQLite and PostgreSQL: 3301 / 3302
map an institution's own codes to national ones and cancel them, each message one
transaction (a bad item leaves the good ones of its message unstored), dated and never
rewritten; 1312 / 1318 / 1319 download the catalogue, its caps by level and its own
first self-pay ratios, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from integration.certificates_world import CITY, H3, audit, count
from integration.test_catalogue import (
    BED,
    DRUG,
    IMATINIB,
    SYRUP,
    bill,
    quote,
    world,
)
from integration.test_fsi import His, _refused
from yibao.adapters.db.tables import catalogue_mappings
from yibao.adapters.db.uow import UnitOfWork
from yibao.service.services import Services

__all__ = ["world"]


def _his(client: TestClient) -> His:
    his = His(client, H3)
    his.sign_in()
    return his


def _mapping(own: str, national: str, list_type: str, **extra: Any) -> dict[str, Any]:
    return {
        "fixmedins_hilist_id": own,
        "fixmedins_hilist_name": f"本院 {own}",
        "list_type": list_type,
        "med_list_codg": national,
        "begndate": "2026-03-01",
        "enddate": "",
        "aprvno": "",
        "dosform": "",
        "prcunt": "次",
        "memo": "",
        **extra,
    }


def _national(client: TestClient, services: Services, code: str) -> Any:
    answer = client.post(
        "/v1/quotes", json=bill((code, "1", "30")), headers={"X-Institution": H3}
    ).json()
    return answer["lines"][0]["national_code"] if "lines" in answer else answer["code"]


def test_3301_maps_own_codes_and_3302_cancels_them(
    world: Engine,
    client: TestClient,
    services: Services,
) -> None:
    his = _his(client)
    bed, drug = _mapping("H3-BED", BED, "201"), _mapping("H3-DRUG", DRUG, "101")
    assert his.ok("3301", {"data": [bed, drug]}) == {}
    assert count(world, catalogue_mappings) == 2
    assert _national(client, services, "H3-BED") == BED
    assert quote(client, H3, bill(("H3-DRUG", "1", "150")), services)["lines"][0]["national_code"]
    with UnitOfWork(world) as uow:
        first = next(m for m in uow.catalogue.mappings(H3) if m.own_code == "H3-BED")
    assert audit(world, "mapping", str(first.id)) == ["catalogue.map"]
    # The same mapping again (a client retrying with a new msgid): nothing new.
    assert his.ok("3301", {"data": bed}) == {}
    assert count(world, catalogue_mappings) == 2
    # Each refusal names its field, and a message with one bad item stores none of it.
    good = _mapping("H3-NEW", IMATINIB, "101")
    cases = [
        (_mapping("H3-BED", DRUG, "101"), "begndate", "历史"),
        (_mapping("H3-X", BED, "101"), "list_type", "service"),
        (_mapping("H3-X", "NO-SUCH-CODE", "101"), "med_list_codg", "unknown_catalogue_code"),
        (_mapping("H3-X", BED, "201", enddate="2026-02-01"), "enddate", "invalid_dates"),
        (_mapping("H3-X", BED, "999"), "list_type", "999"),
        ({k: v for k, v in bed.items() if k != "fixmedins_hilist_name"}, "fixmedins_hilist_name"),
    ]
    for bad, field, *why in cases:
        _refused(his, his.envelope("3301", {"data": [good, bad]}), f"[1].{field}", *why)
    assert count(world, catalogue_mappings) == 2
    # A dated change: another national code from a later day; the earlier one stays.
    later = _mapping("H3-BED", DRUG, "101", begndate="2026-06-01")
    his.ok("3301", {"data": later})
    assert count(world, catalogue_mappings) == 3
    # 3302: the own code's mapping to that national code, cancelled and kept.
    undo = {"fixmedins_code": H3, "fixmedins_hilist_id": "H3-DRUG", "list_type": "101"}
    _refused(his, his.envelope("3302", {"data": {**undo, "med_list_codg": BED}}), "med_list_codg")
    _refused(
        his,
        his.envelope("3302", {"data": {**undo, "med_list_codg": DRUG, "fixmedins_code": "H2"}}),
        "fixmedins_code",
    )
    assert his.ok("3302", {"data": [{**undo, "med_list_codg": DRUG}]}) == {}
    assert _national(client, services, "H3-DRUG") == "unknown_catalogue_code"
    assert _national(client, services, "H3-BED") == BED  # the other mapping stands
    _refused(his, his.envelope("3302", {"data": {**undo, "med_list_codg": DRUG}}), "目录对照不存在")
    assert count(world, catalogue_mappings) == 3  # cancelled, kept


def _download(his: His, infno: str, **data: Any) -> dict[str, Any]:
    return his.ok(infno, {"data": {"updt_time": "2000-01-01 00:00:00", **data}})


def test_the_catalogue_downloads_page_by_page_with_caps_and_ratios(
    world: Engine,
    client: TestClient,
) -> None:
    his = _his(client)
    with UnitOfWork(world) as uow:
        every = uow.catalogue.region_entries(CITY)
    seen: list[str] = []
    page = 1
    while True:
        out = _download(his, "1312", page_num=page, page_size=2)
        assert out["recordCounts"] == len(every)
        assert out["pages"] == -(-len(every) // 2)
        assert out["firstPage"] == (page == 1)
        seen += [f"{r['hilist_code']} {r['begndate']}" for r in out["data"]]
        if out["lastPage"]:
            break
        page += 1
    assert seen == [f"{e.code} {e.valid_from.isoformat()}" for e in every]
    assert len(every) > 2
    (drug,) = _download(his, "1312", hilist_code=DRUG, page_num=1, page_size=10)["data"]
    assert (drug["chrgitm_lv"], drug["list_type"], drug["insu_admdvs"]) == ("02", "101", "990100")
    (syrup,) = _download(his, "1312", hilist_code=SYRUP, page_num=1, page_size=10)["data"]
    assert (syrup["lmt_used_flag"], syrup["memo"]) == ("1", "限儿童")
    bed = _download(his, "1312", hilist_code=BED, page_num=1, page_size=10)["data"][0]
    assert (bed["list_type"], bed["chrgitm_lv"]) == ("201", "01")
    # By the day in force, by the moment stored (an incremental download), by region.
    assert _download(his, "1312", query_date="2025-12-31", page_num=1, page_size=10)["data"] == []
    soon = (datetime.now(UTC) + timedelta(hours=9)).strftime("%Y-%m-%d %H:%M:%S")
    assert _download(his, "1312", updt_time=soon, page_num=1, page_size=10)["recordCounts"] == 0
    assert _download(his, "1312", insu_admdvs="990100", page_num=1, page_size=1)["pages"] == len(
        every
    )
    # Caps by level, ratios by scheme.
    caps = _download(his, "1318", hilist_code=DRUG, page_num=1, page_size=10)["data"]
    assert {r["hosp_lv"]: r["hilist_pric_uplmt_amt"] for r in caps} == {
        "0": Decimal("160.00"),
        "1": Decimal("160.00"),
        "2": Decimal("180.00"),
        "3": Decimal("200.00"),
    }
    ratios = _download(his, "1319", hilist_code=DRUG, page_num=1, page_size=10)["data"]
    assert {r["selfpay_prop_psn_type"]: r["selfpay_prop"] for r in ratios} == {
        "310": Decimal("0.15"),
        "390": Decimal("0.10"),
    }
    all_caps = _download(his, "1318", page_num=1, page_size=100)
    assert all_caps["recordCounts"] == sum(1 for e in every if e.caps)
    # Wrong paging and an unknown region: refused naming the field.
    base = {"updt_time": "2000-01-01", "page_num": 1, "page_size": 10}
    for infno, data, field in [
        ("1312", {**base, "page_size": 0}, "page_size"),
        ("1312", {**base, "page_size": 5000}, "page_size"),
        ("1318", {**base, "page_num": 0}, "page_num"),
        ("1319", {**base, "insu_admdvs": "123456"}, "insu_admdvs"),
        ("1312", {**base, "updt_time": "yesterday"}, "updt_time"),
        ("1312", {k: v for k, v in base.items() if k != "page_num"}, "page_num"),
    ]:
        _refused(his, his.envelope(infno, {"data": data}), field)
