"""The national interface's records (adapters/db/fsi_repo.py) written and read back the
same on SQLite (SQLAlchemy) and PostgreSQL (the driver's prepared statements, fsi_sql.py):
a 2204's fee lines, all in one statement on PostgreSQL, and a line whose key another
transaction took refused as DuplicateError, which the gateway answers with the first
answer."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from integration.certificates_world import ADULT, H3, build
from yibao.adapters.db.uow import UnitOfWork
from yibao.service.ports.records import DuplicateError

VISIT = {
    "mdtrt_id": "V1",
    "fixmedins_code": H3,
    "psn_no": ADULT,
    "card_number": "",
    "mdtrt_cert_type": "02",
    "insutype": "310",
    "inpatient": 0,
    "ipt_otp_no": "OP-1",
    "med_type": "11",
    "kind": None,
    "begntime": date(2026, 3, 2),
    "diagnosis": None,
    "status": "open",
}


def line(sn: str, seq: int, **more: Any) -> dict[str, Any]:
    return {
        "mdtrt_id": "V1",
        "feedetl_sn": sn,
        "seq": seq,
        "init_feedetl_sn": None,
        "med_list_codg": "A1",
        "medins_list_codg": "OWN-A1",
        "cnt": "2.0000",
        "pric": "12.345600",
        "amount_fen": 2469,
        "rxno": None,
        "chrg_bchno": "B1",
        **more,
    }


def test_fee_lines_are_written_as_given_and_a_taken_key_is_a_duplicate(engine: Engine) -> None:
    lines = [
        line("L1", 1),
        line("L2", 2, cnt="-1.0000", amount_fen=-1235, init_feedetl_sn="L1", rxno="R9"),
        line("L3", 3, med_list_codg="编码-3", chrg_bchno=None, amount_fen=9_000_000_000_000),
    ]
    build(engine)
    with UnitOfWork(engine) as uow:
        uow.interface.add_visit(VISIT)
        uow.interface.add_lines(lines)
        uow.commit()
    with UnitOfWork(engine) as uow:
        stored = uow.interface.lines("V1")
    names = list(lines[0])
    assert [{n: getattr(s, n) for n in names} for s in stored] == lines
    assert all(s.setl_id is None and s.created_at is not None for s in stored)
    assert len({s.created_at for s in stored}) == 1  # one upload, one moment

    def upload_again() -> None:
        with UnitOfWork(engine) as uow:
            uow.interface.add_lines([line("L4", 4), line("L2", 5)])
            uow.commit()

    with pytest.raises(DuplicateError):  # PostgreSQL at the INSERT, SQLite leaving the uow
        upload_again()
    with UnitOfWork(engine) as uow:  # nothing of the refused upload was written
        assert [s.feedetl_sn for s in uow.interface.lines("V1")] == ["L1", "L2", "L3"]
