"""YAML as policy analysts write it, read without losing exactness or silently dropping keys.

PyYAML's safe loader turns `0.1` into a binary float, lets a repeated key overwrite
the first, and (YAML 1.1) reads `on`, `off`, `yes` and `no` as booleans, so a key named
`on` would vanish; each would change a policy without a word. Here a float is read as
the exact Decimal of its text, a repeated key is an error that names the line, and only
`true` and `false` are booleans (as in YAML 1.2).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml


class YamlError(ValueError):
    pass


class _Loader(yaml.SafeLoader):
    pass


# Drop YAML 1.1's yes/no/on/off booleans; keep true/false.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _exact_float(loader: _Loader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        value: Decimal | None = Decimal(text)
    except InvalidOperation:  # .nan, .inf
        value = None
    if value is None or not value.is_finite():
        line = node.start_mark.line + 1
        raise YamlError(f"line {line}: {text!r} is not a finite number")
    return value


def _no_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str | int | Decimal | bool | date):
            raise YamlError(f"line {key_node.start_mark.line + 1}: a key must be a plain value")
        if key in seen:
            line = key_node.start_mark.line + 1
            raise YamlError(f"line {line}: key {key!r} appears twice")
        seen.add(key)
    return dict(loader.construct_mapping(node, deep=deep))


_Loader.add_constructor("tag:yaml.org,2002:float", _exact_float)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def load_text(text: str, name: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except YamlError as exc:
        raise YamlError(f"{name}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlError(f"{name}: {where}not valid YAML ({problem})") from None
    except ValueError as exc:  # a date like 2026-02-30: PyYAML's constructor raises it
        raise YamlError(f"{name}: a value is not valid ({exc})") from None


def load_file(path: Path, name: str | None = None) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlError(f"{name or path}: cannot be read ({exc.strerror})") from None
    return load_text(text, name or str(path))
