"""A frozen dataclass made as fast as a plain class.

`dataclass(frozen=True)` writes every field of a new instance through
`object.__setattr__`, around four times the cost of a plain assignment: a card
settlement makes some thirty frozen values (its facts, lines, steps and result), and
their constructors were a tenth of the engine's CPU. `fast_init` replaces such a class's
`__init__` with one of the same signature that gives the instance its `__dict__` whole,
made at once from the arguments (one `object.__setattr__` of `__dict__`, not one a
field). Not filled in place: `self.__dict__` of a new instance is a split dict (its
keys the class's shared ones), which CPython 3.11's attribute reads cannot take their
fast way through (LOAD_ATTR_WITH_HINT finds no value in a split table's entries and
falls back to the generic look-up every time): each later read of a field cost ~290
instructions, not ~100, and a value is read many times more than it is made (a card
settlement: ~50,000 instructions less with the dict given whole).
Frozen stays frozen (assigning a field afterwards still raises), equality, hashing,
`repr` and `dataclasses.replace` are the dataclass's own, and `__post_init__` still runs.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")

_NO_DEFAULT = dataclasses.MISSING


def fast_init(cls: type[T]) -> type[T]:
    """Put above `@dataclass(frozen=True)` (a class with a `__dict__`: no slots)."""
    params = dataclasses.fields(cls)  # type: ignore[arg-type]
    if "__slots__" in cls.__dict__ or any(f.name.startswith("_") for f in params):
        raise TypeError(f"{cls.__name__}: fast_init needs a __dict__ and public field names")
    namespace: dict[str, Any] = {"_MISSING": _NO_DEFAULT}
    args, body, items = [], [], []
    for f in params:
        if f.init:
            if f.default is not _NO_DEFAULT:
                namespace[f"_d_{f.name}"] = f.default
                args.append(f"{f.name}=_d_{f.name}")
            elif f.default_factory is not _NO_DEFAULT:
                namespace[f"_f_{f.name}"] = f.default_factory
                args.append(f"{f.name}=_MISSING")
                body.append(f"    if {f.name} is _MISSING: {f.name} = _f_{f.name}()")
            else:
                args.append(f.name)
            items.append(f"{f.name!r}: {f.name}")
        elif f.default is not _NO_DEFAULT:
            namespace[f"_d_{f.name}"] = f.default
            items.append(f"{f.name!r}: _d_{f.name}")
        elif f.default_factory is not _NO_DEFAULT:
            namespace[f"_f_{f.name}"] = f.default_factory
            items.append(f"{f.name!r}: _f_{f.name}()")
    namespace["_set_"] = object.__setattr__
    body.append(f"    _set_(self, '__dict__', {{{', '.join(items)}}})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(args)}):\n" + "\n".join(body)
    exec(source, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(cls.__init__.__annotations__)  # for whoever inspects it
    type.__setattr__(cls, "__init__", init)
    return cls
