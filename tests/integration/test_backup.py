"""docs/operations.md's backup and restore, run as written on SQLite and PostgreSQL: the
restored copy (database, receipts, secret key) verifies clean."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

# The command-line tests' fixtures: an empty database of each kind, an engine on it.
from integration.test_cli_server import ADMIN_URL, VERIFY, db, load_and_settle, url, yibao  # noqa: F401


def _run(*args: str, cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"


def _plain(database_url: str) -> str:
    """The URL as pg_dump takes it (no driver name)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_a_restored_copy_verifies_clean(url: str, db: Engine, tmp_path: Path) -> None:  # noqa: F811
    settled = load_and_settle(db)
    db.dispose()
    server, backup, restored = tmp_path / "server", tmp_path / "backup", tmp_path / "restored"
    for folder in (server / "var" / "uploads" / "P1", backup, restored):
        folder.mkdir(parents=True)
    (server / "var" / "uploads" / "P1" / "receipt.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (server / "var" / "secret.key").write_text("k" * 64)
    (server / "var" / "secret.key").chmod(0o600)

    if url.startswith("sqlite"):
        _run(
            "sqlite3",
            url.removeprefix("sqlite:///"),
            f".backup {backup / 'yibao.sqlite3'}",
            cwd=server,
        )
        copy_url = f"sqlite:///{restored / 'var' / 'yibao.sqlite3'}"
    else:
        _run(
            "pg_dump", "--format=custom", f"--file={backup / 'yibao.dump'}", _plain(url), cwd=server
        )
        copy_url = make_url(ADMIN_URL).set(database=f"yibao_restored_{uuid.uuid4().hex[:8]}")
    _run("tar", "-czf", str(backup / "files.tar.gz"), "var/uploads", "var/secret.key", cwd=server)

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        if url.startswith("sqlite"):
            (restored / "var").mkdir()
            _run(
                "cp",
                str(backup / "yibao.sqlite3"),
                str(restored / "var" / "yibao.sqlite3"),
                cwd=restored,
            )
        else:
            name = make_url(str(copy_url)).database
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            copy_url = make_url(str(copy_url)).render_as_string(hide_password=False)
            _run(
                "pg_restore",
                "--no-owner",
                f"--dbname={_plain(str(copy_url))}",
                str(backup / "yibao.dump"),
                cwd=restored,
            )
        _run("tar", "-xzf", str(backup / "files.tar.gz"), cwd=restored)
        assert (
            (restored / "var" / "uploads" / "P1" / "receipt.png")
            .read_bytes()
            .startswith(b"\x89PNG")
        )
        assert (restored / "var" / "secret.key").read_text() == "k" * 64
        assert (restored / "var" / "secret.key").stat().st_mode & 0o777 == 0o600
        check = yibao(restored, "verify", "--database", str(copy_url))
        assert check.code == 0, check.show()
        found = VERIFY.match(check.lines()[-1])
        assert found is not None, check.show()
        assert found.groups() == (str(len(settled)), str(len(settled)), "0")
    finally:
        if not url.startswith("sqlite"):
            with admin.connect() as conn:
                conn.execute(
                    text(
                        f'DROP DATABASE IF EXISTS "{make_url(str(copy_url)).database}" WITH (FORCE)'
                    )
                )
        admin.dispose()
