"""No import cycles in src/: a module never imports, through others, a module that imports
it back. Every import counts, wherever it stands (a function's body, under
`if TYPE_CHECKING:`): a cycle that Python survives because an import is deferred is still
two rooms that cannot be understood, or moved, one without the other. Issue 15 named two,
adapters/admin_files.py <-> parameter_files.py and domain/enrolment.py <->
domain/parameters.py, both of the deferred kind; this measure finds exactly those two at
the commit before they were broken (84c679b^), and none now."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node


def graph(sources: dict[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """Module -> the project's modules it imports. `sources`: module name -> (its code,
    whether it is a package's __init__)."""
    known = set(sources)
    edges: dict[str, set[str]] = {}
    for name, (code, is_package) in sources.items():
        package = name if is_package else name.rpartition(".")[0]
        found: set[str] = set()
        for node in _imports(ast.parse(code)):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                # `from a.b import c`: the module a.b.c if there is one, else a.b
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                    for alias in node.names
                ]
            found.update(t for t in targets if t in known and t != name)
        edges[name] = found
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


def project_sources() -> dict[str, tuple[str, bool]]:
    return {
        module_name(path): (path.read_text(encoding="utf-8"), path.name == "__init__.py")
        for path in sorted(SRC.rglob("*.py"))
        if "migrations" not in path.parts
    }


def test_src_has_no_import_cycles() -> None:
    sources = project_sources()
    assert "yibao.service.settlement" in sources  # the tree was read
    found = cycles(graph(sources))
    assert not found, "import cycles (break them; see docs/architecture.md):\n" + "\n".join(
        " <-> ".join(group) for group in found
    )


def test_the_measure_finds_a_cycle_through_relative_and_deferred_imports() -> None:
    sources = {
        "p": ("", True),
        "p.a": ("from p import b\n", False),
        "p.b": ("from .c import thing\n", False),
        "p.c": ("import p.a\nimport os\n", False),
        "p.d": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from p import e\n",
            False,
        ),
        "p.e": ("def f() -> None:\n    from p.d import x\n", False),
        "p.f": ("from p.a import y\n", False),
    }
    edges = graph(sources)
    assert edges["p.b"] == {"p.c"}
    assert edges["p.c"] == {"p.a"}
    assert cycles(edges) == [["p.a", "p.b", "p.c"], ["p.d", "p.e"]]
