"""Catalogues as real catalogues carry them (reference §1a), through the service and the
API: the import of national catalogue files (row report, dated updates, history never
rewritten), caps by institution level, ratios by scheme, payment restrictions, and
institutions' own codes mapped to national codes. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from integration.auth import institution
from integration.certificates_world import (
    ADULT,
    CHILD,
    CITY,
    H2,
    H3,
    YEAR,
    audit,
    build,
    card_of,
    count,
)
from yibao.adapters.catalogue_files import CatalogueFileError, read_catalogue
from yibao.adapters.db.tables import catalogue_entries, catalogue_mappings, settlements
from yibao.domain.access import Principal, Role
from yibao.entrypoints.cli import app
from yibao.service.access import OPERATOR
from yibao.service.errors import NotFoundError, ServiceError
from yibao.service.ports.files import CatalogueFile
from yibao.service.services import Services

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "catalogue"
DRUG = "XJ01DDA006I001010152252"  # class B, caps by level, ratios by scheme
SYRUP = "XR05CBA001B002010100001"  # children only
IMATINIB = "XL01XEA001A001010100002"  # approved malignant tumour only, own ratio 20%
CLOMIFENE = "XG03XAA001A001010100003"  # women only
BED = "001109000010000"
ANGIOGRAPHY = "003305000010000"  # level 2 or above, inpatient only


def update_file() -> CatalogueFile:
    """The dated update from 1 July, read."""
    name = "drug-2026-07-update.csv"
    return read_catalogue((EXAMPLES / name).read_bytes(), "drug", "update.csv")


@pytest.fixture
def world(engine: Engine, services: Services) -> Engine:
    build(engine)
    for name, book in (("drug-2026.csv", "drug"), ("service-2026.csv", "service")):
        report = services.catalogue.import_file(
            OPERATOR, CITY, read_catalogue((EXAMPLES / name).read_bytes(), book, name)
        )
        assert report.stored, report.problems
    return engine


def bill(
    *lines: tuple[str, str, str],
    kind: str = "outpatient",
    person: str = ADULT,
    day: str = "2026-03-02",
) -> dict[str, Any]:
    return {
        "card_number": card_of(person),
        "kind": kind,
        "date": day,
        "diagnosis": "K35.8",
        "lines": [{"code": c, "quantity": q, "unit_price": p} for c, q, p in lines],
    }


def quote(client: TestClient, at: str, body: dict[str, Any], services: Services) -> dict[str, Any]:
    answer = client.post("/v1/quotes", json=body, headers=institution(services, at))
    assert answer.status_code == 200, answer.text
    out: dict[str, Any] = answer.json()
    return out


def test_caps_by_level_and_ratios_by_scheme(
    world: Engine, client: TestClient, services: Services
) -> None:
    body = bill((DRUG, "2", "210.5"))
    at3, at2 = quote(client, H3, body, services), quote(client, H2, body, services)
    # 2 x 210.50 = 421.00; level 3 caps at 200.00: over 21.00; resident ratio 10%
    (l3,) = at3["lines"]
    assert (l3["cap"], l3["over_limit"], l3["ratio"], l3["first_self_pay"], l3["eligible"]) == (
        "200.00", "21.00", "0.10", "40.00", "360.00",
    )  # fmt: skip
    assert (at3["total"], at3["over_limit"], at3["eligible"]) == ("421.00", "21.00", "360.00")
    # level 2 caps at 180.00: over 61.00, 360.00 within: first 36.00, eligible 324.00
    (l2,) = at2["lines"]
    assert (l2["cap"], l2["over_limit"], l2["eligible"]) == ("180.00", "61.00", "324.00")
    steps = {s["rule"]: s for s in at2["explanation"]}
    assert steps["line_over_limit"]["parameter"]["key"] == DRUG
    assert steps["line_over_limit"]["parameter"]["since"] == "2026-01-01"
    # The dated update from 1 July: one cap of 190.00 at every level, a ratio of 12%.
    report = services.catalogue.import_file(OPERATOR, CITY, update_file())
    assert (report.stored, [a["as"] for a in report.added]) == (True, ["update"])
    later = quote(client, H3, bill((DRUG, "2", "210.5"), day="2026-07-01"), services)
    assert (later["lines"][0]["cap"], later["lines"][0]["ratio"]) == ("190.00", "0.12")
    before = quote(client, H3, bill((DRUG, "2", "210.5"), day="2026-06-30"), services)
    assert before["lines"][0]["cap"] == "200.00"  # history as it was


def test_restrictions_by_age_sex_level_visit_and_approval(
    world: Engine, client: TestClient, services: Services
) -> None:
    adult = quote(client, H3, bill((SYRUP, "1", "18.5"), (CLOMIFENE, "1", "30")), services)
    child = quote(
        client, H3, bill((SYRUP, "1", "18.5"), (CLOMIFENE, "1", "30"), person=CHILD), services
    )
    assert [ln["restricted"] for ln in adult["lines"]] == [True, ADULT_IS_MALE]
    assert next(ln["full_self_pay"] for ln in adult["lines"]) == "18.50"
    assert child["lines"][0]["restricted"] is False
    assert child["lines"][0]["eligible"] == "16.65"  # 18.50 less the region's 10%
    outside = next(s for s in adult["explanation"] if s["rule"] == "line_restricted")
    assert "限儿童" in outside["text"]["zh"]
    # Angiography: inpatient at level 2 or above only.
    stay = quote(client, H2, bill((ANGIOGRAPHY, "1", "1500"), kind="inpatient"), services)
    visit = quote(client, H2, bill((ANGIOGRAPHY, "1", "1500")), services)
    assert (stay["lines"][0]["restricted"], visit["lines"][0]["restricted"]) == (False, True)
    # Imatinib without an approved malignant tumour: self-paid.
    assert quote(client, H3, bill((IMATINIB, "1", "100")), services)["lines"][0]["restricted"]


ADULT_IS_MALE = True  # integration.certificates_world numbers ADULT with an odd sequence


def test_an_unknown_or_unmapped_code_is_refused_naming_it_and_nothing_is_stored(
    world: Engine, client: TestClient, services: Services
) -> None:
    at = institution(services, H3)
    answer = client.post(
        "/v1/settlements", json=bill((BED, "1", "30"), ("H3-OWN-7", "1", "5")), headers=at
    )
    assert answer.status_code == 422, answer.text
    assert (answer.json()["code"], answer.json()["details"]) == (
        "unknown_catalogue_code",
        {"codes": ["H3-OWN-7"]},
    )
    assert count(world, settlements) == 0
    # Mapped from 1 March, the institution's own code stands for the national one.
    me = Principal(account="h3", role=Role.INSTITUTION, institution_id=H3)
    mapped = services.catalogue.map_code(
        me, H3, "H3-OWN-7", BED, date.fromisoformat("2026-03-01"), own_name="床位"
    )
    assert audit(world, "mapping", str(mapped["id"])) == ["catalogue.map"]
    settled = client.post("/v1/settlements", json=bill(("H3-OWN-7", "2", "30")), headers=at)
    assert settled.status_code == 201, settled.text
    assert settled.json()["lines"][0]["national_code"] == BED
    early = client.post(
        "/v1/quotes", json=bill(("H3-OWN-7", "1", "30"), day="2026-02-28"), headers=at
    )
    assert early.json()["code"] == "unknown_catalogue_code"
    # Another institution cannot map for H3; cancelling refuses the code from then on.
    other = Principal(account="h2", role=Role.INSTITUTION, institution_id=H2)
    with pytest.raises(NotFoundError):
        services.catalogue.map_code(other, H3, "X", BED, date.fromisoformat("2026-03-01"))
    services.catalogue.unmap_code(me, H3, "H3-OWN-7")
    again = client.post("/v1/quotes", json=bill(("H3-OWN-7", "1", "30")), headers=at)
    assert again.json()["code"] == "unknown_catalogue_code"
    assert count(world, catalogue_mappings) == 1  # cancelled, kept


def test_a_reversal_resettles_with_the_facts_stored_on_each_line(
    world: Engine, client: TestClient, services: Services
) -> None:
    at = institution(services, H3)
    first = client.post("/v1/settlements", json=bill((DRUG, "2", "210.5")), headers=at).json()
    second = client.post(
        "/v1/settlements", json=bill((DRUG, "3", "205"), day="2026-04-02"), headers=at
    ).json()
    # The catalogue changes afterwards: what was settled keeps its cap.
    services.catalogue.import_file(OPERATOR, CITY, update_file())
    reversed_ = client.post(
        f"/v1/settlements/{first['id']}/reversal", json={"reason": "refund"}, headers=at
    )
    assert reversed_.status_code == 200, reversed_.text
    year = client.get(f"/v1/persons/{ADULT}/years/{YEAR}", headers={"X-Test-As": "clerk"}).json()
    kept = next(s for s in year["settlements"] if s["id"] == second["id"])
    assert kept["eligible"] == second["eligible"] == "540.00"  # 3 x 200.00 less 10%
    runner = CliRunner()
    verified = runner.invoke(app, ["verify", "--year", str(YEAR), "--database", str(world.url)])
    assert verified.exit_code == 0, verified.output


def test_the_import_reports_rows_and_stores_nothing_with_a_problem(
    world: Engine, services: Services
) -> None:
    stored = count(world, catalogue_entries)
    bad = (
        "med_list_codg,hilist_name,chrgitm_lv,begndate,hilist_pric_uplmt_amt,selfpay_prop\n"
        "NEW-1,新药,02,2026-02-01,10.00,0.1\n"
        "NEW-2,新药二,04,2026-02-01,,\n"
        "NEW-3,新药三,01,2026-02-30,,\n"
        "NEW-4,新药四,02,2026-02-01,-1,1.5\n"
        f"{DRUG},注射用头孢曲松钠(1g),02,2026-01-01,150.00,\n"
    ).encode()
    report = services.catalogue.import_file(OPERATOR, CITY, read_catalogue(bad, "drug", "bad.csv"))
    assert not report.stored
    assert [(p["row"], p["field"]) for p in report.problems] == [
        (3, "chrgitm_lv"),
        (4, "begndate"),
        (5, "hilist_pric_uplmt_amt"),
        (6, "begndate"),
    ]
    assert "history is not rewritten" in report.problems[-1]["reason"]
    assert count(world, catalogue_entries) == stored
    with pytest.raises(CatalogueFileError, match="unknown columns price"):
        read_catalogue(b"med_list_codg,price\n", "drug", "x.csv")
    clerk_elsewhere = Principal(account="c", role=Role.CLERK, region="hill-county")
    with pytest.raises(ServiceError):
        services.catalogue.import_file(clerk_elsewhere, CITY, read_catalogue(bad, "drug", "x.csv"))


def test_catalogue_commands(world: Engine, services: Services, tmp_path: Path) -> None:
    runner = CliRunner()
    db = ["--database", str(world.url)]
    imported = runner.invoke(
        app,
        [
            "catalogue",
            "import",
            str(EXAMPLES / "drug-2026-07-update.csv"),
            "--region",
            CITY,
            "--catalogue",
            "drug",
            *db,
        ],
    )
    assert imported.exit_code == 0, imported.output
    assert "1 entries added (1 of them dated updates)" in imported.output
    shown = runner.invoke(app, ["catalogue", "show", CITY, "--code", DRUG, *db])
    assert shown.exit_code == 0, shown.output
    assert '"valid_from": "2026-07-01"' in shown.output
    assert '"valid_from": "2026-01-01"' in shown.output
    diff = runner.invoke(
        app, ["catalogue", "diff", CITY, "--from", "2026-03-01", "--to", "2026-08-01", *db]
    )
    assert diff.exit_code == 0
    assert DRUG in diff.output
    bad = runner.invoke(
        app,
        [
            "catalogue",
            "import",
            str(EXAMPLES / "nope.csv"),
            "--region",
            CITY,
            "--catalogue",
            "drug",
            *db,
        ],
    )
    assert bad.exit_code == 2
    # A file the adapter cannot read as a catalogue: one line naming it, nothing stored.
    unreadable = tmp_path / "price.csv"
    unreadable.write_bytes(b"med_list_codg,price\n")
    refused = runner.invoke(
        app, ["catalogue", "import", str(unreadable), "--region", CITY, "--catalogue", "drug", *db]
    )
    assert refused.exit_code == 2
    assert f"error: {unreadable}: header: unknown columns price" in refused.output


def test_a_claim_line_with_a_code_takes_its_cap(
    world: Engine, client: TestClient, services: Services
) -> None:
    body = {
        "person_id": ADULT,
        "reason": "card_lost",
        "kind": "outpatient",
        "date": "2026-05-12",
        "hospital_name": "市三院",
        "hospital_id": H3,
        "hospital_level": 3,
        "hospital_region": CITY,
        "hospital_designated": True,
        "lines": [{"code": DRUG, "amount": "250.00"}, {"class": "A", "amount": "10.00"}],
    }
    submitted = client.post("/v1/claims", json=body, headers={"X-Test-As": "clerk"})
    assert submitted.status_code == 201, submitted.text
    proposal = submitted.json()["proposal"]
    assert (proposal["over_limit"], proposal["eligible"]) == ("50.00", "190.00")
    approved = client.post(
        f"/v1/claims/{submitted.json()['id']}/approval", headers={"X-Test-As": "clerk"}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["settlement"]["over_limit"] == "50.00"
    unknown = client.post(
        "/v1/claims",
        json={**body, "lines": [{"code": "NOPE", "amount": "1.00"}]},
        headers={"X-Test-As": "clerk"},
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_catalogue_code"
    assert Decimal(proposal["total"]) == Decimal("260.00")
