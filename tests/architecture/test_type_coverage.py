"""What the plain `mypy` of ./test checks (pyproject's [tool.mypy]): every module of
yibao and every benchmark script, each script as the top-level module it is when run
(`python bench/x.py` imports its siblings by name), so that none is left out unseen."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy.main import process_options

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def checked() -> dict[Path, str]:
    """mypy's targets from the project's configuration alone (no paths given, as ./test
    runs it), by file: the module name each is checked as. Only the targets are worked
    out, nothing is type-checked."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)  # the configuration's paths are the repository's
        sources, _ = process_options([])
        return {(ROOT / s.path).resolve(): s.module for s in sources if s.path}


def test_every_benchmark_is_checked_as_the_module_it_runs_as(checked: dict[Path, str]) -> None:
    scripts = sorted((ROOT / "bench").glob("*.py"))
    assert scripts
    assert {s.stem: checked.get(s) for s in scripts} == {s.stem: s.stem for s in scripts}


def test_every_module_of_yibao_is_checked(checked: dict[Path, str]) -> None:
    src = ROOT / "src"
    modules = {p.resolve() for p in (src / "yibao").rglob("*.py")}
    assert len(modules) > 200
    missing = sorted(str(p.relative_to(src)) for p in modules - checked.keys())
    assert missing == []
    for path in modules:
        parts = path.relative_to(src).with_suffix("").parts
        assert checked[path] == ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
