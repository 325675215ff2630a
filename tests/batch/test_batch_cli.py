"""The batch commands, on an app of their own (the yibao command registers the same
functions as `yibao demo generate` and `yibao batch settle`)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer
from typer.testing import CliRunner

from yibao.batch.frames import read_region_year
from yibao.batch.generate import generate
from yibao.entrypoints import cli_batch as cli

app = typer.Typer()
app.command("generate")(cli.generate)
app.add_typer(cli.batch_app, name="batch")


def test_generate_then_settle(tmp_path: Path) -> None:
    runner = CliRunner()
    folder = tmp_path / "hc"
    done = runner.invoke(
        app, ["generate", "--out", str(folder), "--persons", "200", "--region", "hill-county"]
    )
    assert done.exit_code == 0, done.output
    assert "200 persons" in done.output
    data = read_region_year(folder)
    assert (data.region, data.year, data.persons.height) == ("hill-county", 2026, 200)
    out = tmp_path / "split.parquet"
    done = runner.invoke(app, ["batch", "settle", str(folder), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert f"hill-county 2026: {data.encounters.height} encounters" in done.output
    assert "serious illness:" in done.output
    assert pl.read_parquet(out).height == data.encounters.height


def test_the_same_seed_makes_the_same_region_year() -> None:
    a = generate(300, 2026, 5, "sample-city")
    b = generate(300, 2026, 5, "sample-city")
    c = generate(300, 2026, 6, "sample-city")
    assert a.persons.equals(b.persons)
    assert a.encounters.equals(b.encounters)
    assert not a.encounters.equals(c.encounters)


def test_settle_refuses_a_folder_without_files(tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["batch", "settle", str(tmp_path)])
    assert done.exit_code == 2
    assert "error:" in done.output
