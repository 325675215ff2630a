"""The layers' import rules (pyproject.toml, src/yibao/domain/ruff.toml) catch a
deliberate violation: ruff is given a file as if it stood in a layer's folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).parent / "ruff"


def banned(where: str, source: str) -> list[str]:
    """The banned-import findings (TID251) for `source` placed at `where`."""
    done = subprocess.run(
        [
            RUFF,
            "check",
            "--no-cache",
            "--output-format=json",
            f"--stdin-filename={ROOT / where}",
            "-",
        ],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return [f["message"] for f in json.loads(done.stdout) if f["code"] == "TID251"]


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("src/yibao/service/probe.py", "from sqlalchemy import select\n"),
        ("src/yibao/service/probe.py", "from sqlalchemy.exc import IntegrityError\n"),
        ("src/yibao/service/probe.py", "from yibao.adapters.db.uow import UnitOfWork\n"),
        ("src/yibao/service/probe.py", "import yibao.adapters.db.tables\n"),
        ("src/yibao/service/probe.py", "from yibao.entrypoints.cli import app\n"),
        ("src/yibao/domain/probe.py", "import sqlalchemy\n"),
        ("src/yibao/domain/probe.py", "from yibao.service.errors import ServiceError\n"),
        ("src/yibao/domain/probe.py", "from pathlib import Path\n"),
        ("src/yibao/domain/engine/probe.py", "import os\n"),
        ("src/yibao/domain/probe.py", "from yibao.adapters.parameter_files import load_region\n"),
        ("src/yibao/fsi/probe.py", "from sqlalchemy import select\n"),
        ("src/yibao/fsi/probe.py", "from yibao.adapters.db.uow import UnitOfWork\n"),
        ("src/yibao/fsi/probe.py", "from fastapi import APIRouter\n"),
    ],
)
def test_a_layer_that_imports_past_its_rules_fails_the_lint(where: str, source: str) -> None:
    found = banned(where, source)
    assert len(found) == 1
    banned_name = found[0].split("`")[1]
    assert source.split()[1].startswith(banned_name)
    assert "is banned: layers:" in found[0]


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("src/yibao/adapters/db/probe.py", "from sqlalchemy import select\n"),
        ("src/yibao/entrypoints/probe.py", "from yibao.adapters.db.uow import UnitOfWork\n"),
        ("src/yibao/service/probe.py", "from yibao.service.ports import UnitOfWork\n"),
        ("src/yibao/service/probe.py", "from yibao.domain.money import fmt\n"),
        ("src/yibao/domain/probe.py", "from yibao.domain.money import fmt\n"),
        ("src/yibao/fsi/probe.py", "from yibao.fsi.codes import INSUTYPE\n"),
        ("src/yibao/fsi/probe.py", "from yibao.service.ports.interface import InterfaceRecords\n"),
    ],
)
def test_what_a_layer_may_import_passes(where: str, source: str) -> None:
    assert banned(where, source) == []


def test_the_source_tree_keeps_the_rules() -> None:
    done = subprocess.run(
        [RUFF, "check", "--no-cache", "--select", "TID251", "src"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout
