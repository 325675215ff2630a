"""Premium collection: accounts opened per pending enrolment (exempt ones active at once),
the bank's result file imported with every line's outcome reported, the same file refused
twice, and who may do it. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from integration.auth import account, clerk, institution
from integration.collection_world import (
    ADMDVS,
    OTHER,
    REGION,
    YEAR,
    accounts_by_person,
    add_regions,
    bank_file,
    enrolled,
    upload,
)
from integration.conftest import FakeClock
from yibao.adapters.db.tables_collection import bank_import_lines, bank_imports
from yibao.adapters.db.uow import UnitOfWork
from yibao.domain.access import Role
from yibao.domain.collection import account_number, has_valid_check_digit
from yibao.domain.registry import Institution, InstitutionKind
from yibao.entrypoints.cli import app as cli_app
from yibao.service.access import OPERATOR
from yibao.service.ports import china_today
from yibao.service.services import Services


@pytest.fixture
def world(engine: Engine, services: Services, clock: FakeClock) -> dict[str, str]:
    """Five pending enrolments for 2027: persons 1, 2, 3 and 5 owe 400.00; person 4 is of
    an assistance family (exempt)."""
    add_regions(engine)
    return {
        "A": enrolled(services, clock, 1),
        "B": enrolled(services, clock, 2),
        "C": enrolled(services, clock, 3),
        "D": enrolled(services, clock, 4, assistance=True),
        "E": enrolled(services, clock, 5),
    }


def enrolment(services: Services, person_id: str) -> dict[str, Any]:
    found: dict[str, Any] = services.enrolment.person(OPERATOR, person_id)["enrolments"][0]
    return found


def cards(services: Services, person_id: str) -> list[dict[str, Any]]:
    return services.cards.cards_of(OPERATOR, person_id)


def rows(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# --- opening accounts ------------------------------------------------------------------


def test_opening_accounts_makes_exempt_enrolments_active_at_once(
    client: TestClient, services: Services, world: dict[str, str]
) -> None:
    headers = clerk(services)
    answer = client.post(
        "/v1/collection/accounts", json={"region": REGION, "year": YEAR}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "region": REGION,
        "year": YEAR,
        "opened": 4,
        "exempt": 1,
        "cards_ordered": 1,
        "amount_due": "1600.00",
        "accounts": {"open": 4, "paid": 0, "exempt": 1},
    }
    # The exempt person is active from today (2026-10-15) and their card is due 20
    # working days later: 16, 19-23, 26-30 Oct, 2-6, 9-12 Nov.
    exempt = enrolment(services, world["D"])
    assert (exempt["status"], exempt["paid_on"]) == ("active", "2026-10-15")
    [card] = cards(services, world["D"])
    assert (card["status"], card["ordered_on"], card["due_on"]) == (
        "ordered",
        "2026-10-15",
        "2026-11-12",
    )
    assert card["number"].startswith(ADMDVS)
    assert has_valid_check_digit(card["number"])
    for key in ("A", "B", "C", "E"):
        assert enrolment(services, world[key])["status"] == "pending"
        assert cards(services, world[key]) == []

    # The bank's list: the four open accounts, 400.00 each, numbered in the region's year.
    export = client.get(
        "/v1/collection/accounts.csv", params={"region": REGION, "year": YEAR}, headers=headers
    )
    assert export.status_code == 200, export.text
    assert export.headers["content-type"].startswith("text/csv")
    listed = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["name"] for r in listed] == ["person 1", "person 2", "person 3", "person 5"]
    assert {r["amount"] for r in listed} == {"400.00"}
    assert [r["account"] for r in listed] == [account_number(ADMDVS, YEAR, n) for n in (1, 2, 3, 5)]

    # Opening again opens nothing more; a newly enrolled person gets the next number.
    again = client.post(
        "/v1/collection/accounts", json={"region": REGION, "year": YEAR}, headers=headers
    ).json()
    assert (again["opened"], again["exempt"], again["accounts"]["open"]) == (0, 0, 4)

    audit = services_audit(services, "collection.open")
    assert len(audit) == 5
    assert {e["action"] for e in services_audit(services, None, world["D"] + "/2027")} == {
        "enrolment.create",
        "enrolment.activate",
    }
    assert services_audit(services, "card.order")[0]["object_id"] == card["number"]


def services_audit(
    services: Services, action: str | None, object_id: str | None = None
) -> list[dict[str, Any]]:
    with services.collection.uow() as uow:
        entries = uow.audit.entries(object_id=object_id, limit=1000)
    return [e for e in entries if action is None or e["action"] == action]


def test_a_new_enrolment_gets_the_next_account_number(
    services: Services, clock: FakeClock, world: dict[str, str]
) -> None:
    services.collection.open_accounts(OPERATOR, REGION, YEAR)
    enrolled(services, clock, 6)
    r = services.collection.open_accounts(OPERATOR, REGION, YEAR)
    assert r["opened"] == 1
    assert accounts_by_person(services)["person 6"] == account_number(ADMDVS, YEAR, 6)


# --- the bank's result file ----------------------------------------------------------


def test_every_line_of_a_bank_file_is_reported_and_only_exact_payments_count(
    engine: Engine,
    client: TestClient,
    services: Services,
    clock: FakeClock,
    world: dict[str, str],
) -> None:
    services.collection.open_accounts(OPERATOR, REGION, YEAR)
    acct = accounts_by_person(services)
    a, b, c, e = (acct[f"person {n}"] for n in (1, 2, 3, 5))
    exempt_account = account_number(ADMDVS, YEAR, 4)
    unknown = account_number(ADMDVS, YEAR, 9999)
    typo = a[:-1] + str((int(a[-1]) + 1) % 10)
    clock.today = date(2026, 10, 25)
    data = bank_file(
        (a, "400.00", "2026-10-20", "success"),  # line 2: paid
        (b, "350.00", "2026-10-20", "success"),  # 3: another amount
        (c, "400.00", "2026-10-20", "failed"),  # 4: the bank could not collect
        (unknown, "400.00", "2026-10-20", "success"),  # 5: no such account
        (e, "400", "20261021", "成功"),  # 6: paid (amount and date written otherwise)
        (e, "400.00", "2026-10-21", "success"),  # 7: the same account again
        (exempt_account, "400.00", "2026-10-21", "success"),  # 8: nothing was due
        (typo, "400.00", "2026-10-20", "success"),  # 9: a mistyped account
        (b, "4x0", "2026-13-01", "success"),  # 10: two bad values
        (c, "400.00"),  # 11: a short line
        ("",),  # 12: blank, skipped
        (c, "400.00", "2026-10-30", "success"),  # 13: after today
        (c, "400.00", "2026-10-20", "pending"),  # 14: a status that is neither
        (c, "400.00", "2026-10-14", "success"),  # 15: before the account was opened
    )
    headers = clerk(services)
    answer = upload(client, headers, data, "result-1025.csv")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["file_name"] == "result-1025.csv"
    assert body["lines"] == 13
    assert body["counts"] == {
        "paid": 2,
        "already_paid": 2,
        "unknown_account": 1,
        "amount_mismatch": 1,
        "failed_at_bank": 1,
        "enrolment_cancelled": 0,
        "invalid": 6,
    }
    report = {line["line"]: line for line in body["report"]}
    assert sorted(report) == [3, 4, 5, 7, 8, 9, 10, 11, 13, 14, 15]  # every line not paid
    outcome = {n: line["outcome"] for n, line in report.items()}
    assert outcome == {
        3: "amount_mismatch",
        4: "failed_at_bank",
        5: "unknown_account",
        7: "already_paid",
        8: "already_paid",
        9: "invalid",
        10: "invalid",
        11: "invalid",
        13: "invalid",
        14: "invalid",
        15: "invalid",
    }
    assert "paid 350.00, 400.00 is due" in report[3]["message"]
    assert unknown in report[5]["message"]
    assert "exempt" in report[8]["message"]
    assert "check digit" in report[9]["message"]
    assert report[10]["message"].startswith("line 10:")
    assert "'4x0'" in report[10]["message"]
    assert "'2026-13-01'" in report[10]["message"]
    assert "2 values" in report[11]["message"]
    assert "after today" in report[13]["message"]
    assert "'pending'" in report[14]["message"]
    assert "before the account was opened (2026-10-15)" in report[15]["message"]

    # Only the exact payments count: A and E are active from the bank's date, each
    # with a card due 20 working days after it.
    assert (
        enrolment(services, world["A"])["status"],
        enrolment(services, world["A"])["paid_on"],
    ) == (
        "active",
        "2026-10-20",
    )
    assert enrolment(services, world["E"])["paid_on"] == "2026-10-21"
    assert [c["due_on"] for c in cards(services, world["A"])] == ["2026-11-17"]
    assert [c["due_on"] for c in cards(services, world["E"])] == ["2026-11-18"]
    for key in ("B", "C"):
        assert enrolment(services, world[key])["status"] == "pending"
        assert cards(services, world[key]) == []
    assert sorted(accounts_by_person(services)) == ["person 2", "person 3"]  # still open

    # Kept for later, line by line.
    kept = client.get(f"/v1/collection/imports/{body['id']}", headers=headers)
    assert kept.status_code == 200, kept.text
    assert [line["line"] for line in kept.json()["report"]] == [
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        10,
        11,
        13,
        14,
        15,
    ]
    invalid = client.get(
        f"/v1/collection/imports/{body['id']}", params={"outcome": "invalid"}, headers=headers
    ).json()
    assert [line["line"] for line in invalid["report"]] == [9, 10, 11, 13, 14, 15]
    bogus = client.get(
        f"/v1/collection/imports/{body['id']}", params={"outcome": "maybe"}, headers=headers
    )
    assert (bogus.status_code, bogus.json()["code"]) == (422, "invalid_outcome")
    [audit] = services_audit(services, "collection.import")
    assert audit["after"]["paid"] == 2
    assert audit["after"]["invalid"] == 6

    # The same file again (under any name) is refused, and writes nothing.
    before = (rows(engine, bank_imports), rows(engine, bank_import_lines))
    again = upload(client, headers, data, "renamed.csv")
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "duplicate_bank_file"
    assert f"import {body['id']}" in again.json()["message"]
    assert (rows(engine, bank_imports), rows(engine, bank_import_lines)) == before

    # B pays the right amount in the next file.
    later = upload(client, headers, bank_file((b, "400.00", "2026-10-24", "success")))
    assert later.status_code == 201, later.text
    assert later.json()["counts"]["paid"] == 1
    assert later.json()["report"] == []
    assert enrolment(services, world["B"])["status"] == "active"


def test_a_chinese_bank_file_in_gb18030(
    client: TestClient, services: Services, clock: FakeClock, world: dict[str, str]
) -> None:
    services.collection.open_accounts(OPERATOR, REGION, YEAR)
    a = accounts_by_person(services)["person 1"]
    clock.today = date(2026, 10, 25)
    data = f"账号,金额,日期,状态\r\n{a},400.00,2026/10/23,成功\r\n".encode("gb18030")
    answer = upload(client, clerk(services), data)
    assert answer.status_code == 201, answer.text
    assert answer.json()["counts"]["paid"] == 1
    assert enrolment(services, world["A"])["paid_on"] == "2026-10-23"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"account,amount,date,status\n", "no lines"),
        (b"990100202700000018,400.00,2026-10-20,success\n", "header"),
        (b"account,amount,status\n1,2,3\n", "missing: date"),
        (b"account,amount,date,status\n\x00\x01\x02", "NUL"),
        (b"\xff\xfe\x00\x00\x81\x30", "neither UTF-8 nor GB 18030"),
    ],
)
def test_a_file_that_is_not_a_result_file_is_refused_whole(
    engine: Engine, client: TestClient, services: Services, data: bytes, says: str
) -> None:
    add_regions(engine)
    answer = upload(client, clerk(services), data, "x.csv")
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "invalid_bank_file"
    assert says in answer.json()["message"]
    assert rows(engine, bank_imports) == 0


def test_a_line_for_an_enrolment_cancelled_meanwhile_changes_nothing(
    engine: Engine, services: Services, clock: FakeClock, world: dict[str, str]
) -> None:
    services.collection.open_accounts(OPERATOR, REGION, YEAR)
    a = accounts_by_person(services)["person 1"]
    from sqlalchemy import update

    from yibao.adapters.db.tables import enrolments

    with engine.begin() as conn:
        conn.execute(
            update(enrolments)
            .where(enrolments.c.person_id == world["A"])
            .values(status="cancelled")
        )
    clock.today = date(2026, 10, 25)
    r = services.collection.import_bank_file(
        OPERATOR, "f.csv", bank_file((a, "400.00", "2026-10-20", "success"))
    )
    assert r["counts"]["enrolment_cancelled"] == 1
    assert "refund" in r["report"][0]["message"]
    assert "person 1" in accounts_by_person(services)  # still open
    assert cards(services, world["A"]) == []


# --- who may ---------------------------------------------------------------------------


def test_only_clerks_open_accounts_and_import_bank_files(
    engine: Engine, client: TestClient, services: Services, world: dict[str, str]
) -> None:
    with UnitOfWork(engine) as uow:
        uow.registry.add_institution(
            Institution("C1", REGION, "clinic", 1, InstitutionKind.CLINIC, True)
        )
        uow.commit()
    data = bank_file((account_number(ADMDVS, YEAR, 1), "400.00", "2026-10-10", "success"))
    callers = {
        "school": account(services, Role.SCHOOL, school_id="S1"),
        "institution": institution(services, "C1"),
        "approver": account(services, Role.APPROVER, region=REGION),
        "insured": account(services, Role.INSURED, person_id=world["A"]),
    }
    for role, headers in callers.items():
        imported = upload(client, headers, data)
        assert imported.status_code == 403, (role, imported.text)
        assert imported.json()["code"] == "forbidden"
        opened = client.post(
            "/v1/collection/accounts", json={"region": REGION, "year": YEAR}, headers=headers
        )
        assert opened.status_code == 403, (role, opened.text)
        exported = client.get(
            "/v1/collection/accounts.csv", params={"region": REGION, "year": YEAR}, headers=headers
        )
        assert exported.status_code == 403, (role, exported.text)
    assert upload(client, {"X-Test-As": "anonymous"}, data).status_code == 401
    assert rows(engine, bank_imports) == 0
    assert enrolment(services, world["A"])["status"] == "pending"


def test_a_clerk_of_another_region(
    client: TestClient, services: Services, clock: FakeClock, world: dict[str, str]
) -> None:
    services.collection.open_accounts(OPERATOR, REGION, YEAR)
    a = accounts_by_person(services)["person 1"]
    ours, theirs = clerk(services), clerk(services, OTHER)
    refused = client.post(
        "/v1/collection/accounts", json={"region": REGION, "year": YEAR}, headers=theirs
    )
    assert refused.status_code == 403, refused.text
    clock.today = date(2026, 10, 25)
    # Their bank file naming our account pays nothing of ours.
    answer = upload(client, theirs, bank_file((a, "400.00", "2026-10-20", "success")))
    assert answer.status_code == 201, answer.text
    [line] = answer.json()["report"]
    assert line["outcome"] == "unknown_account"
    assert "not of hill-county" in line["message"]
    assert enrolment(services, world["A"])["status"] == "pending"
    # And they do not see our imports.
    mine = upload(client, ours, bank_file((a, "400.00", "2026-10-21", "success"))).json()
    assert client.get(f"/v1/collection/imports/{mine['id']}", headers=theirs).status_code == 404
    assert client.get(f"/v1/collection/imports/{mine['id']}", headers=ours).status_code == 200
    assert client.get("/v1/collection/imports/999999", headers=ours).status_code == 404


def test_bad_requests_name_the_field(
    client: TestClient, services: Services, world: dict[str, str]
) -> None:
    headers = clerk(services, None)
    for body in (
        {"region": REGION},
        {"region": REGION, "year": 1800},
        {"region": REGION, "year": YEAR, "x": 1},
    ):
        answer = client.post("/v1/collection/accounts", json=body, headers=headers)
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "invalid_request"
    unknown = client.post(
        "/v1/collection/accounts", json={"region": "no-such-town", "year": YEAR}, headers=headers
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_region")


# --- the command line ------------------------------------------------------------------


def test_the_command_line(
    engine: Engine,
    services: Services,
    world: dict[str, str],
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """collection open/export/import and card issue/lost/replace/overdue, acting as a
    clerk's account. The commands run on the real date: accounts are opened and paid today."""
    monkeypatch.setenv("YIBAO_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    account(services, Role.CLERK, region=REGION, account_id="wang")
    monkeypatch.setenv("YIBAO_ACTOR", "wang")
    runner = CliRunner()
    today = china_today().isoformat()

    opened = runner.invoke(cli_app, ["collection", "open", "--region", REGION, "--year", "2027"])
    assert opened.exit_code == 0, opened.output
    assert "opened 4 accounts (1600.00 due), 1 exempt made active" in opened.output

    out = tmp_path / "accounts.csv"
    exported = runner.invoke(
        cli_app, ["collection", "export", "--region", REGION, "--year", "2027", "--out", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    assert "4 open accounts written" in exported.output
    listed = list(csv.DictReader(io.StringIO(out.read_text())))
    result = tmp_path / "result.csv"
    result.write_bytes(
        bank_file(
            (listed[0]["account"], "400.00", today, "success"),
            (listed[1]["account"], "399.00", today, "success"),
        )
    )
    imported = runner.invoke(cli_app, ["collection", "import", str(result)])
    assert imported.exit_code == 0, imported.output
    assert "2 lines" in imported.output
    assert "amount_mismatch:" in imported.output
    assert "line 3: account" in imported.output
    again = runner.invoke(cli_app, ["collection", "import", str(result)])
    assert again.exit_code == 2
    assert again.output.startswith("error: result.csv: this file was imported already")

    # The paid person's card through its life; the table of overdue cards.
    [card] = services.cards.cards_of(OPERATOR, world["A"])
    number = card["number"]
    overdue = runner.invoke(cli_app, ["card", "overdue", "--region", REGION])
    assert overdue.exit_code == 0, overdue.output
    assert overdue.output.rstrip().endswith("0 cards overdue")
    for command, says in (
        ("issue", f"card {number} issued on {today}"),
        ("lost", f"card {number} reported lost on {today}"),
        ("replace", f"card {number} replaced by "),
    ):
        ran = runner.invoke(cli_app, ["card", command, number])
        assert ran.exit_code == 0, ran.output
        assert says in ran.output
    refused = runner.invoke(cli_app, ["card", "issue", number])
    assert refused.exit_code == 2
    assert refused.output.startswith(f"error: card {number} is replaced")
    [old, new] = services.cards.cards_of(OPERATOR, world["A"])
    assert (old["status"], old["replaced_by"], new["replaces"]) == (
        "replaced",
        new["number"],
        number,
    )

    nobody = runner.invoke(
        cli_app, ["collection", "open", "--region", REGION, "--year", "2027", "--as", "nobody"]
    )
    assert nobody.exit_code == 2
    assert "no active account 'nobody'" in nobody.output
    account(services, Role.SCHOOL, school_id="S1", account_id="school-1")
    school = runner.invoke(cli_app, ["collection", "import", str(result), "--as", "school-1"])
    assert school.exit_code == 2
    assert school.output.startswith("error: a school account may not do this")
    missing = runner.invoke(cli_app, ["collection", "import", str(tmp_path / "none.csv")])
    assert missing.exit_code == 2
    assert missing.output.startswith("error:")
